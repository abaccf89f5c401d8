#!/bin/sh

test_description='each libFuzzer target runs briefly on its seeds under ASan and UBSan'
. "$(dirname "$0")/test-lib.sh"

# Seconds per target; "make fuzz" runs them for longer (FUZZ_TIME).
FUZZ_SECS=${FUZZ_SHORT:-5}

command -v clang >/dev/null 2>&1 ||
	test_skip_all "clang is not installed (apt-get install clang libclang-rt-14-dev)"
cat >probe.c <<'EOF_C'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }
EOF_C
clang -fsanitize=fuzzer,address,undefined -o probe probe.c >probe.out 2>&1 ||
	test_skip_all "clang cannot link libFuzzer with ASan and UBSan (apt-get install libclang-rt-14-dev)"

targets=$(cd "$SRC/t/fuzz" && for f in fuzz-*.c; do f=${f#fuzz-}; echo "${f%.c}"; done)

test_expect_success 'the fuzz targets build' '
	sh "$SRC/t/fuzz/run.sh" 0 >out 2>&1 || { cat out; false; } &&
	for name in $targets; do
		test -x "$SRC/t/fuzz/bin/fuzz-$name" || exit 1
	done
'

for name in $targets; do
	test_expect_success "fuzz-$name has seeds and runs $FUZZ_SECS s without a finding" "
		ls \"\$SRC/t/fuzz/corpus/$name\" >seeds &&
		test -s seeds &&
		FUZZ_WORK=\"\$TRASH/work\" sh \"\$SRC/t/fuzz/run.sh\" $FUZZ_SECS $name
	"
done

test_done
