# mk/sanitize.mk — sanitizers and valgrind (docs/security-and-reliability.md "Sanitizers and valgrind").
#
#   make sanitize        core, module and unit tests built with clang's ASan + UBSan in
#                        build-asan/; the unit tests, then the whole Apache::Test suite
#                        (one MPM, OAS_SANITIZE_MPM=event) against Debian's httpd with the ASan
#                        module, clang's runtime preloaded into httpd only.  Any
#                        sanitizer report fails it.  (tools/run-tests --sanitize)
#   make valgrind-unit   the unit tests (build/unit/) under valgrind memcheck, in-process
#                        (CK_FORK=no); any error or definite leak fails it.
#                        (tools/run-tests --valgrind)
#   make sanitize-build  only the ASan/UBSan build (used by tools/run-tests)
#
# `make test` runs both as well, unless OAS_NO_SANITIZE=1.

SAN_BUILD  ?= build-asan
SAN_CC     ?= clang
SAN_FLAGS  ?= -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
# The module is a shared object loaded by an uninstrumented httpd: its __asan_* and
# __ubsan_* references stay undefined and are resolved by the runtime that the wrapper
# preloads (LD_PRELOAD); clang links the runtime itself into the unit-test programs,
# whose link line carries SAN_CFLAGS.  Nothing more to link.
SAN_LDFLAGS_ASAN ?=

.PHONY: sanitize sanitize-build valgrind-unit unit-bins

# every unit-test program, built but not run
unit-bins: $(UNIT_BIN)

# make does not track flags: a build dir made with other ones is emptied first; at the
# end, the module must be instrumented (a plain `make BUILD=build-asan` would have
# relinked it without)
SAN_STAMP = $(SAN_CC) $(SAN_FLAGS) $(SAN_LDFLAGS_ASAN)
sanitize-build:
	@command -v $(SAN_CC) >/dev/null || { echo "sanitize: $(SAN_CC) missing (make deps)" >&2; exit 1; }
	@if [ "$$(cat $(SAN_BUILD)/.san-flags 2>/dev/null)" != "$(SAN_STAMP)" ] || \
	    { [ -f $(SAN_BUILD)/mod_oauth_as.so ] && ! nm -D $(SAN_BUILD)/mod_oauth_as.so | grep -q __asan_init; }; then \
	    rm -rf $(SAN_BUILD); mkdir -p $(SAN_BUILD); echo "$(SAN_STAMP)" > $(SAN_BUILD)/.san-flags; fi
	$(MAKE) BUILD=$(SAN_BUILD) CC=$(SAN_CC) OPT="-O1 -g" \
	    SAN_CFLAGS="$(SAN_FLAGS)" SAN_LDFLAGS="$(SAN_LDFLAGS_ASAN)" \
	    APXS="$(APXS) -S CC=$(SAN_CC)" core module unit-bins
	@nm -D $(SAN_BUILD)/mod_oauth_as.so | grep -q __asan_init || \
	    { echo "sanitize: $(SAN_BUILD)/mod_oauth_as.so is not instrumented" >&2; exit 1; }

sanitize: deps
	tools/run-tests --sanitize

valgrind-unit: deps
	tools/run-tests --valgrind

# make clean removes the ASan build as well
.PHONY: sanitize-clean
clean: sanitize-clean
sanitize-clean:
	rm -rf $(SAN_BUILD)
