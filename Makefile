# mod_oauth_as — top-level Makefile.
# ./configure writes config.mk (tool paths and flags); this file does the rest.
#   make            core library, module, admin tool
#   make unit       C unit tests of the core (Check), no server
#   make test       unit tests + Apache::Test suite against a real httpd (see README)

-include config.mk

APXS      ?= apxs
CC        ?= cc
APR_CFLAGS  ?= $(shell apr-1-config --cflags --cppflags --includes) $(shell apu-1-config --includes)
APR_LIBS    ?= $(shell apu-1-config --link-ld) $(shell apr-1-config --link-ld)
DEP_CFLAGS  ?= $(shell pkg-config --cflags jansson openssl)
DEP_LIBS    ?= $(shell pkg-config --libs jansson openssl)
CHECK_CFLAGS ?= $(shell pkg-config --cflags check)
CHECK_LIBS   ?= $(shell pkg-config --libs check)

WARN      = -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
OPT      ?= -O2 -g
CFLAGS_CORE = -std=c11 -D_GNU_SOURCE -fPIC $(OPT) $(WARN) $(SAN_CFLAGS) -Iinclude $(APR_CFLAGS) $(DEP_CFLAGS)

BUILD     = build
CORE_SRC  = $(sort $(wildcard src/oas_*.c))
CORE_OBJ  = $(CORE_SRC:src/%.c=$(BUILD)/%.o)
CORE_LIB  = $(BUILD)/liboas_core.a
GLUE_SRC  = mod_oauth_as.c $(sort $(wildcard src/mod_oauth_as_*.c))
MODULE    = $(BUILD)/mod_oauth_as.so

UNIT_SRC  = $(sort $(wildcard t/unit/test_*.c))
UNIT_BIN  = $(UNIT_SRC:t/unit/%.c=$(BUILD)/unit/%)

.PHONY: all core module unit clean

all: core module

core: $(CORE_LIB)

$(BUILD)/%.o: src/%.c $(wildcard include/*.h) | $(BUILD)
	$(CC) $(CFLAGS_CORE) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD):
	mkdir -p $(BUILD) $(BUILD)/unit

# the module: thin glue + the core library, linked by apxs
module: $(MODULE)

$(MODULE): $(GLUE_SRC) $(CORE_LIB) $(wildcard src/*.h) $(wildcard include/*.h)
	$(APXS) -c -o $(BUILD)/mod_oauth_as.la -Wc,"-std=c11 $(WARN) $(SAN_CFLAGS) -Iinclude -Isrc $(DEP_CFLAGS)" \
	    -Wl,"$(SAN_LDFLAGS)" $(GLUE_SRC) $(CORE_LIB) $(DEP_LIBS)
	cp $(BUILD)/.libs/mod_oauth_as.so $@

# unit tests: each t/unit/test_*.c is a Check program linking only the core
$(BUILD)/unit/%: t/unit/%.c t/unit/unit.h $(CORE_LIB) | $(BUILD)
	$(CC) $(CFLAGS_CORE) $(CHECK_CFLAGS) -It/unit -o $@ $< $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) $(CHECK_LIBS) $(SAN_LDFLAGS)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; CK_FORK=yes $$t; done

clean:
	rm -rf $(BUILD) *.lo *.la *.slo .libs src/*.lo src/*.slo src/.libs
