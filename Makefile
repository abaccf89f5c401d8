# sendq: plain GNU make. See README.md.

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/sendq
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SPOOLDIR   ?= /var/spool/sendq
DESTDIR    ?=
INSTALL    ?= install
# Owner and group of installed files: variables, so that a packager can
# install into DESTDIR without being root.
BINOWN     ?= root
BINGRP     ?= root

CC         ?= cc
CFLAGS     ?= -O2 -g
PKG_CONFIG ?= pkg-config

WARN     = -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
HARDEN   = -fPIE -fstack-protector-strong -D_FORTIFY_SOURCE=2
DEFS     = -D_GNU_SOURCE \
	   -DSENDQ_CONF='"$(SYSCONFDIR)/sendq.ini"' \
	   -DSENDQ_SPOOLDIR='"$(SPOOLDIR)"' \
	   -DSENDQ_RUNNER='"$(LIBEXECDIR)/sendq-runner"'
ALL_CFLAGS  = $(CFLAGS) $(WARN) $(HARDEN) $(DEFS) -Isrc -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) -pie -Wl,-z,relro,-z,now

# make check SANITIZE=1: the whole suite under AddressSanitizer and UBSan.
ifeq ($(SANITIZE),1)
SAN_FLAGS    = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	       -fno-omit-frame-pointer
ALL_CFLAGS  += $(SAN_FLAGS)
ALL_LDFLAGS += $(SAN_FLAGS)
endif

# Objects are rebuilt when the flags change (SANITIZE=1 and back).
FLAGS_STAMP = .build-flags
FLAGS_NOW  := $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)
ifneq ($(FLAGS_NOW),$(file <$(FLAGS_STAMP)))
$(file >$(FLAGS_STAMP),$(FLAGS_NOW))
endif

INIH_CFLAGS := $(shell $(PKG_CONFIG) --cflags inih 2>/dev/null)
INIH_LIBS   := $(shell $(PKG_CONFIG) --libs inih 2>/dev/null || echo -linih)
CURL_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcurl openssl 2>/dev/null)
CURL_LIBS   := $(shell $(PKG_CONFIG) --libs libcurl openssl 2>/dev/null || echo -lcurl -lssl -lcrypto)

# What callers run links neither libcurl nor OpenSSL: only the runner does.
COMMON_OBJS = src/buf.o src/log.o src/conf.o src/addr.o src/alias.o src/mime.o \
	      src/msg.o src/spool.o src/queue.o src/priv.o
SUBMIT_OBJS = sendmail.o src/opts.o src/submit.o src/session.o $(COMMON_OBJS)
RUNNER_OBJS = src/runner.o src/deliver.o src/bounce.o src/relay.o src/smtp.o $(COMMON_OBJS)

