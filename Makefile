# Makefile — posthorn.  Plain make: "make", "make check", "make install
# PREFIX=... DESTDIR=...", "make clean", "make bench".
#
# Every object goes under $(BUILD) so that a sanitizer build (SAN=1,
# BUILD=build-asan) lives beside the plain one.  A program's modules (all
# its .c files but *main.c) go into an archive that the unit tests link.

PREFIX	?= /usr/local
DESTDIR	?=
BUILD	?= build
SBINDIR	 = $(PREFIX)/sbin
BINDIR	 = $(PREFIX)/bin
MANDIR	 = $(PREFIX)/share/man
# The content filter recipes of smtp-in(8): shell scripts that adapt
# spamc, clamdscan and rspamc to the filter's protocol.
FILTERDIR = $(PREFIX)/share/posthorn/filters
PYTHON	?= /usr/bin/python3

CFLAGS	?= -O2 -g
WFLAGS	 = -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	   -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-sign-compare
XCPPFLAGS = -D_GNU_SOURCE -Ilib -MMD -MP
ifeq ($(SAN),1)
CFLAGS	+= -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer
LDFLAGS	+= -fsanitize=address,undefined
endif
# The fuzzing build (fuzz/README.md): clang, libFuzzer's coverage on every
# module, ASan and UBSan; "make fuzz" sets it up in its own BUILD.
ifeq ($(FUZZ),1)
CFLAGS	+= -O1 -fsanitize=fuzzer-no-link,address,undefined \
	   -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS	+= -fsanitize=fuzzer,address,undefined
endif
LDFLAGS	+= -Wl,--as-needed
COMPILE	 = $(CC) $(WFLAGS) $(XCPPFLAGS) $(CPPFLAGS) $(CFLAGS)

# smtp-in is started for every connection, so what it costs to start is
# paid per message: it is linked statically against musl.  glibc's start-up
# alone (dynamic loading, and CPUID probing that traps in a VM) cost more
# than smtp-in's whole session; see bench/run.sh.  The sanitizer build uses
# the ordinary toolchain, since ASan and UBSan need glibc.  Modules that
# need libsodium or GnuTLS never go into smtp-in.
# glibc keeps the DNS message parser (ns_initparse) that lib/dns.c and
# smtp-in's blocklists use in libresolv; musl's libc has it.
ifeq ($(SAN),1)
STATIC_CC	 = $(CC)
STATIC_LDFLAGS	 = $(LDFLAGS)
STATIC_LIBS	 = -lresolv
else
STATIC_CC	?= musl-gcc
STATIC_LDFLAGS	 = -static
STATIC_LIBS	 =
endif
CRYPTO_SRC	 = lib/passwd.c lib/srs.c lib/tls.c
# Modules that need glibc alone: lib/spf.c (its resolver options),
# lib/idnlook.c (libidn2, which has no musl build here).
# lib/dns.c asks musl's res_send where glibc's res_nsend is missing, for
# smtp-in's DNS blocklists.
GLIBC_SRC	 = lib/spf.c lib/idnlook.c

# --- what gets built --------------------------------------------------

