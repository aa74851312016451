# mk/fuzz.mk — libFuzzer harnesses of the core parsers (docs/security-and-reliability.md "Fuzzing").
#   make fuzz-build     the core again with clang's fuzzer instrumentation, ASan and
#                       UBSan (build-fuzz/liboas_core.a) and one binary per fuzz/*.c
#   make fuzz           build, then run each harness FUZZ_SECONDS (default 600) on its
#                       corpus (tools/fuzz); FUZZ="form scope" picks harnesses
#   tools/fuzz --ci     the short form run by `make test` (tools/run-tests)

FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ         ?=
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_NAMES    = $(sort $(basename $(notdir $(wildcard fuzz/*.c))))
FUZZ_BINS     = $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz-%)
FUZZ_LIB_SRC  = $(wildcard fuzz/lib/*.c)

.PHONY: fuzz fuzz-build fuzz-clean FORCE_FUZZ

# (the recursive make below builds with BUILD=$(FUZZ_BUILD): the rules of this file
# are for the outer make only)
ifneq ($(BUILD),$(FUZZ_BUILD))

fuzz-build: $(FUZZ_BINS)

# the core library built by this Makefile's own rules, into $(FUZZ_BUILD), with
# the fuzzer's coverage instrumentation (no libFuzzer main: -fsanitize=fuzzer-no-link)
$(FUZZ_BUILD)/liboas_core.a: FORCE_FUZZ
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) OPT="-O1 -g" \
	    SAN_CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_BUILD)/liboas_core.a

FORCE_FUZZ:

$(FUZZ_BUILD)/fuzz-%: fuzz/%.c $(FUZZ_LIB_SRC) $(wildcard fuzz/lib/*.h) \
        $(FUZZ_BUILD)/liboas_core.a $(wildcard include/*.h)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -fsanitize=fuzzer $(FUZZ_SAN) \
	    -Iinclude -Ifuzz/lib $(APR_CFLAGS) $(DEP_CFLAGS) -o $@ $< $(FUZZ_LIB_SRC) \
	    $(FUZZ_BUILD)/liboas_core.a $(APR_LIBS) $(DEP_LIBS)

fuzz: fuzz-build
	tools/fuzz --no-build --seconds $(FUZZ_SECONDS) $(FUZZ)

# `make clean` removes the fuzz build too (corpora found and artifacts are in build/)
clean: fuzz-clean
fuzz-clean:
	rm -rf $(FUZZ_BUILD)
endif
