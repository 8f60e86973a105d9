#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test suite runner: unit tests (cmocka), fuzz smoke runs, netns integration tests.
#
#   scripts/run-tests.sh --build DIR [--fuzz-build DIR] [--only unit|fuzz|integration|release] [--script NAME]
#                        [--release-build DIR [--release-script PATTERN]...]
#
# unit         every executable meson registered in suite 'unit' of --build DIR, run directly so
#              the cmocka summaries can be read; each cmocka test case counts ("[  PASSED  ] N
#              test(s)." / "[  FAILED  ] N test(s)" / "[  SKIPPED ] N test(s)"); a binary that
#              crashes, times out, exits non-zero without a failure in its summary, or exits 0
#              without a cmocka summary counts as one failure.
# fuzz         (with --fuzz-build) every executable in DIR/fuzz/ for FUZZ_SMOKE_TIME (10) s, on a
#              temp copy of fuzz/corpus/NAME/ if there is one; one pass/fail per target. Crash
#              inputs are kept in DIR/fuzz-artifacts/NAME/.
# integration  every tests/integration/*.sh (or only --script NAME; a pattern: 'leak-*'), as root,
#              with RUSTYNET_WG=DIR/src/rustynet-wg/rustynet-wg (and RUSTYNET_WG_RELEASE, the
#              release build's, with --release-build); counts the "ok - ", "not ok - ", "skip - "
#              lines. Each script declares its number of such lines first ("1..N", tests/lib.sh's
#              `plan`); a script without exactly one plan line, one that prints another number of
#              check lines (it ended early, say), exits non-zero without a "not ok" line, times out
#              (INTEGRATION_TIMEOUT, 300 s) or leaves its rnt-RUN-* namespaces behind counts one
#              failure. INTEGRATION_JOBS (2) scripts run at once, each in its own namespaces
#              (RNT_RUN differs per script), its output shown when it ends; a script with the line
#              "# run-tests: alone" (a load or timing measurement) runs with nothing beside it.
# release      (with --release-build DIR: a `make` build, --buildtype=release, no test hooks) the
#              integration scripts matching a --release-script pattern (repeatable; default: the
#              list in RELEASE_SCRIPTS below), and --script if given, run again with that build's
#              binaries: what ships is what is tested. Reported as "release:NAME".
#
# Without --only, runs unit, then fuzz if --fuzz-build is given, then integration and release;
# --only integration runs both integration passes, --only release the release pass alone.
# Ends with the line "N passed, N failed, N skipped"; exits 1 if anything failed, 2 on bad usage.
# Under CI=true a skip is a failure, with its reason: not root, a binary missing, no test hooks
# in --build, no unit tests (cmocka missing), no fuzz targets or no --fuzz-build, a cmocka
# SKIPPED test, a script's "skip - " line.
# Env: UNIT_TIMEOUT (s per unit binary; default: the meson test timeout, 30 s if unset),
#      FUZZ_SMOKE_TIME (10), INTEGRATION_TIMEOUT (300), INTEGRATION_JOBS (2: scripts at once;
#      1 runs them one by one with their output live), IMPL_A/IMPL_B (passed on to the
#      integration scripts: e.g. both wireguard-go to validate the harness), KEEP_TMP, VERBOSE, CI.
set -eu

usage() {
	sed -n '3,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=
FUZZ_BUILD=
ONLY=
SCRIPT=
RELEASE_BUILD=
RELEASE_PATTERNS=()
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--build=*) BUILD=${1#*=}; shift ;;
	--fuzz-build) FUZZ_BUILD=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--fuzz-build=*) FUZZ_BUILD=${1#*=}; shift ;;
	--only) ONLY=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--only=*) ONLY=${1#*=}; shift ;;
	--script) SCRIPT=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--script=*) SCRIPT=${1#*=}; shift ;;
	--release-build) RELEASE_BUILD=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--release-build=*) RELEASE_BUILD=${1#*=}; shift ;;
	--release-script) RELEASE_PATTERNS+=("${2:-}"); shift 2 || { usage >&2; exit 2; } ;;
	--release-script=*) RELEASE_PATTERNS+=("${1#*=}"); shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run-tests: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
