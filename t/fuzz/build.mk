# Builds the libFuzzer targets into t/fuzz/bin/; run from the top of the
# tree by t/fuzz/run.sh (make -f t/fuzz/build.mk). The sources in src/ are
# compiled apart, with the fuzzing flags, into t/fuzz/bin/obj/: the
# normal objects are never touched.

FUZZ_CC    ?= clang
PKG_CONFIG ?= pkg-config
BIN         = t/fuzz/bin
OBJ         = $(BIN)/obj

FUZZ_SAN    = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
	      -Wall -Wextra -Wno-unused-parameter \
	      -D_GNU_SOURCE -DSENDQ_SPOOLDIR='"/nonexistent/sendq"' \
	      -Isrc -It/fuzz -MMD -MP

INIH_CFLAGS := $(shell $(PKG_CONFIG) --cflags inih 2>/dev/null)
INIH_LIBS   := $(shell $(PKG_CONFIG) --libs inih 2>/dev/null || echo -linih)

# What each target links from src/.
addr_SRCS  = addr buf
conf_SRCS  = conf alias addr buf log
msg_SRCS   = msg addr buf
opts_SRCS  = opts log
smtp_SRCS  = smtp buf
spool_SRCS = spool buf
bs_SRCS    = session submit msg addr alias spool priv conf log buf

TARGETS = $(patsubst t/fuzz/fuzz-%.c,%,$(wildcard t/fuzz/fuzz-*.c))

all: $(TARGETS:%=$(BIN)/fuzz-%)

# Library code gets coverage instrumentation only; the target's file
# brings libFuzzer's main.
$(OBJ)/src-%.o: src/%.c
	@mkdir -p $(OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(INIH_CFLAGS) \
		-c -o $@ $<

$(OBJ)/fuzz-%.o: t/fuzz/fuzz-%.c
	@mkdir -p $(OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -c -o $@ $<

.SECONDEXPANSION:
$(BIN)/fuzz-%: $(OBJ)/fuzz-%.o $$(addprefix $(OBJ)/src-,$$(addsuffix .o,$$($$*_SRCS)))
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(INIH_LIBS)

.PHONY: all
.SECONDARY:

-include $(wildcard $(OBJ)/*.d)
