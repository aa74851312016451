# mod_oauth_as — top-level Makefile.
# ./configure writes config.mk (tool paths and flags); this file does the rest.
#   make            core library, module, admin tool
#   make unit       C unit tests of the core (Check), no server
#   make test       unit tests + Apache::Test suite against a real httpd (docs/development.md)
#   make deps       apt-get install what the build, the tests and the demo need (if missing)
#   make demo       a demo AS in the foreground on https://localhost:8443 (tools/demo)
#   make bench      wrk against a real httpd, ratios to httpd's own ceiling (bench/run)
#   make bench-scale  the same with 1,000,000 tokens on disk (BENCH_SCALE=1), its figures
#   make install    module, oauth-as-client + man page, Debian's mods-available/oauth_as.*

# config.mk comes from ./configure, which comes from configure.ac through autoconf.
# Both are remade here when configure.ac or config.mk.in change (GNU make remakes an
# included makefile first); if that fails (autoconf or a library missing) the
# fallbacks below still apply.  Not for the targets that must work without them.
NOCONFIG_GOALS = clean distclean deps help
ifeq ($(MAKECMDGOALS),)
-include config.mk
else ifneq ($(filter-out $(NOCONFIG_GOALS),$(MAKECMDGOALS)),)
-include config.mk
endif

APXS      ?= apxs
CC        ?= cc
APR_CFLAGS  ?= $(shell apr-1-config --cflags --cppflags --includes) $(shell apu-1-config --includes)
APR_LIBS    ?= $(shell apu-1-config --link-ld) $(shell apr-1-config --link-ld)
DEP_CFLAGS  ?= $(shell pkg-config --cflags jansson openssl jose libcurl)
DEP_LIBS    ?= $(shell pkg-config --libs jose jansson openssl libcurl)
CHECK_CFLAGS ?= $(shell pkg-config --cflags check)
CHECK_LIBS   ?= $(shell pkg-config --libs check)
HTTPD       ?= $(shell $(APXS) -q SBINDIR)/$(shell $(APXS) -q TARGET)
LIBEXECDIR  ?= $(shell $(APXS) -q LIBEXECDIR)
SYSCONFDIR  ?= $(shell $(APXS) -q SYSCONFDIR)

WARN      = -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
OPT      ?= -O2 -g
CFLAGS_CORE = -std=c11 -D_GNU_SOURCE -fPIC $(OPT) $(WARN) $(SAN_CFLAGS) -Iinclude $(APR_CFLAGS) $(DEP_CFLAGS)

