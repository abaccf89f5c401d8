#!/bin/sh
# run.sh [SECONDS [NAME...]]: builds the libFuzzer targets (t/fuzz/fuzz-NAME.c)
# with clang, AddressSanitizer and UBSan into t/fuzz/bin/, then runs each
# named one (default: all) for SECONDS (default 60) on its seed corpus
# t/fuzz/corpus/NAME plus what earlier runs found. SECONDS 0 only builds.
#
# Inputs found and crashes go under $FUZZ_WORK (default t/fuzz/bin/runs),
# never into the seed corpus. Prints one line per target; for a failing
# one, the end of its log and how to reproduce it. Exits 1 if any failed.
#
# Environment: FUZZ_CC (clang), FUZZ_WORK, FUZZ_ARGS (more libFuzzer
# options), JOBS (parallel compiles, 2).

set -e
cd "$(dirname "$0")/../.."

secs=${1:-60}
[ $# -eq 0 ] || shift
case $secs in
''|*[!0-9]*) echo "usage: $0 [SECONDS [NAME...]]" >&2; exit 2 ;;
esac
if [ $# -eq 0 ]; then
	for f in t/fuzz/fuzz-*.c; do
		n=${f#t/fuzz/fuzz-}
		set -- "$@" "${n%.c}"
	done
fi

FUZZ_CC=${FUZZ_CC:-clang}
if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
	echo "fuzz: $FUZZ_CC not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
fi
bins=
for name; do
	[ -f t/fuzz/fuzz-"$name".c ] || { echo "fuzz: no target $name" >&2; exit 2; }
	bins="$bins t/fuzz/bin/fuzz-$name"
done
echo "fuzz: building$bins with $FUZZ_CC"
mkdir -p t/fuzz/bin
# $bins is split into words on purpose: the names have no spaces.
# shellcheck disable=SC2086
if ! make --no-print-directory -s -f t/fuzz/build.mk -j"${JOBS:-2}" \
	FUZZ_CC="$FUZZ_CC" $bins >t/fuzz/bin/build.log 2>&1; then
	cat t/fuzz/bin/build.log >&2
	exit 1
fi
# Warnings are shown, not fatal.
cat t/fuzz/bin/build.log >&2
[ "$secs" -gt 0 ] || exit 0

work=${FUZZ_WORK:-t/fuzz/bin/runs}
mkdir -p "$work/crash"
# A bad input must fail the run: UBSan stops at the first report, and
# LeakSanitizer's reports are checked after each input by libFuzzer.
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS ASAN_OPTIONS

failed=
for name; do
	mkdir -p "$work/corpus/$name" t/fuzz/corpus/"$name"
	log=$work/$name.log
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
	if t/fuzz/bin/fuzz-"$name" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/crash/$name-" ${FUZZ_ARGS:-} \
		"$work/corpus/$name" t/fuzz/corpus/"$name" >"$log" 2>&1
	then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "fuzz: $name: ok, ${runs:-?} runs in $secs s"
	else
		failed="$failed $name"
		echo "fuzz: $name: FAILED; log $log"
		tail -n 40 "$log" | sed 's/^/	/'
		for a in "$work/crash/$name-"*; do
			[ -f "$a" ] || continue
			echo "fuzz: reproduce with: t/fuzz/bin/fuzz-$name $a"
		done
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed"
	exit 1
fi
