#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Line coverage of the test suite, per source directory (make coverage):
#
#   scripts/coverage.sh [COV_BUILD_DIR]
#
# Configures COV_BUILD_DIR (default build-cov) with clang, meson's b_coverage, the test hooks
# and the fuzz targets (libFuzzer needs clang, and the fuzz build's sanitizers come with it),
# builds it, runs every unit test binary and every fuzz target once over its seed corpus
# fuzz/corpus/NAME/ (no fuzzing: the figures depend only on the tree), then prints the lines
# run and the total per directory under src/, with the whole tree last. Integration scripts are
# not run (they need root and minutes); set COV_INTEGRATION=1 to add them (as root).
# gcovr (Debian package) is installed on demand when missing; it is not needed by make check.
# The figures are recorded in docs/testing.md; the aim is 80 % for src/wg, src/policy,
# src/netmap, src/control and src/dns.
set -eu

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
	sed -n '3,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath -m "${1:-$ROOT/build-cov}")
cd "$ROOT"

if ! command -v gcovr >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		echo "coverage: installing gcovr (apt-get install gcovr)"
		apt-get install -y -q gcovr >/dev/null
	else
		echo "coverage: gcovr is missing: run 'sudo apt-get install gcovr' and try again" >&2
		exit 1
	fi
fi
if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" --buildtype=debug -Db_coverage=true -Db_lundef=false \
		-Dfuzz=true -Dtest_hooks=true >/dev/null
fi
ninja -C "$BUILD" >/dev/null
# Counters from an earlier run would add up: start from zero.
find "$BUILD" -name '*.gcda' -delete

failed=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
while IFS= read -r t; do
	if ! (cd "$BUILD" && timeout 600 "$t" >/dev/null 2>&1); then
		echo "coverage: unit test $(basename "$t") failed (the figures still count it)" >&2
		failed=1
	fi
done < <(find "$BUILD/src" -type f -executable -name '*_test' | sort)
for t in "$BUILD"/fuzz/*_fuzz; do
	name=$(basename "$t")
	[ -d "fuzz/corpus/$name" ] || continue
	# Files, not the directory: each input runs once and nothing is written to the corpus.
	find "fuzz/corpus/$name" -type f -print0 | xargs -0 -r timeout 600 "$t" -runs=0 \
		>/dev/null 2>&1 || { echo "coverage: fuzz target $name failed on its corpus" >&2; failed=1; }
done
if [ "${COV_INTEGRATION:-0}" = 1 ]; then
	./scripts/run-tests.sh --build "$BUILD" --only integration || failed=1
fi

gcovr --root "$ROOT" --object-directory "$BUILD" --gcov-executable "llvm-cov gcov" \
	--filter "$ROOT/src/" --exclude '.*_test\.c$' --exclude '.*/test_(device|clock)\.c$' \
	--json-summary "$BUILD/coverage-summary.json" >/dev/null
python3 - "$BUILD/coverage-summary.json" <<'PY'
import json, os, sys
files = json.load(open(sys.argv[1]))["files"]
dirs = {}
for f in files:
    d = os.path.dirname(f["filename"])
    c, t = dirs.get(d, (0, 0))
    dirs[d] = (c + f["line_covered"], t + f["line_total"])
print(f"{'directory':<22} {'lines':>13} {'cover':>7}")
total_c = total_t = 0
for d in sorted(dirs):
    c, t = dirs[d]
    total_c += c
    total_t += t
    print(f"{d:<22} {c:>6}/{t:<6} {100.0 * c / t if t else 0:>6.1f}%")
print(f"{'all of src':<22} {total_c:>6}/{total_t:<6} {100.0 * total_c / total_t if total_t else 0:>6.1f}%")
PY
exit "$failed"