LIB_SRC	 = $(wildcard lib/*.c)
LIB_A	 = $(BUILD)/lib/libposthorn.a
MODDIRS	 = smtp-in queue-run aliases dkimsign smtp-out
MOD_A	 = $(foreach d,$(MODDIRS),$(BUILD)/$(d)/libmod.a)

# program: main source, extra libraries (smtp-in has its own rule below)
SBIN_PROGS = smtp-in smtp-listen smtp-tlsd smtp-keeper smtp-auth mailuser queue-inject queue-runas sendmail queue-run \
	     mailq aliases smtp-out posthorn-doctor posthorn-config tlsrpt mailauth \
	     smtp-checkd
BIN_PROGS  = dkimsign
smtp-tlsd_MAIN		= smtp-in/tlsd_main.c
smtp-tlsd_LIBS		= -lgnutls
# smtp-keeper: srs.c's HMAC is GnuTLS's, which a static musl binary
# cannot link; it starts once per listener, so its start costs nothing
# per connection.
smtp-keeper_MAIN	= smtp-in/keeper_main.c
smtp-keeper_LIBS	= -lgnutls -lsodium
smtp-auth_MAIN		= smtp-in/auth_main.c
smtp-auth_LIBS		= -lsodium
mailuser_MAIN		= smtp-in/mailuser_main.c
mailuser_LIBS		= -lsodium
posthorn-config_MAIN	= smtp-in/config_main.c
posthorn-config_LIBS	= -lidn2
queue-inject_MAIN	= queue-run/inject_main.c
queue-inject_LIBS	=
queue-runas_MAIN	= queue-run/runas_main.c
queue-runas_LIBS	=
sendmail_MAIN		= queue-run/sendmail_main.c
sendmail_LIBS		=
queue-run_MAIN		= queue-run/main.c
queue-run_LIBS		= -lidn2 -lgnutls -lsodium -lhogweed -lnettle -lgmp -lresolv
mailq_MAIN		= queue-run/mailq_main.c
mailq_LIBS		=
aliases_MAIN		= aliases/main.c
aliases_LIBS		= -lgnutls -lsodium
dkimsign_MAIN		= dkimsign/main.c
dkimsign_LIBS		= -lidn2 -lgnutls -lsodium
# mailauth runs per incoming message: RSA through nettle (hogweed and gmp,
# GnuTLS's own backend) and Ed25519 through libsodium, never GnuTLS,
# whose start costs milliseconds (bench/mailauth.sh).
mailauth_MAIN		= dkimsign/mailauth_main.c
mailauth_LIBS		= -lhogweed -lnettle -lgmp -lsodium -lresolv
# smtp-checkd: mailauth's checks, resident beside smtp-listen, so that a
# message pays a datagram for them rather than a program start.
smtp-checkd_MAIN	= dkimsign/checkd_main.c
smtp-checkd_LIBS	= -lhogweed -lnettle -lgmp -lsodium -lresolv -lpthread
smtp-out_MAIN		= smtp-out/main.c
smtp-out_LIBS		= -lidn2 -lgnutls -lsodium -lresolv -lunbound
# tlsrpt(8): the daily TLS reports, gzip'd with zlib; queued with
# queue-inject's module (inject.h).
tlsrpt_MAIN		= smtp-out/tlsrpt_main.c
tlsrpt_LIBS		= -lgnutls -lsodium -lresolv -lunbound -lz
posthorn-doctor_MAIN	= smtp-out/doctor_main.c
# dkimsign's keys once more, after smtp-out's archive that uses them.
posthorn-doctor_LIBS	= $(BUILD)/dkimsign/libmod.a $(LIB_A) -lidn2 -lgnutls -lsodium \
			  -lresolv -lunbound

PROGS	 = smtp-tlsd smtp-keeper smtp-auth mailuser queue-inject queue-runas sendmail queue-run mailq aliases dkimsign \
	   smtp-out posthorn-doctor posthorn-config tlsrpt mailauth smtp-checkd
BINS	 = $(addprefix $(BUILD)/bin/,$(PROGS))
UNIT_SRC = $(wildcard t/unit/*_test.c)
UNITS	 = $(patsubst t/unit/%.c,$(BUILD)/t/unit/%,$(UNIT_SRC))
MANS	 = $(wildcard man/*.[1-8])
FILTERS	 = $(wildcard smtp-in/filters/*.sh)

all: $(BINS) $(BUILD)/bin/smtp-in $(BUILD)/bin/smtp-listen

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(COMPILE) -c -o $@ $<

$(LIB_A): $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

define modarchive
$(BUILD)/$(1)/libmod.a: $(patsubst %.c,$(BUILD)/%.o,$(filter-out %main.c,$(wildcard $(1)/*.c)))
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach d,$(MODDIRS),$(eval $(call modarchive,$(d))))

define program
$(BUILD)/bin/$(1): $(BUILD)/$(patsubst %.c,%.o,$($(1)_MAIN)) $(MOD_A) $(LIB_A)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$< $(MOD_A) $(LIB_A) $($(1)_LIBS)
endef
$(foreach p,$(PROGS),$(eval $(call program,$(p))))

# smtp-in's own modules, named: a new file under smtp-in/ (a tool like
# mailuser, a TLS helper) must not land in the per-connection binary by
# accident.  lib/ goes in as an archive, so only what it uses is linked.
SMTPIN_SRC = smtp-in/main.c smtp-in/session.c smtp-in/command.c \
	     smtp-in/hook.c smtp-in/dnsbl.c \
	     smtp-in/data.c smtp-in/policy.c smtp-in/helpers.c smtp-in/proxy.c \
	     smtp-in/checks.c smtp-in/prefault.c
SMTPIN_OBJ = $(patsubst %.c,$(BUILD)/static/%.o,$(SMTPIN_SRC))
STATIC_LIB_A = $(BUILD)/static/lib/libposthorn.a

$(BUILD)/static/%.o: %.c
	@mkdir -p $(@D)
	$(STATIC_CC) $(WFLAGS) $(XCPPFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(STATIC_LIB_A): $(patsubst %.c,$(BUILD)/static/%.o,$(filter-out $(CRYPTO_SRC) $(GLIBC_SRC),$(LIB_SRC)))
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/bin/smtp-in: $(SMTPIN_OBJ) $(STATIC_LIB_A)
	@mkdir -p $(@D)
	$(STATIC_CC) $(STATIC_LDFLAGS) -o $@ $(SMTPIN_OBJ) $(STATIC_LIB_A) $(STATIC_LIBS)

# smtp-listen is linked the same way: a posix_spawn from a small static
# process costs less than from one that maps glibc's libraries (1.1
# against 1.4 ms of CPU a session here; bench/spawn.c).
SMTPLISTEN_SRC = smtp-in/listen_main.c smtp-in/listen.c smtp-in/srctab.c \
		 smtp-in/tzenv.c \
		 smtp-in/privs.c
SMTPLISTEN_OBJ = $(patsubst %.c,$(BUILD)/static/%.o,$(SMTPLISTEN_SRC))

$(BUILD)/bin/smtp-listen: $(SMTPLISTEN_OBJ) $(STATIC_LIB_A)
	@mkdir -p $(@D)
	$(STATIC_CC) $(STATIC_LDFLAGS) -o $@ $(SMTPLISTEN_OBJ) $(STATIC_LIB_A) $(STATIC_LIBS)

# posthorn-doctor compares the DKIM records in the DNS with dkimsign's
# keys, through dkimsign's own key module (every program links the
# module archives of all folders).
$(BUILD)/smtp-out/doctor.o: XCPPFLAGS += -iquote dkimsign
$(BUILD)/smtp-out/tlsrpt_main.o: XCPPFLAGS += -iquote queue-run

# queue-run signs in its own process with dkimsign's code (filter.h,
# keys.h): dkimsign's modules are in its archive, after queue-run's.
$(BUILD)/queue-run/dkim.o $(BUILD)/queue-run/keycache.o $(BUILD)/queue-run/seal.o \
    $(BUILD)/queue-run/job.o $(BUILD)/queue-run/sched.o: XCPPFLAGS += -iquote dkimsign

# A unit test includes the headers of the program modules it tests.
$(BUILD)/t/unit/%.o: XCPPFLAGS += $(addprefix -iquote ,$(MODDIRS))

$(BUILD)/t/unit/%: $(BUILD)/t/unit/%.o $(BUILD)/t/unit/testutil.o $(MOD_A) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/t/unit/testutil.o $(MOD_A) $(LIB_A) -lcmocka -lidn2 -lgnutls -lsodium -lresolv -lunbound -lz -lhogweed -lnettle -lgmp

# bench/dkimbench: dkimsign's signing, many messages in one process, for
# bench/dkim.sh.  Built by "make bench" only, like a unit test from the
# module archives.
$(BUILD)/bench/dkimbench.o: XCPPFLAGS += $(addprefix -iquote ,$(MODDIRS))

$(BUILD)/bench/dkimbench: $(BUILD)/bench/dkimbench.o $(MOD_A) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $< $(MOD_A) $(LIB_A) -lgnutls -lsodium

# bench/qsignbench: signing in queue-run's path, in its process and by
# an exec of dkimsign per message, and ARC sealing (queue-run/seal.h),
# for bench/qsign.sh.
$(BUILD)/bench/qsignbench.o: XCPPFLAGS += $(addprefix -iquote ,$(MODDIRS))

$(BUILD)/bench/qsignbench: $(BUILD)/bench/qsignbench.o $(MOD_A) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $< $(MOD_A) $(LIB_A) -lgnutls -lsodium \
	    -lhogweed -lnettle -lgmp -lresolv

# --- fuzzing ------------------------------------------------------------

# One libFuzzer harness per fuzz/*.c but the shared fixtures, linked like a
# unit test from the module archives (fuzz/README.md).  "make fuzz" runs
# each for FUZZ_SECONDS, growing its corpus under FUZZ_BUILD; "make
# fuzz-check" (part of "make check") runs each for FUZZ_CHECK_SECONDS, so
# that a harness that no longer builds or an easy crash is caught.
FUZZ_SECONDS	   ?= 60
FUZZ_CHECK_SECONDS ?= 2
FUZZ_BUILD	   ?= build-fuzz
FUZZ_CC		   ?= clang
FUZZ_FIXTURES	 = fuzz/fuzzutil.c fuzz/fuzzsession.c
FUZZ_SRC	 = $(filter-out $(FUZZ_FIXTURES),$(wildcard fuzz/*.c))
FUZZERS		 = $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_SESSIONS	 = $(filter $(BUILD)/fuzz/session_%,$(FUZZERS))

$(BUILD)/fuzz/%.o: XCPPFLAGS += $(addprefix -iquote ,$(MODDIRS))

# The session harnesses answer smtp-in's SRS check themselves: the real
# one forks aliases(8) for every SRS recipient.
$(FUZZ_SESSIONS): $(BUILD)/fuzz/fuzzsession.o
$(FUZZ_SESSIONS): FUZZ_LINK = $(BUILD)/fuzz/fuzzsession.o \
	-Wl,--wrap=helper_srs_check

$(BUILD)/fuzz/%: $(BUILD)/fuzz/%.o $(BUILD)/fuzz/fuzzutil.o $(MOD_A) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/fuzz/fuzzutil.o $(FUZZ_LINK) \
	    $(MOD_A) $(LIB_A) -lgnutls -lsodium -lresolv -lunbound -lz -lhogweed -lnettle -lgmp

fuzzers: $(FUZZERS)
.SECONDARY: $(FUZZERS:%=%.o) $(BUILD)/fuzz/fuzzutil.o $(BUILD)/fuzz/fuzzsession.o

# FUZZ_ONLY="NAME ...": those harnesses only; FUZZ_JOBS=N: libFuzzer's
# -fork=N for each.  run.sh builds with this Makefile ("+": its make
# shares our jobs).
FUZZ_ENV = FUZZ_CC="$(FUZZ_CC)" FUZZ_ONLY="$(FUZZ_ONLY)" FUZZ_JOBS="$(FUZZ_JOBS)"

fuzz:
	+$(FUZZ_ENV) sh fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-check:
	+$(FUZZ_ENV) sh fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_CHECK_SECONDS) check

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# --- tests --------------------------------------------------------------

# "make check" is what CI runs: install what is missing, then the whole
# suite on the plain build and again under ASan+UBSan.
check: deps
	$(MAKE) check-one
	$(MAKE) check-one BUILD=build-asan SAN=1
	$(MAKE) lint-man
	$(MAKE) lint-merge
	$(MAKE) fuzz-check
	@echo "check: all suites passed (plain and ASan+UBSan, fuzzers)"

deps:
	sh t/deps.sh

# queue-run's commands run through queue-runas, which it finds beside
# its own executable: the unit tests that deliver to a pipe find it
# there too.
units: $(UNITS) $(BUILD)/t/unit/queue-runas

$(BUILD)/t/unit/queue-runas: $(BUILD)/bin/queue-runas
	@mkdir -p $(@D)
	ln -sf ../../bin/queue-runas $@

check-one: all units
	sh t/run-units.sh $(BUILD)
	POSTHORN_BIN=$(abspath $(BUILD))/bin POSTHORN_SAN=$(SAN) \
	    $(PYTHON) -m pytest -p no:cacheprovider -q t/e2e

# groff too, which man(1) uses: some faults only it reports (a word of
# a reference's title read as a macro: "cannot chop empty macro", and a
# STANDARDS section that renders empty), and it exits 0 on them.
lint-man:
	mandoc -T lint -W warning $(MANS)
	@for m in $(MANS); do \
	    out=$$(groff -mandoc -ww -z -Tutf8 $$m 2>&1) || exit 1; \
	    if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	done

# A merge's conflict markers left in a file: neither the compiler (in a
# man page, a script, a test's data) nor mandoc sees them all.
lint-merge:
	@if grep -rnE '^(<<<<<<<|>>>>>>>) ' --exclude-dir='build*' \
	    --exclude-dir=.git --exclude-dir=corpus . ; then \
	    echo "lint-merge: conflict markers above"; exit 1; fi

# bench/danestart: smtp-out's DNSSEC context set up once, for
# bench/dane.sh (what DANE adds to smtp-out's start).
$(BUILD)/bench/danestart.o: XCPPFLAGS += $(addprefix -iquote ,$(MODDIRS))

$(BUILD)/bench/danestart: $(BUILD)/bench/danestart.o $(MOD_A) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $< $(MOD_A) $(LIB_A) -lgnutls -lsodium -lresolv \
	    -lunbound

# bench/spawn: a session's start three ways, from a static parent as
# smtp-listen is.
$(BUILD)/bench/spawn: bench/spawn.c
	@mkdir -p $(@D)
	$(STATIC_CC) $(WFLAGS) $(CFLAGS) $(STATIC_LDFLAGS) -o $@ $<

# bench/firsttouch: what a page costs a fresh process or a forked child
# the first time it touches it, on 4 KiB and on huge pages.
$(BUILD)/bench/firsttouch: bench/firsttouch.c
	@mkdir -p $(@D)
	$(CC) $(WFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

# bench/tlssink: an SMTP sink that offers STARTTLS, for bench/relay.sh
# (Postfix's smtp-sink has no TLS).
$(BUILD)/bench/tlssink: bench/tlssink.c
	@mkdir -p $(@D)
	$(CC) $(WFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -lgnutls -lpthread

# bench/systemd.sh installs this tree with install.sh in a booted Debian
# container (it builds there, from the sources) and says "skipped" where
# systemd-nspawn cannot boot one.
bench: all $(BUILD)/bench/dkimbench $(BUILD)/bench/qsignbench $(BUILD)/bench/spawn \
	$(BUILD)/bench/danestart $(BUILD)/bench/tlssink $(BUILD)/bench/firsttouch
	$(BUILD)/bench/firsttouch
	$(BUILD)/bench/spawn $(BUILD)/bin/smtp-in 1000 160
	sh bench/run.sh $(abspath $(BUILD))/bin
	sh bench/local.sh $(abspath $(BUILD))/bin
	sh bench/tls.sh $(abspath $(BUILD))/bin
	sh bench/relay.sh $(abspath $(BUILD))/bin
	sh bench/dkim.sh $(abspath $(BUILD))/bin
	sh bench/dane.sh $(abspath $(BUILD))
	sh bench/qsign.sh $(abspath $(BUILD))/bin
	sh bench/filter.sh $(abspath $(BUILD))/bin
	sh bench/checks.sh $(abspath $(BUILD))/bin
	sh bench/systemd.sh

# --- install ------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	for p in $(SBIN_PROGS); do \
	    install -m 755 $(BUILD)/bin/$$p $(DESTDIR)$(SBINDIR)/$$p || exit 1; \
	done
	for p in $(BIN_PROGS); do \
	    install -m 755 $(BUILD)/bin/$$p $(DESTDIR)$(BINDIR)/$$p || exit 1; \
	done
	install -d $(DESTDIR)$(FILTERDIR)
	for f in $(FILTERS); do \
	    install -m 755 $$f $(DESTDIR)$(FILTERDIR)/ || exit 1; \
	done
	for m in $(MANS); do \
	    s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; \
	done

# --- the Debian package ---------------------------------------------------

# "make deb": the package of this tree (debian/), built with
# dpkg-buildpackage in a copy under $(BUILD)/deb, which keeps its objects
# for the next run; DEB_VERSION=V overrides the version (by default
# debian/changelog's + the commit).  t/e2e/test_deb.py installs it on a
# Debian 12 root.
deb:
	sh debian/make-deb.sh $(BUILD)/deb $(DEB_VERSION)

clean:
	rm -rf build build-asan $(FUZZ_BUILD)

.PHONY: all check check-one deps units lint-man lint-merge bench install clean deb \
	fuzzers fuzz fuzz-check
