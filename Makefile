# SPDX-License-Identifier: MIT
# Thin wrapper over meson. Build dirs: build/ (release), build-test/ (ASan+UBSan, test hooks),
# build-fuzz/ (clang, libFuzzer).
BUILD      ?= build
TESTBUILD  ?= build-test
FUZZBUILD  ?= build-fuzz
FUZZ_TIME  ?= 60

.PHONY: all deps install check unit integration leak-test soak bench fuzz demo clean format

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	./scripts/install-deps.sh

# rustynet, rustynetd, rustynet-control and rustynet-wg into /usr/local/bin (PREFIX via meson)
install: all
	meson install -C $(BUILD)

$(BUILD)/build.ninja:
	./scripts/install-deps.sh
	meson setup $(BUILD) --buildtype=release

$(TESTBUILD)/build.ninja:
	./scripts/install-deps.sh
	meson setup $(TESTBUILD) --buildtype=debugoptimized -Db_sanitize=address,undefined \
		-Db_lundef=false -Dtest_hooks=true

$(FUZZBUILD)/build.ninja:
	./scripts/install-deps.sh
	CC=clang meson setup $(FUZZBUILD) --buildtype=debugoptimized -Dfuzz=true \
		-Db_lundef=false

# Every test: unit (cmocka), fuzz smoke runs, netns integration. Ends with "N passed, N failed".
# The release build is built too (not tested twice): -O3 warnings must not break `make demo`.
check: deps $(BUILD)/build.ninja $(TESTBUILD)/build.ninja $(FUZZBUILD)/build.ninja
	ninja -C $(BUILD)
	ninja -C $(TESTBUILD)
	ninja -C $(FUZZBUILD)
	./scripts/run-tests.sh --build $(TESTBUILD) --fuzz-build $(FUZZBUILD)

unit: $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	./scripts/run-tests.sh --build $(TESTBUILD) --only unit

integration: $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	./scripts/run-tests.sh --build $(TESTBUILD) --only integration

# Only the leak scenarios (tests/integration/leak-*.sh; docs/leak-matrix.md).
leak-test: $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	./scripts/run-tests.sh --build $(TESTBUILD) --only integration --script 'leak-*'

# The churn soak (tests/integration/soak.sh, 75 s of churn in `make check`) for DURATION seconds on the
# release build; the samples (time, RSS, fds, CPU per daemon) go to SOAK_CSV.
DURATION ?= 600
SOAK_CSV ?= soak-$(DURATION)s.csv
soak: all
	SOAK_BUILD=$(BUILD) SOAK_SECONDS=$(DURATION) SOAK_CSV=$(abspath $(SOAK_CSV)) \
		SOAK_SAMPLE_S=$$(( $(DURATION) > 600 ? 10 : 3 )) ./tests/integration/soak.sh

bench: all
	./bench/throughput.sh $(BUILD)
	./bench/rss.sh $(BUILD)
	./bench/control.sh $(BUILD)
	./bench/dns.sh $(BUILD)

fuzz: $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD)
	./scripts/run-fuzz.sh $(FUZZBUILD) $(FUZZ_TIME)

demo: all
	./demo/demo.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TESTBUILD) $(FUZZBUILD)
