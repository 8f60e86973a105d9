# SPDX-License-Identifier: MIT
# Thin wrapper over meson. Build dirs: build/ (release), build-test/ (ASan+UBSan, test hooks),
# build-fuzz/ (clang, libFuzzer).
BUILD      ?= build
TESTBUILD  ?= build-test
FUZZBUILD  ?= build-fuzz
FUZZ_TIME  ?= 60

.PHONY: all deps install deb check unit integration leak-test mutate soak bench fuzz demo clean format lint

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	./scripts/install-deps.sh

# The binaries, systemd units, man pages, bash completion and /etc/default files (dist/), the
# same set as the Debian packages (docs/operations.md). PREFIX=/usr for the packages' paths.
PREFIX  ?= /usr/local
DESTDIR ?=
install: all
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	ninja -C $(BUILD)
	meson install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir '$(abspath $(DESTDIR))')

# Debian packages rustynet and rustynet-control (debian/), built by dpkg-buildpackage from a
# copy of the tree in $(DEBBUILD)/ (it writes next to its source dir); the .debs land in
# $(DEBBUILD)/. The copy keeps the files' times and the obj dir stays, so a rebuild only
# compiles what changed. Lintian must pass (debian/*.lintian-overrides say why for the rest).
DEBBUILD ?= build-deb
DEBVER    = $(shell dpkg-parsechangelog -l debian/changelog -S Version)
deb:
	./scripts/install-deps.sh --packaging
	rm -rf $(DEBBUILD)/src $(DEBBUILD)/*.deb $(DEBBUILD)/*.changes $(DEBBUILD)/*.buildinfo
	mkdir -p $(DEBBUILD)/src
	git ls-files -co --exclude-standard -z | tar -c --null -T - | tar -x -C $(DEBBUILD)/src
	cd $(DEBBUILD)/src && dpkg-buildpackage -b -nc -us -uc
	lintian --fail-on error,warning $(DEBBUILD)/rustynet_$(DEBVER)_*.changes

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

# Release-build scenarios: patterns of tests/integration/ scripts run a second time with the
# binaries `make install` ships (empty: run-tests.sh's list, the mesh, exit, router and leak ones).
RELEASE_SCRIPTS ?=
RELEASE_ARGS = --release-build $(BUILD) $(foreach p,$(RELEASE_SCRIPTS),--release-script '$(p)')

# Every test: unit (cmocka), fuzz smoke runs, netns integration with build-test, then the mesh,
# exit, router and leak scenarios again with the release build (what ships is what is tested).
# Ends with "N passed, N failed, N skipped"; under CI=true a skip is a failure.
check: deps $(BUILD)/build.ninja $(TESTBUILD)/build.ninja $(FUZZBUILD)/build.ninja
	ninja -C $(BUILD)
	ninja -C $(TESTBUILD)
	ninja -C $(FUZZBUILD)
	$(MAKE) lint
	./scripts/run-tests.sh --build $(TESTBUILD) --fuzz-build $(FUZZBUILD) $(RELEASE_ARGS)

unit: $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	./scripts/run-tests.sh --build $(TESTBUILD) --only unit

integration: $(BUILD)/build.ninja $(TESTBUILD)/build.ninja
	ninja -C $(BUILD)
	ninja -C $(TESTBUILD)
	./scripts/run-tests.sh --build $(TESTBUILD) --only integration $(RELEASE_ARGS)

# Only the leak scenarios (tests/integration/leak-*.sh; docs/leak-matrix.md).
leak-test: $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	./scripts/run-tests.sh --build $(TESTBUILD) --only integration --script 'leak-*'

# Mutation testing (not part of check): each mutation in scripts/mutations/mutations.txt is
# applied alone to a scratch copy (build-mutate/) and must make one of its tests fail; ends with
# "killed N/M". MUTATIONS='wg-* policy-*' picks some. As root (integration tests); about 6 min.
mutate: deps
	./scripts/mutate.sh $(MUTATIONS)

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
	./bench/handshakes.sh $(BUILD)
	./bench/relay.sh $(BUILD)
	./bench/control.sh $(BUILD)
	./bench/dns.sh $(BUILD)

fuzz: $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD)
	./scripts/run-fuzz.sh $(FUZZBUILD) $(FUZZ_TIME)

# Line coverage per directory of the unit tests and the fuzz seed corpora (scripts/coverage.sh;
# not part of check). Installs gcovr on demand. Build dir build-cov/ (clang, b_coverage).
COVBUILD ?= build-cov
.PHONY: coverage
coverage:
	./scripts/coverage.sh $(COVBUILD)

demo: all
	./demo/demo.sh $(BUILD)

# Rewrites every C file as .clang-format says (clang-format 14).
format:
	./scripts/format.sh

# The style checks CI runs: no file differs from clang-format's output, clang-tidy finds nothing
# (.clang-tidy) in src/ and bench/ (test build) and fuzz/ (fuzz build). Needs only meson setup.
lint: $(TESTBUILD)/build.ninja $(FUZZBUILD)/build.ninja
	./scripts/format.sh --check
	./scripts/tidy.sh --check --build $(TESTBUILD) --fuzz-build $(FUZZBUILD)

clean:
	rm -rf $(BUILD) $(TESTBUILD) $(FUZZBUILD) build-mutate $(DEBBUILD)