UNIT_SRCS  = $(wildcard t/unit/*.c)
UNIT_TESTS = $(UNIT_SRCS:.c=.t)

PROGS = sendmail sendq-runner

all: $(PROGS)

sendmail: $(SUBMIT_OBJS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(SUBMIT_OBJS) $(INIH_LIBS)

sendq-runner: $(RUNNER_OBJS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(RUNNER_OBJS) $(INIH_LIBS) $(CURL_LIBS)

src/relay.o: src/relay.c $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(CURL_CFLAGS) -c -o $@ $<

%.o: %.c $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(INIH_CFLAGS) -c -o $@ $<

# Unit tests link every module but the two mains.
UNIT_OBJS = src/opts.o src/submit.o src/deliver.o src/bounce.o src/relay.o src/smtp.o $(COMMON_OBJS)
t/unit/%.t: t/unit/%.o $(UNIT_OBJS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(UNIT_OBJS) $(INIH_LIBS) $(CURL_LIBS)

# Debian packages the build, the suite and the demo need.
BUILD_DEPS = gcc make pkg-config libcurl4-openssl-dev libssl-dev libinih-dev
TEST_DEPS  = perl python3 python3-aiosmtpd openssl strace util-linux \
	     swaks php-cli php-symfony-mailer bsd-mailx s-nail mutt git git-email \
	     cron sudo at postfix sasl2-bin libsasl2-modules clang libclang-rt-14-dev

deps:
	@sh t/deps.sh $(BUILD_DEPS) $(TEST_DEPS)

check: deps
	@$(MAKE) --no-print-directory all $(UNIT_TESTS)
	prove -j$${JOBS:-2} --exec t/run-test $(UNIT_TESTS) t/t[0-9]*.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh t/demo.sh

# Measures sendq against its peers; see bench/README.md.
bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh

# libFuzzer targets (clang); FUZZ_TIME seconds each. See t/fuzz/README.
FUZZ_TIME ?= 60
fuzz:
	@sh t/deps.sh clang libclang-rt-14-dev
	@sh t/fuzz/run.sh $(FUZZ_TIME)

# The shared queue (see sendmail(8), SECURITY in README.md): sendmail is
# set-group-id to SENDQ_GROUP, which alone may enter SPOOLDIR; the runner
# runs as SENDQ_USER. "make install" as root with no DESTDIR creates both
# when missing; a packager creates them in the package's scripts. As a
# non-root user, ownership is left alone (files are the installer's).
SENDQ_USER  ?= sendq
SENDQ_GROUP ?= sendq
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
ROOT_INSTALL := $(shell [ "$$(id -u)" = 0 ] && echo yes)
ifeq ($(ROOT_INSTALL),yes)
OWN_BIN   = -o $(BINOWN) -g $(BINGRP)
OWN_SGID  = -o $(BINOWN) -g $(SENDQ_GROUP)
OWN_SPOOL = -o $(SENDQ_USER) -g $(SENDQ_GROUP)
endif
SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SPOOLDIR@|$(SPOOLDIR)|g' \
	    -e 's|@SENDQ_USER@|$(SENDQ_USER)|g' -e 's|@SENDQ_GROUP@|$(SENDQ_GROUP)|g'

install: all
	@if [ "$(ROOT_INSTALL)" = yes ] && [ -z "$(DESTDIR)" ]; then \
		getent group $(SENDQ_GROUP) >/dev/null || \
			{ echo "creating group $(SENDQ_GROUP)"; groupadd --system $(SENDQ_GROUP); }; \
		getent passwd $(SENDQ_USER) >/dev/null || \
			{ echo "creating user $(SENDQ_USER)"; useradd --system \
			--gid $(SENDQ_GROUP) --home-dir $(SPOOLDIR) --no-create-home \
			--shell /usr/sbin/nologin $(SENDQ_USER); }; \
	fi
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	$(INSTALL) $(OWN_SGID) -m 2755 sendmail $(DESTDIR)$(SBINDIR)/sendmail
	$(INSTALL) $(OWN_BIN) -m 755 sendq-runner $(DESTDIR)$(LIBEXECDIR)/sendq-runner
	ln -sf sendmail $(DESTDIR)$(SBINDIR)/mailq
	ln -sf sendmail $(DESTDIR)$(SBINDIR)/newaliases
	$(INSTALL) -m 644 man/sendmail.8 $(DESTDIR)$(MANDIR)/man8/sendmail.8
	$(INSTALL) -m 644 man/sendq.ini.5 $(DESTDIR)$(MANDIR)/man5/sendq.ini.5
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/sendq.ini ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/sendq.ini"; \
	else \
		$(INSTALL) -m 644 etc/sendq.ini $(DESTDIR)$(SYSCONFDIR)/sendq.ini; \
	fi
	$(SUBST) etc/sendq.service > $(DESTDIR)$(SYSTEMDUNITDIR)/sendq.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/sendq.service
	$(INSTALL) -d $(OWN_SPOOL) -m 750 $(DESTDIR)$(SPOOLDIR)
	$(INSTALL) -d $(OWN_SPOOL) -m 770 $(DESTDIR)$(SPOOLDIR)/q
	$(INSTALL) -d $(OWN_SPOOL) -m 750 $(DESTDIR)$(SPOOLDIR)/failed

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/sendmail $(DESTDIR)$(SBINDIR)/mailq \
		$(DESTDIR)$(SBINDIR)/newaliases \
		$(DESTDIR)$(LIBEXECDIR)/sendq-runner \
		$(DESTDIR)$(MANDIR)/man8/sendmail.8 $(DESTDIR)$(MANDIR)/man5/sendq.ini.5 \
		$(DESTDIR)$(SYSTEMDUNITDIR)/sendq.service

clean:
	rm -f $(PROGS) *.o *.d src/*.o src/*.d t/unit/*.o t/unit/*.d t/unit/*.t \
		$(FLAGS_STAMP)
	rm -rf t/fuzz/bin

.PHONY: all deps check demo bench fuzz install uninstall clean
.SECONDARY:

-include $(wildcard *.d src/*.d t/unit/*.d)