if [ -z "$BUILD" ]; then
	echo "run-tests: --build DIR is required" >&2
	usage >&2
	exit 2
fi
case $ONLY in
'' | unit | fuzz | integration | release) ;;
*) echo "run-tests: --only takes unit, fuzz, integration or release" >&2; exit 2 ;;
esac
if [ "$ONLY" = release ] && [ -z "$RELEASE_BUILD" ]; then
	echo "run-tests: --only release needs --release-build DIR" >&2
	exit 2
fi
if [ "$ONLY" = fuzz ] && [ -z "$FUZZ_BUILD" ]; then
	echo "run-tests: --only fuzz needs --fuzz-build DIR" >&2
	exit 2
fi
BUILD=$(realpath -m "$BUILD")
[ -z "$FUZZ_BUILD" ] || FUZZ_BUILD=$(realpath -m "$FUZZ_BUILD")
[ -z "$RELEASE_BUILD" ] || RELEASE_BUILD=$(realpath -m "$RELEASE_BUILD")
if [ ${#RELEASE_PATTERNS[@]} -gt 0 ] && [ -z "$RELEASE_BUILD" ]; then
	echo "run-tests: --release-script needs --release-build DIR" >&2
	exit 2
fi
# The release pass by default: one scenario of each kind the shipped binaries must get right
# (enrollment and trust, the exit with its filter and LAN toggle, the kill switch when the tunnel
# or the daemon dies, a subnet router); the ASan pass runs them all. Scripts that need test hooks
# (mesh-default-deny, mesh-restart) a release build refuses by design.
RELEASE_SCRIPTS='mesh-basic mesh-trust exit-node exit-client leak-tunnel-failure leak-daemon-crash router-basic'
if [ ${#RELEASE_PATTERNS[@]} = 0 ]; then
	read -r -a RELEASE_PATTERNS <<<"$RELEASE_SCRIPTS"
fi

FUZZ_SMOKE_TIME=${FUZZ_SMOKE_TIME:-10} # 12 targets: the suite stays under 20 min on 2 cores
INTEGRATION_TIMEOUT=${INTEGRATION_TIMEOUT:-300}
INTEGRATION_JOBS=${INTEGRATION_JOBS:-2}
case $INTEGRATION_JOBS in
[1-9] | [1-9][0-9]) ;;
*) echo "run-tests: INTEGRATION_JOBS takes 1-99, not $INTEGRATION_JOBS" >&2; exit 2 ;;
esac

PASS=0
FAIL=0
SKIP=0
FAILED_NAMES=()
FAILED_LOGS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/run-tests.XXXXXX")
CHILD=
declare -A JOB_LABEL=() JOB_LOG=() JOB_RUN=() JOB_T0=() # by pid: the scripts running now
trap 'rm -rf "$WORK"' EXIT
on_signal() {
	local pid
	if [ -n "$CHILD" ] || [ ${#JOB_LABEL[@]} -gt 0 ]; then
		echo "run-tests: interrupted; stopping the running scripts (they clean up)" >&2
		for pid in $CHILD "${!JOB_LABEL[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
		for pid in $CHILD "${!JOB_LABEL[@]}"; do wait "$pid" 2>/dev/null || true; done
	fi
	exit 130
}
trap on_signal INT TERM

section() { printf '\n======== %s ========\n' "$*"; }

ci() { [ "${CI:-}" = true ]; }

# runner_skip WHAT REASON: something the runner could not run: a skip, a failure under CI=true.
runner_skip() {
	if ci; then
		echo "not ok - $1: $2 (under CI=true a skip is a failure)"
		FAIL=$((FAIL + 1))
		failed "$1: $2" /dev/null
	else
		echo "skip - $1 ($2)"
		SKIP=$((SKIP + 1))
	fi
}

# failed NAME LOG: remember a failure for the summary at the end.
failed() {
	FAILED_NAMES+=("$1")
	FAILED_LOGS+=("$2")
}

# ------------------------------------------------------------------------------ unit

# unit_list BUILD: one line per test of suite 'unit': NAME TAB TIMEOUT TAB WORKDIR TAB ENV TAB CMD
# (ENV and CMD shell-quoted for eval).
unit_list() {
	python3 - "$1" <<-'EOF'
		import json, os, shlex, subprocess, sys
		build = sys.argv[1]
		f = os.path.join(build, "meson-info", "intro-tests.json")
		if os.path.exists(f):
		    tests = json.load(open(f))
		else:
		    tests = json.loads(subprocess.run(["meson", "introspect", build, "--tests"],
		                                      check=True, capture_output=True, text=True).stdout)
		for t in tests:
		    if not any(s == "unit" or s.endswith(":unit") for s in t.get("suite", [])):
		        continue
		    env = t.get("env") or {}
		    if isinstance(env, list):
		        env = dict(e.split("=", 1) for e in env)
		    print("\t".join([
		        t["name"].replace("\t", " "), str(t.get("timeout") or 30), t.get("workdir") or build,
		        " ".join(shlex.quote("%s=%s" % kv) for kv in env.items()),
		        " ".join(shlex.quote(c) for c in t["cmd"])]))
	EOF
}

run_unit() {
	section "unit tests: meson suite 'unit' in $BUILD"
	if [ ! -d "$BUILD/meson-info" ]; then
		echo "not ok - $BUILD is not a configured meson build dir (run: make unit, or meson setup $BUILD)"
		FAIL=$((FAIL + 1))
		failed "unit: build dir $BUILD" /dev/null
		return 0
	fi
	local list="$WORK/unit.list" n=0
	if ! unit_list "$BUILD" >"$list" 2>"$WORK/unit.err"; then
		echo "not ok - cannot read the test list of $BUILD"
		cat "$WORK/unit.err"
		FAIL=$((FAIL + 1))
		failed "unit: test list" "$WORK/unit.err"
		return 0
	fi
	local name tmo wd envq cmdq log rc p f s summ line
	while IFS=$'\t' read -r name tmo wd envq cmdq; do
		n=$((n + 1))
		log="$WORK/unit.$n.log"
		tmo=${UNIT_TIMEOUT:-$tmo}
		[ "$tmo" -gt 0 ] 2>/dev/null || tmo=600
		local envs=() cmd=()
		eval "envs=($envq)"
		eval "cmd=($cmdq)"
		rc=0
		# no exec: the subshell reaps the binary, so a crash report ("Aborted") lands in the log
		(
			cd "$wd" &&
				env CMOCKA_MESSAGE_OUTPUT=STDOUT \
					ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_summary=1}" \
					UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_summary=1:print_stacktrace=1}" \
					MALLOC_PERTURB_="${MALLOC_PERTURB_:-$((RANDOM % 255 + 1))}" \
					${envs[@]+"${envs[@]}"} timeout -k 10 "$tmo" "${cmd[@]}"
			exit $?
		) </dev/null >"$log" 2>&1 || rc=$?
		p=$(awk '/^\[  PASSED  \] [0-9]+ test\(s\)/ {n += $4} END {print n + 0}' "$log")
		f=$(awk '/^\[  FAILED  \] [0-9]+ test\(s\)/ {n += $4} END {print n + 0}' "$log")
		s=$(awk '/^\[  SKIPPED \] [0-9]+ test\(s\)/ {n += $4} END {print n + 0}' "$log")
		summ=$(grep -c '^\[==========\] [0-9]* test(s) run\.' "$log" || true)
		line="$name: $p passed, $f failed, $s skipped"
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			f=$((f + 1))
			line="$line; timed out after ${tmo}s"
		elif [ "$summ" = 0 ] && [ "$rc" = 0 ]; then
			f=1
			line="$name: exited 0 without a cmocka summary ('[==========] N test(s) run.'): its tests did not run"
		elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			f=1
			if [ "$summ" = 0 ]; then
				line="$name: exit status $rc without a cmocka summary (crash?)"
			else
				line="$line; but exit status $rc (sanitizer report at exit?)"
			fi
		fi
		if [ "$s" -gt 0 ] && ci; then
			f=$((f + s))
			line="$line; under CI=true a skipped test is a failure"
			s=0
		fi
		PASS=$((PASS + p))
		FAIL=$((FAIL + f))
		SKIP=$((SKIP + s))
		if [ "$f" -gt 0 ]; then
			echo "FAIL  $line"
			grep -E '^\[  (FAILED|ERROR)   ?\] [^0-9]' "$log" | awk '!seen[$0]++' | sed 's/^/        /' || true
			failed "unit: $name" "$log"
		else
			echo "ok    $line"
		fi
	done <"$list"
	if [ "$n" = 0 ]; then
		local why="no tests registered in suite 'unit' in $BUILD"
		if grep -qs 'dependency cmocka found: NO' "$BUILD/meson-logs/meson-log.txt"; then
			why="$why: cmocka is missing (apt-get install libcmocka-dev, then meson setup --reconfigure $BUILD)"
		fi
		runner_skip "unit tests" "$why"
	fi
}

# ------------------------------------------------------------------------------ fuzz

# fuzz_start TARGET: one smoke run in the background, in WORK/fuzz.NAME (its exit status ends
# up in rc there).
fuzz_start() {
	local t=$1 name tmp corpus
	name=$(basename "$t")
	tmp="$WORK/fuzz.$name"
	corpus="$tmp/corpus"
	mkdir -p "$corpus" "$tmp/artifacts"
	if [ -d "$ROOT/fuzz/corpus/$name" ]; then
		cp -R "$ROOT/fuzz/corpus/$name/." "$corpus/"
	fi
	(
		rc=0
		cd "$tmp" && UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}" \
			timeout -k 10 $((FUZZ_SMOKE_TIME + 120)) "$t" -max_total_time="$FUZZ_SMOKE_TIME" \
			-print_final_stats=1 -artifact_prefix="$tmp/artifacts/" "$corpus" \
			</dev/null >"$tmp/log" 2>&1 || rc=$?
		echo "$rc" >"$tmp/rc"
	) &
}

# fuzz_report NAME: the verdict of a finished smoke run; adds to the totals.
fuzz_report() {
	local name=$1 tmp="$WORK/fuzz.$1" rc art
	rc=$(cat "$tmp/rc" 2>/dev/null || echo "?")
	if [ "$rc" = 0 ]; then
		PASS=$((PASS + 1))
		echo "ok    $name: $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$tmp/log" | grep -Eo '[0-9]+$' || echo '?') runs, corpus $(find "$tmp/corpus" -type f | wc -l) files"
	else
		FAIL=$((FAIL + 1))
		art=""
		if [ -n "$(ls -A "$tmp/artifacts")" ]; then
			mkdir -p "$FUZZ_BUILD/fuzz-artifacts/$name"
			cp "$tmp/artifacts/"* "$FUZZ_BUILD/fuzz-artifacts/$name/"
			art="; crash input(s) saved in $FUZZ_BUILD/fuzz-artifacts/$name/"
		fi
		echo "FAIL  $name: exit status $rc$art"
		failed "fuzz: $name" "$tmp/log"
	fi
}

# fuzz_batch TARGET...: runs them at once, then reports each.
fuzz_batch() {
	local b
	for b in "$@"; do fuzz_start "$b"; done
	wait
	for b in "$@"; do fuzz_report "$(basename "$b")"; done
}

# Smoke runs two at a time (each libFuzzer process uses one core).
run_fuzz() {
	local dir="$FUZZ_BUILD/fuzz" t n=0 batch=()
	section "fuzz smoke runs: $dir, ${FUZZ_SMOKE_TIME}s each, two at a time"
	if [ ! -d "$FUZZ_BUILD/meson-info" ]; then
		echo "not ok - $FUZZ_BUILD is not a configured meson build dir (run: make check, or see the Makefile)"
		FAIL=$((FAIL + 1))
		failed "fuzz: build dir $FUZZ_BUILD" /dev/null
		return 0
	fi
	for t in "$dir"/*; do
		if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
		n=$((n + 1))
		batch+=("$t")
		if [ ${#batch[@]} = 2 ]; then
			fuzz_batch "${batch[@]}"
			batch=()
		fi
	done
	[ ${#batch[@]} = 0 ] || fuzz_batch "${batch[@]}"
	[ "$n" -gt 0 ] || runner_skip "fuzz smoke runs" "no fuzz targets in $dir (meson setup -Dfuzz=true, CC=clang)"
}

# ------------------------------------------------------------------------------ integration

# Each script's namespaces carry its own RNT_RUN ($$-N: tests/lib.sh puts it in every name), so
# the leak check after a script sees only that script's, and another suite, a script running
# beside it or a developer's script must neither fail nor lose its namespaces here.

# script_selected NAME: --script (a pattern) allows NAME.
script_selected() {
	# shellcheck disable=SC2053 # --script is a pattern ('leak-*')
	[ -z "$SCRIPT" ] || [[ $1 == $(basename "${SCRIPT%.sh}") ]]
}

# release_selected NAME: a --release-script pattern matches NAME.
release_selected() {
	local pat
	for pat in "${RELEASE_PATTERNS[@]}"; do
		# shellcheck disable=SC2053
		[[ $1 == $(basename "${pat%.sh}") ]] && return 0
	done
	return 1
}

# build_has_hooks DIR: the meson option test_hooks of build dir DIR is true.
build_has_hooks() {
	python3 - "$1/meson-info/intro-buildoptions.json" <<-'EOF' 2>/dev/null
		import json, sys
		opts = {o["name"]: o["value"] for o in json.load(open(sys.argv[1]))}
		sys.exit(0 if opts.get("test_hooks") is True else 1)
	EOF
}

# plan_verdict LOG P F K: empty if LOG's plan line matches P + F + K check lines, else why not.
plan_verdict() {
	local log=$1 n=$(($2 + $3 + $4)) plans planned
	plans=$(grep -cE '^1\.\.[0-9]+$' "$log" || true)
	if [ "$plans" = 0 ]; then
		echo "no plan line (1..N: tests/lib.sh's plan, before the first check); it printed $n check lines"
		return 0
	elif [ "$plans" != 1 ]; then
		echo "$plans plan lines (1..N); want exactly one"
		return 0
	fi
	planned=$(grep -m 1 -E '^1\.\.[0-9]+$' "$log" | cut -c 4-)
	if [ "$planned" != "$n" ]; then
		echo "planned $planned checks, ran $n ($2 ok, $3 not ok, $4 skipped): it ended early or its plan line is out of date"
	fi
}

# start_script LABEL PATH: starts one integration script in the background, in namespaces of
# its own (RNT_RUN=RUN-N scopes tests/lib.sh's names), its output to a log; INTEGRATION_JOBS=1
# shows the output live and waits for it.
SCRIPT_N=0
start_script() {
	local label=$1 s=$2 log pid tailpid run
	SCRIPT_N=$((SCRIPT_N + 1))
	run="$$-$SCRIPT_N"
	log="$WORK/integration.${label//[:\/]/_}.log"
	: >"$log" # before tail opens it
	# timeout runs the script in its own process group (a terminal's Ctrl-C does not reach
	# it): on_signal forwards INT/TERM so the script's cleanup trap runs.
	RNT_RUN=$run timeout -k 20 "$INTEGRATION_TIMEOUT" bash "$s" </dev/null >"$log" 2>&1 &
	pid=$!
	JOB_LABEL[$pid]=$label
	JOB_LOG[$pid]=$log
	JOB_RUN[$pid]=$run
	JOB_T0[$pid]=$SECONDS
	if [ "$INTEGRATION_JOBS" = 1 ]; then
		printf '\n---- %s\n' "$label"
		tail -s 0.2 -n +1 -f --pid="$pid" "$log" &
		tailpid=$!
		wait_script
		wait "$tailpid" || true
	fi
}

# wait_script: waits for one running script to end and reports it (finish_script).
wait_script() {
	local pid='' rc=0
	wait -n -p pid "${!JOB_LABEL[@]}" || rc=$?
	[ -n "$pid" ] || return 0
	finish_script "$pid" "$rc"
}

# finish_script PID RC: the ended script's verdict; adds to the totals.
finish_script() {
	local pid=$1 rc=$2 label log run p f k verdict leaked ns
	label=${JOB_LABEL[$pid]}
	log=${JOB_LOG[$pid]}
	run=${JOB_RUN[$pid]}
	[ "$INTEGRATION_JOBS" = 1 ] || { printf '\n---- %s\n' "$label"; cat "$log"; }
	p=$(grep -c '^ok - ' "$log" || true)
	f=$(grep -c '^not ok - ' "$log" || true)
	k=$(grep -c '^skip - ' "$log" || true)
	verdict=$(plan_verdict "$log" "$p" "$f" "$k")
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "not ok - $label: timed out after ${INTEGRATION_TIMEOUT}s" | tee -a "$log"
		f=$((f + 1))
	elif [ -n "$verdict" ]; then
		echo "not ok - $label: $verdict" | tee -a "$log"
		f=$((f + 1))
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $label: exited with status $rc without a failed check" | tee -a "$log"
		f=1
	fi
	if [ "$k" -gt 0 ] && ci; then
		echo "not ok - $label: $k skip line(s), and under CI=true a skip is a failure" | tee -a "$log"
		f=$((f + k))
		k=0
	fi
	leaked=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^rnt-$run-" || true)
	if [ -n "$leaked" ]; then
		echo "not ok - $label: left namespaces behind: $(echo "$leaked" | tr '\n' ' ')" | tee -a "$log"
		f=$((f + 1))
		for ns in $leaked; do
			ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
			ip netns del "$ns" 2>/dev/null || true
		done
	fi
	echo "---- $label: $p ok, $f not ok, $k skipped ($((SECONDS - JOB_T0[$pid]))s)"
	unset "JOB_LABEL[$pid]" "JOB_LOG[$pid]" "JOB_RUN[$pid]" "JOB_T0[$pid]"
	PASS=$((PASS + p))
	FAIL=$((FAIL + f))
	SKIP=$((SKIP + k))
	[ "$f" = 0 ] || failed "integration: $label" "$log"
}

# run_script LABEL PATH: runs it when a slot is free (alone, and with nothing beside it, when it
# says "# run-tests: alone").
run_script() {
	local alone=
	grep -qx '# run-tests: alone' "$2" && alone=1
	while [ ${#JOB_LABEL[@]} -gt 0 ] &&
		{ [ -n "$alone" ] || [ ${#JOB_LABEL[@]} -ge "$INTEGRATION_JOBS" ]; }; do
		wait_script
	done
	start_script "$1" "$2"
	if [ -n "$alone" ]; then
		while [ ${#JOB_LABEL[@]} -gt 0 ]; do wait_script; done
	fi
}

# run_integration PASS BUILD: PASS is "integration" (every selected script, BUILD's binaries)
# or "release" (the selected scripts matching a --release-script pattern, BUILD's binaries).
run_integration() {
	local pass=$1 build=$2 s name n=0 label t0=$SECONDS
	if [ "$pass" = release ]; then
		section "release build: $build, scripts ${RELEASE_PATTERNS[*]} (timeout ${INTEGRATION_TIMEOUT}s each)"
	else
		section "integration tests: tests/integration/*.sh (timeout ${INTEGRATION_TIMEOUT}s each)"
	fi
	export RUSTYNET_WG="$build/src/rustynet-wg/rustynet-wg"
	if [ -x "$RUSTYNET_WG" ]; then
		echo "rustynet-wg: $RUSTYNET_WG"
	else
		runner_skip "$pass: rustynet-wg" "not built ($RUSTYNET_WG missing): its checks will be skipped"
	fi
	if [ "$pass" = integration ]; then
		if ! build_has_hooks "$build"; then
			runner_skip "$pass: test hooks" "$build was not set up with -Dtest_hooks=true: the hook scenarios (rekey, cookie, default-deny, cached map) will be skipped"
		fi
		if [ -n "$RELEASE_BUILD" ]; then
			export RUSTYNET_WG_RELEASE="$RELEASE_BUILD/src/rustynet-wg/rustynet-wg"
			echo "rustynet-wg (release build, for release-hooks): $RUSTYNET_WG_RELEASE"
		fi
	elif build_has_hooks "$build"; then
		echo "not ok - $build has test hooks: not a release build (make: meson setup --buildtype=release)"
		FAIL=$((FAIL + 1))
		failed "release: $build has test hooks" /dev/null
		return 0
	fi
	if [ -n "${IMPL_A:-}${IMPL_B:-}" ]; then
		echo "IMPL_A=${IMPL_A:-wireguard-go} IMPL_B=${IMPL_B:-wireguard-go} (from the environment)"
	fi
	for s in "$ROOT"/tests/integration/*.sh; do
		[ -f "$s" ] || continue
		name=$(basename "$s" .sh)
		script_selected "$name" || continue
		if [ "$pass" = release ] && ! release_selected "$name"; then continue; fi
		n=$((n + 1))
		label=$name
		[ "$pass" = integration ] || label="$pass:$name"
		if [ "$(id -u)" != 0 ]; then
			printf '\n---- %s\n' "$label"
			runner_skip "$label" "integration tests need root"
			continue
		fi
		run_script "$label" "$s"
	done
	while [ ${#JOB_LABEL[@]} -gt 0 ]; do wait_script; done
	if [ "$n" = 0 ]; then
		if [ -n "$SCRIPT" ] && [ "$pass" = integration ]; then
			echo "not ok - no integration script named $SCRIPT"
			FAIL=$((FAIL + 1))
		elif [ "$pass" = integration ]; then
			runner_skip "integration tests" "no scripts in $ROOT/tests/integration"
		elif [ -z "$SCRIPT" ]; then
			runner_skip "release build" "no script matches ${RELEASE_PATTERNS[*]}"
		fi
	fi
	echo "---- $pass: $n script(s) in $((SECONDS - t0))s"
}

# ------------------------------------------------------------------------------ main

cd "$ROOT"
if [ -z "$ONLY" ] || [ "$ONLY" = unit ]; then run_unit; fi
if [ -n "$FUZZ_BUILD" ] && { [ -z "$ONLY" ] || [ "$ONLY" = fuzz ]; }; then run_fuzz; fi
if [ -z "$ONLY" ] && [ -z "$FUZZ_BUILD" ]; then
	runner_skip "fuzz smoke runs" "no --fuzz-build DIR given (make check passes build-fuzz)"
fi
if [ -z "$ONLY" ] || [ "$ONLY" = integration ]; then run_integration integration "$BUILD"; fi
if [ -n "$RELEASE_BUILD" ] && { [ -z "$ONLY" ] || [ "$ONLY" = integration ] || [ "$ONLY" = release ]; }; then
	run_integration release "$RELEASE_BUILD"
fi

if [ ${#FAILED_NAMES[@]} -gt 0 ]; then
	section "failures"
	for i in "${!FAILED_NAMES[@]}"; do
		printf -- '---- %s (last lines of its output)\n' "${FAILED_NAMES[$i]}"
		if [ -s "${FAILED_LOGS[$i]}" ]; then
			if [[ ${FAILED_NAMES[$i]} == integration:* ]]; then
				# the failed checks with their detail lines, then the end of the output
				awk '/^not ok - / {show = 1; print; next} show && /^#/ {print; next} {show = 0}' "${FAILED_LOGS[$i]}" | tail -n 60
				echo "  ... the script's last lines:"
				grep -v '^ok - ' "${FAILED_LOGS[$i]}" | tail -n 8 | sed 's/^/  /'
			else
				tail -n 30 "${FAILED_LOGS[$i]}"
			fi
		fi
	done
fi
echo
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
