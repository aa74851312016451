# make soak — the long form of the soak (docs/security-and-reliability.md "Soak"; the short form is t/70_soak.t in
# `make test`): t/70_soak.t alone for SOAK_SECONDS (default 600) through tools/run-tests,
# in the MPMs of MPMS (default: event only), then the figures of each run.
#   make soak                          10 minutes, event MPM
#   SOAK_SECONDS=3600 MPMS="event prefork" make soak
# More knobs reach the test as they are: OAS_SOAK_WARMUP, OAS_SOAK_WORKERS, OAS_SOAK_RATE
# (see t/70_soak.t).  The run may take SOAK_SECONDS plus half an hour (warm-up, the final
# check of every token) before tools/run-tests gives up on it.
SOAK_SECONDS ?= 600
SOAK_MPMS = $(if $(MPMS),$(MPMS),event)

.PHONY: soak
soak: deps
	@rc=0; OAS_SOAK_SECONDS=$(SOAK_SECONDS) OAS_TEST_TIMEOUT=$$(($(SOAK_SECONDS) + 1800)) \
	    OAS_NO_FUZZ=1 MPMS="$(SOAK_MPMS)" TESTS=t/70_soak.t tools/run-tests || rc=$$?; \
	for m in $(SOAK_MPMS); do \
	    echo "== soak figures, $$m MPM (build/test-logs/$$m/soak-figures.txt)"; \
	    cat build/test-logs/$$m/soak-figures.txt 2>/dev/null || echo "(none: see build/test-logs/$$m/)"; \
	done; exit $$rc
