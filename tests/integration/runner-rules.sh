#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# runner-rules: scripts/run-tests.sh cannot go green on a broken run. A copy of the runner and
# tests/lib.sh in a temp tree runs throwaway scripts and fake unit binaries: a script whose
# check lines differ from its plan (ended early, plan too small, no plan line) fails and the
# message gives the planned and the actual number; a skip is a skip for a developer but a
# failure under CI=true (a skipped check, a whole-script skip for want of root, no unit tests,
# no fuzz targets); a unit binary that exits 0 without a cmocka summary fails. Each rule is
# shown passing the good case first (the rule is not simply failing everything).
#
#   $T_DIR/tree/scripts/run-tests.sh        a copy of the runner
#   $T_DIR/tree/tests/lib.sh                a copy of the library
#   $T_DIR/tree/tests/integration/*.sh      the throwaway scripts below
#   $T_DIR/tree/build/                      a fake meson build dir (intro JSON, fake binaries)
set -eu
TEST_TAG=runner
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan 17
need_root
need_cmds python3 setpriv

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TREE=$T_DIR/tree
mkdir -p "$TREE/scripts" "$TREE/tests/integration" "$TREE/build/meson-info" \
	"$TREE/build/src/rustynet-wg" "$TREE/build/units" "$TREE/fuzzb/meson-info" "$TREE/fuzzb/fuzz"
cp "$ROOT/scripts/run-tests.sh" "$TREE/scripts/"
cp "$ROOT/tests/lib.sh" "$TREE/tests/"
printf '#!/bin/sh\nexit 0\n' >"$TREE/build/src/rustynet-wg/rustynet-wg"
chmod +x "$TREE/build/src/rustynet-wg/rustynet-wg"
echo '[{"name": "test_hooks", "value": true}]' >"$TREE/build/meson-info/intro-buildoptions.json"

# script NAME BODY: a throwaway integration script; BODY runs after lib.sh is sourced.
# shellcheck disable=SC2016 # $0 is for the throwaway script
script() {
	printf '#!/usr/bin/env bash\nset -eu\nTEST_TAG=%s\n. "$(dirname "$0")/../lib.sh"\n%s\n' \
		"$1" "$2" >"$TREE/tests/integration/$1.sh"
}
script good 'plan 3; check one true; check two true; check three true; t_done'
script early 'plan 3; check one true; check two true; exit 0'
script short 'plan 2; check one true; check two true; check three true; t_done'
script noplan 'check one true; t_done'
script skips 'plan 3; check one true; skip two "no widget here"; check three true; t_done'
script skipall 'plan 4; need_root; check one true; check two true; check three true; check four true; t_done'
# side by side: each notes when it ran; leaky leaves a namespace lib.sh does not know of
# shellcheck disable=SC2016 # $0 and $T_ID are for the throwaway scripts
{
	script para 'plan 1; date +%s.%N >>"$(dirname "$0")/../../para.times"; sleep 2; date +%s.%N >>"$(dirname "$0")/../../para.times"; check one true; t_done'
	script parb 'plan 1; date +%s.%N >>"$(dirname "$0")/../../parb.times"; sleep 2; date +%s.%N >>"$(dirname "$0")/../../parb.times"; check one true; t_done'
	script parleaky 'plan 1; ip netns add "$T_ID-left"; check one true; t_done'
}

# unit TESTS...: the fake build's unit suite is TESTS (each a script in build/units/).
unit_suite() {
	python3 - "$TREE/build" "$@" <<-'EOF'
		import json, os, sys
		b = sys.argv[1]
		json.dump([{"name": t, "suite": ["rustynet:unit"], "timeout": 10, "workdir": b,
		            "env": {}, "cmd": [os.path.join(b, "units", t)]} for t in sys.argv[2:]],
		          open(os.path.join(b, "meson-info", "intro-tests.json"), "w"))
	EOF
}
cat >"$TREE/build/units/summary_test" <<-'EOF'
	#!/bin/sh
	echo '[==========] 2 test(s) run.'
	echo '[  PASSED  ] 2 test(s).'
EOF
printf '#!/bin/sh\necho running\nexit 0\n' >"$TREE/build/units/nosummary_test"
chmod +x "$TREE/build/units/"*