BUILD     = build
# src/ by concern (docs/architecture.md): the core library is src/core (protocol
# pieces), src/endpoints (one file per endpoint) and src/store (the store and its
# backends); src/httpd is the glue, src/tool the admin tool; include/ the core's API.
CORE_DIRS = src/core src/endpoints src/store
CORE_SRC  = $(sort $(foreach d,$(CORE_DIRS),$(wildcard $(d)/oas_*.c)))
CORE_HDR  = $(wildcard include/*.h) $(foreach d,$(CORE_DIRS),$(wildcard $(d)/*.h))
CORE_OBJ  = $(addprefix $(BUILD)/,$(notdir $(CORE_SRC:.c=.o)))
CORE_INC  = $(foreach d,$(CORE_DIRS),-I$(d))
CORE_LIB  = $(BUILD)/liboas_core.a
GLUE_SRC  = mod_oauth_as.c $(sort $(wildcard src/httpd/mod_oauth_as_*.c))
MODULE    = $(BUILD)/mod_oauth_as.so
TOOL_SRC  = $(sort $(wildcard src/tool/*.c))
TOOL      = $(BUILD)/oauth-as-client
BINDIR   ?= /usr/bin
MANDIR   ?= /usr/share/man

UNIT_SRC  = $(sort $(wildcard t/unit/test_*.c))
UNIT_BIN  = $(UNIT_SRC:t/unit/%.c=$(BUILD)/unit/%)

.PHONY: all core module unit clean distclean test deps demo install uninstall help \
        bench bench-callgrind bench-scale

all: core module tool

core: $(CORE_LIB)

vpath oas_%.c $(CORE_DIRS)
$(BUILD)/%.o: %.c $(CORE_HDR) | $(BUILD)
	$(CC) $(CFLAGS_CORE) $(CORE_INC) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD):
	mkdir -p $(BUILD) $(BUILD)/unit

$(BUILD)/unit:
	mkdir -p $@

# the module: thin glue + the core library, linked by apxs
module: $(MODULE)

$(MODULE): $(GLUE_SRC) $(CORE_LIB) $(wildcard src/httpd/*.h) $(wildcard include/*.h)
	$(APXS) -c -o $(BUILD)/mod_oauth_as.la -Wc,"-std=c11 $(WARN) $(SAN_CFLAGS) -Iinclude -Isrc/httpd $(DEP_CFLAGS)" \
	    -Wl,"$(SAN_LDFLAGS)" $(GLUE_SRC) $(CORE_LIB) $(DEP_LIBS)
	cp $(BUILD)/.libs/mod_oauth_as.so $@

# the admin tool oauth-as-client (like htpasswd): the core library, no httpd headers
.PHONY: tool
tool: $(TOOL)

$(TOOL): $(TOOL_SRC) src/tool/oac.h $(CORE_LIB) $(wildcard include/*.h) | $(BUILD)
	$(CC) $(CFLAGS_CORE) -Isrc/tool -o $@ $(TOOL_SRC) $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) $(SAN_LDFLAGS)

# unit tests: each t/unit/test_*.c is a Check program linking only the core
# (t/unit/fixture.c: what the endpoint tests share; linked into each, used by some)
$(BUILD)/unit/%: t/unit/%.c t/unit/unit.h t/unit/unit_store.h t/unit/fixture.c t/unit/fixture.h $(CORE_LIB) | $(BUILD)/unit
	$(CC) $(CFLAGS_CORE) $(CHECK_CFLAGS) -It/unit -o $@ $< t/unit/fixture.c $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) $(CHECK_LIBS) $(SAN_LDFLAGS)

# runs every unit test program, even after a failure; fails at the end if any failed
unit: $(UNIT_BIN)
	@rc=0; for t in $(UNIT_BIN); do echo "== $$t"; CK_FORK=yes $$t || { echo "== FAILED: $$t"; rc=1; }; done; exit $$rc

# --- configure ---------------------------------------------------------------------
configure: configure.ac
	autoconf

config.mk: configure config.mk.in
	@if [ -x config.status ]; then ./config.status --recheck && ./config.status; \
	 else ./configure $(CONFIGURE_FLAGS); fi

# --- the one test command (README, docs/development.md "Tests") ------------------
# tools/run-tests does the work: as root it runs the Apache::Test part as an
# unprivileged user (Apache::Test refuses root).  MPMS="prefork event" narrows it,
# TESTS="t/00_smoke.t ..." runs some .t files only.
test: deps
	tools/run-tests

deps:
	tools/install-deps

# --- benchmarks (docs/performance.md); not part of `make test` ----------------------
bench: deps
	BUILD="$(BUILD)" bench/run

bench-scale: deps
	BUILD="$(BUILD)" BENCH_SCALE=1 BENCH_CASES="$${BENCH_CASES:-kscale}" bench/run

bench-callgrind: $(BUILD)/callgrind_token
	bench/callgrind $(BUILD)/callgrind_token

$(BUILD)/bench_fill $(BUILD)/bench_revoke $(BUILD)/callgrind_token: $(BUILD)/%: bench/%.c \
        bench/bench_common.c \
        bench/bench_common.h $(CORE_LIB) | $(BUILD)
	$(CC) $(CFLAGS_CORE) -Ibench -o $@ $< bench/bench_common.c $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS)

demo: deps
	tools/demo

# --- install into the system httpd -------------------------------------------------
# DESTDIR is honoured.  On Debian this also installs mods-available/oauth_as.load and
# (unless one is there already: it is the admin's file) oauth_as.conf, so that
# `a2enmod oauth_as` works.
MODS_AVAILABLE = $(DESTDIR)$(SYSCONFDIR)/mods-available
install: $(MODULE) $(TOOL)
	@test -n "$(LIBEXECDIR)" || { echo "LIBEXECDIR unknown: run ./configure first" >&2; exit 1; }
	install -d "$(DESTDIR)$(LIBEXECDIR)"
	$(APXS) -i -S LIBEXECDIR="$(DESTDIR)$(LIBEXECDIR)" -n oauth_as $(MODULE)
	install -D -m 755 $(TOOL) "$(DESTDIR)$(BINDIR)/oauth-as-client"
	install -D -m 644 man/oauth-as-client.1 "$(DESTDIR)$(MANDIR)/man1/oauth-as-client.1"
	@if [ -d "$(DESTDIR)$(SYSCONFDIR)/mods-available" ] || [ -d /etc/apache2/mods-available -a "$(SYSCONFDIR)" = /etc/apache2 ]; then \
	    install -d "$(MODS_AVAILABLE)"; \
	    sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' conf-examples/debian/oauth_as.load > "$(MODS_AVAILABLE)/oauth_as.load"; \
	    chmod 644 "$(MODS_AVAILABLE)/oauth_as.load"; \
	    if [ -e "$(MODS_AVAILABLE)/oauth_as.conf" ]; then echo "kept $(MODS_AVAILABLE)/oauth_as.conf"; \
	    else install -m 644 conf-examples/debian/oauth_as.conf "$(MODS_AVAILABLE)/oauth_as.conf"; fi; \
	    echo "installed $(MODS_AVAILABLE)/oauth_as.load and .conf: a2enmod oauth_as && systemctl reload apache2"; \
	else \
	    echo "add to httpd.conf: LoadModule oauth_as_module $(LIBEXECDIR)/mod_oauth_as.so"; \
	fi

uninstall:
	rm -f "$(DESTDIR)$(LIBEXECDIR)/mod_oauth_as.so" "$(MODS_AVAILABLE)/oauth_as.load" \
	    "$(DESTDIR)$(BINDIR)/oauth-as-client" "$(DESTDIR)$(MANDIR)/man1/oauth-as-client.1"
	@echo "left $(MODS_AVAILABLE)/oauth_as.conf in place (remove it by hand); a2dismod oauth_as first"

# more targets, one file per area (mk/fuzz.mk: make fuzz; mk/soak.mk: make soak; ...)
-include $(sort $(wildcard mk/*.mk))

help:
	@sed -n '2,11p' Makefile

clean:
	rm -rf $(BUILD) *.lo *.la *.slo .libs src/*.lo src/*.slo src/.libs src/httpd/*.lo src/httpd/*.slo src/httpd/.libs

distclean: clean
	@if [ -x t/TEST ]; then t/TEST -clean >/dev/null 2>&1 || true; fi
	rm -rf config.mk config.status config.log configure configure~ autom4te.cache \
	    t/TEST t/SMOKE t/logs t/state t/conf/oas-ssl t/conf/oas-keys t/conf/apache_test_config.pm \
	    t/conf/extra.conf t/conf/httpd.conf t/conf/mime.types t/htdocs/index.html
