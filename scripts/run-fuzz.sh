#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Longer libFuzzer runs (make fuzz):
#
#   scripts/run-fuzz.sh FUZZ_BUILD_DIR [SECONDS]
#
# Runs every executable in FUZZ_BUILD_DIR/fuzz/ for SECONDS (default 60), one after another.
# Each target NAME works on fuzz-corpus/NAME/ (git-ignored, kept between runs so coverage
# accumulates), seeded read-only from fuzz/corpus/NAME/: libFuzzer writes new inputs only into
# the first corpus directory, so the seed corpus in git stays as it is. Crash, leak and timeout
# inputs go to FUZZ_BUILD_DIR/fuzz-artifacts/NAME/; reproduce one with
#   FUZZ_BUILD_DIR/fuzz/NAME FUZZ_BUILD_DIR/fuzz-artifacts/NAME/crash-...
# Ends with "N passed, N failed, N skipped" (one per target); exits 1 if a target failed.
# Env: FUZZ_TARGETS="a b" (only these), FUZZ_ARGS (extra libFuzzer flags, e.g. "-fork=2").
set -eu

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '3,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath -m "$1")
SECS=${2:-60}
PASS=0
FAIL=0
SKIP=0

if [ ! -d "$BUILD/fuzz" ]; then
	echo "run-fuzz: no $BUILD/fuzz: configure and build the fuzz targets first (make fuzz)" >&2
	exit 2
fi
read -r -a extra <<<"${FUZZ_ARGS:-}"

for t in "$BUILD"/fuzz/*; do
	if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
	name=$(basename "$t")
	if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then
		SKIP=$((SKIP + 1))
		continue
	fi
	work="$ROOT/fuzz-corpus/$name"
	art="$BUILD/fuzz-artifacts/$name"
	mkdir -p "$work" "$art"
	seeds=()
	[ -d "$ROOT/fuzz/corpus/$name" ] && seeds=("$ROOT/fuzz/corpus/$name")
	before=$(find "$work" -type f | wc -l)
	echo "==== $name: ${SECS}s, corpus $work ($before files)${seeds[*]:+ + seeds ${seeds[*]}}"
	log="$art/last-run.log"
	rc=0
	(cd "$art" && UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}" \
		timeout -k 10 $((SECS + 300)) "$t" -max_total_time="$SECS" -print_final_stats=1 \
		-artifact_prefix="$art/" ${extra[@]+"${extra[@]}"} "$work" ${seeds[@]+"${seeds[@]}"}) \
		</dev/null >"$log" 2>&1 || rc=$?
	after=$(find "$work" -type f | wc -l)
	execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')
	if [ "$rc" = 0 ]; then
		PASS=$((PASS + 1))
		echo "ok    $name: $execs runs, corpus $before -> $after files"
	else
		FAIL=$((FAIL + 1))
		echo "FAIL  $name: exit status $rc; inputs in $art/, log $log"
		grep -E 'ERROR:|SUMMARY:|runtime error|Test unit written' "$log" | head -n 10 | sed 's/^/      /' || true
	fi
done
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