# runner CI RC PATTERN ARGS...: the copied runner with CI=CI and ARGS exits RC, and its output
# holds PATTERN (a fixed string; the closing line or the failure's reason).
runner() {
	local ci=$1 want=$2 pat=$3 rc=0
	shift 3
	env -u IMPL_A -u IMPL_B -u RUSTYNET_WG_RELEASE CI="$ci" INTEGRATION_JOBS="${JOBS:-1}" \
		bash "$TREE/scripts/run-tests.sh" --build "$TREE/build" "$@" >"$T_DIR/runner.out" 2>&1 || rc=$?
	grep -E '^(not ok|skip) - |^FAIL |^[0-9]+ passed' "$T_DIR/runner.out" || true
	echo "exit status $rc (want $want)"
	[ "$rc" = "$want" ] && grep -qF -- "$pat" "$T_DIR/runner.out"
}
I=(--only integration --script)
# runner2: the same with two scripts at a time
runner2() { JOBS=2 runner "$@"; }

# ---------------------------------------------------------------- the plan
check "alive: a script that runs its 3 planned checks passes" \
	runner false 0 "3 passed, 0 failed, 0 skipped" "${I[@]}" good
check "a script that exits 0 after 2 of 3 planned checks fails, saying so" \
	runner false 1 "planned 3 checks, ran 2" "${I[@]}" early
check "a script that runs 3 checks on a plan of 2 fails, saying so" \
	runner false 1 "planned 2 checks, ran 3" "${I[@]}" short
check "a script without a plan line fails" runner false 1 "no plan line" "${I[@]}" noplan

# ---------------------------------------------------------------- side by side
# overlapped: para's and parb's [start, end] intervals overlap (they ran at the same time).
overlapped() {
	python3 - "$TREE/para.times" "$TREE/parb.times" <<-'EOF'
		import sys
		a, b = ([float(x) for x in open(f).read().split()] for f in sys.argv[1:3])
		print("para", a, "parb", b)
		assert a[0] < b[1] and b[0] < a[1], "one ran after the other"
	EOF
}
check "alive: INTEGRATION_JOBS=2 runs two scripts at once, both counted" \
	runner2 false 0 "2 passed, 0 failed, 0 skipped" "${I[@]}" 'par[ab]'
check "... and they overlapped in time" overlapped
check "a script that leaves a namespace behind fails, though another passed beside it" \
	runner2 false 1 "parleaky: left namespaces behind" "${I[@]}" 'par*'

# ---------------------------------------------------------------- skips
check "alive: without CI a skipped check is a skip" \
	runner false 0 "2 passed, 0 failed, 1 skipped" "${I[@]}" skips
check "under CI=true the same skip fails the run, with its reason" \
	runner true 1 "no widget here" "${I[@]}" skips
# the throwaway tree is run as nobody: make the path to it readable
chmod o+rx "$T_DIR"
chmod -R o+rX "$TREE"
nobody() {
	local ci=$1 want=$2 pat=$3 rc=0
	env -u IMPL_A -u IMPL_B CI="$ci" TMPDIR=/tmp setpriv --reuid=65534 --regid=65534 --clear-groups \
		bash "$TREE/tests/integration/skipall.sh" >"$T_DIR/nobody.out" 2>&1 || rc=$?
	cat "$T_DIR/nobody.out"
	echo "exit status $rc (want $want)"
	[ "$rc" = "$want" ] && grep -qF -- "$pat" "$T_DIR/nobody.out"
}
check "alive: not root, without CI: the whole script is 4 skip lines, as planned" \
	nobody false 0 "0 ok, 0 not ok, 4 skipped; planned 4"
check "not root under CI=true: a failure that says root is needed" \
	nobody true 1 "not ok - skipall: all checks"

# ---------------------------------------------------------------- unit binaries
unit_suite summary_test
check "alive: a unit binary with a cmocka summary counts its tests" \
	runner false 0 "2 passed, 0 failed, 0 skipped" --only unit
unit_suite nosummary_test
check "a unit binary that exits 0 without a cmocka summary fails" \
	runner false 1 "nosummary_test: exited 0 without a cmocka summary" --only unit
unit_suite
check "alive: no unit tests, without CI: a skip" runner false 0 "0 passed, 0 failed, 1 skipped" --only unit
check "no unit tests under CI=true: a failure" runner true 1 "no tests registered in suite 'unit'" --only unit

# ---------------------------------------------------------------- fuzz targets
check "no fuzz targets under CI=true: a failure" \
	runner true 1 "no fuzz targets in" --only fuzz --fuzz-build "$TREE/fuzzb"
check "no --fuzz-build in a whole run under CI=true: a failure" \
	runner true 1 "no --fuzz-build DIR given" --script good

t_done
