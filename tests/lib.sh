# shellcheck shell=bash disable=SC2317 # functions run indirectly (check CMD..., for_each_pair FUNC)
# SPDX-License-Identifier: MIT
# tests/lib.sh: helpers for the network-namespace integration tests, the benchmarks and the demo.
#
# Source it from a bash script that runs `set -eu`, after setting TEST_TAG to a short name
# (basic, neg, roam, ...):
#
#   TEST_TAG=basic
#   . "$(dirname "$0")/../lib.sh"
#
# What it gives you:
#   - unique names: namespaces are "rnt-TAG-PID-N..." and WireGuard interfaces "rnPIDNa": /run is
#     shared by every namespace, so the UAPI socket /var/run/wireguard/IFNAME.sock must be unique.
#   - TAP-like reporting: `plan N` (or `plan_pairs PER_PAIR [EXTRA]`) first, printing "1..N";
#     `check DESC CMD...` prints "ok - DESC" or "not ok - DESC" (plus the tail of the command's
#     output as "#" lines) and never aborts the script; `check_ok` is the same but returns the
#     status (`if check_ok ...`); `skip DESC REASON` (under CI=true a skip is a "not ok").
#   - `wait_for TIMEOUT CMD...`: poll CMD every 0.1 s until it succeeds or TIMEOUT seconds pass.
#   - `cleanup`, registered on EXIT INT TERM: stops captures, kills every process that
#     `ip netns pids` lists in each namespace made here, deletes the namespaces, removes the UAPI
#     sockets of the daemons started here and the temp dir (KEEP_TMP=1 keeps it).
#   - `wg_start NS IFNAME IMPL [VAR=VALUE...]`: run a WireGuard implementation (IMPL is
#     `wireguard-go` or the path of a binary such as rustynet-wg) in the foreground, in the
#     background of this script, log in $T_DIR/IFNAME.log; returns once `wg show IFNAME` answers.
#   - `capture_start NS IFACE [FILTER...]` / `capture_stop [FILE]`: tcpdump -U --immediate-mode -w,
#     returns once tcpdump says "listening on"; the file is in $CAPTURE_FILE. `capture_count`
#     fails when tcpdump does (never a "0" from a count that did not happen); `capture_canary`
#     / `canary_count`: a packet of the node's own that proves a capture saw its traffic.
#   - sanitizer reports of every process go to $T_DIR/sanitizer.PID (log_path): `san_clean`,
#     `logs_clean LOG...`; `t_done` fails on a report no check has shown.
#   - `wg_keypair NAME`: key pair in $T_DIR; sets KEY_NAME (private key file) and PUB_NAME.
#   - the two-node topology used by most scenarios: pair_netns, pair_wg, pair_peers, pair_down.
#   - `for_each_pair FUNC`: runs FUNC IMPL_A IMPL_B for rustynet-wg<->wireguard-go both ways, or
#     for IMPL_A/IMPL_B from the environment, or prints skip lines when there is no rustynet-wg.
#
# Functions meant to be used as `check` commands return a status instead of relying on `set -e`:
# bash ignores `set -e` inside anything that runs as an `if` condition.
#
# Environment:
#   RUSTYNET_WG            path of the rustynet-wg binary (the runner sets BUILD/src/rustynet-wg/rustynet-wg)
#   IMPL_A, IMPL_B         force one implementation pair (e.g. both wireguard-go to validate the harness)
#   RUSTYNET_WG_TEST_HOOKS 1/0: whether RUSTYNET_WG was built with -Dtest_hooks=true (default: detected)
#   WG_LOG_LEVEL           LOG_LEVEL for wireguard-go (default: error; verbose is very chatty)
#   KEEP_TMP=1             keep $T_DIR (daemon logs, captures) after the script ends;
#                          KEEP_TMP=failed keeps it only if a check failed
#   VERBOSE=1              print the full output of failed checks, not only the tail

: "${TEST_TAG:=$(basename "$0" .sh)}"
# RNT_RUN (set by scripts/run-tests.sh) scopes the names to one suite run, so the runner's
# leftover check never mistakes another run's namespaces for this one's.
T_ID="rnt-${RNT_RUN:+$RNT_RUN-}${TEST_TAG}-$$"
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/${T_ID}.XXXXXX")
T_PASS=0
T_FAIL=0
T_SKIP=0
T_PLAN=          # planned check lines (plan N)
T_PAIR_PLAN=     # planned check lines per implementation pair (plan_pairs)
T_PAIR_START=0   # check lines printed when the current pair began (for_each_pair)
T_NS=()          # namespaces made by ns_add
T_SOCKS=()       # UAPI sockets of daemons started by wg_start
T_BG=()          # background pids (daemons, captures)
T_ROUND=0        # pair_netns counter: fresh names for every round
T_WGN=0          # pair_wg counter: fresh interface names for every daemon pair
T_CAPN=0
T_CLEANED=0
T_ROUND_FAIL=0   # T_FAIL when the current round started (to print daemon logs on failure)
declare -A T_CAP_PID=()
declare -A WG_PID=() WG_LOG=() WG_NS=() WG_IMPL=()
CAPTURE_FILE=
UAPI_DIR=/var/run/wireguard
declare -A T_SAN_REPORTED=()
# Sanitizer reports (ASan, LeakSanitizer, UBSan) of every process started from here go to
# $T_DIR/sanitizer.PID instead of stderr: a daemon in daemon mode (rustynet-wg without -f) has
# its stderr on /dev/null, and a report from a command run as `! CMD` would count as a pass.
# san_clean reads these files; t_done fails the script on any report no check has shown.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T_DIR/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}:log_path=$T_DIR/sanitizer"
RUSTYNET_WG=${RUSTYNET_WG:-}
[ -z "$RUSTYNET_WG" ] || RUSTYNET_WG=$(realpath -m "$RUSTYNET_WG")

# Addresses and ports of the two-node topology (TEST-NET and CGNAT/ULA ranges only).
U4_A=198.51.100.1
U4_B=198.51.100.2
T4_A=100.64.0.1
T4_B=100.64.0.2
T6_A=fd00:64::1
T6_B=fd00:64::2
PORT_A=51820
PORT_B=51821
TUN_MTU=1420

# ---------------------------------------------------------------- reporting

# check DESCRIPTION CMD...: run CMD, print "ok - DESCRIPTION" or "not ok - DESCRIPTION" followed by
# the tail of CMD's output as "#" lines. Always returns 0: a failed check never aborts the script.
check() { check_ok "$@" || true; }

# check_ok DESCRIPTION CMD...: like check, but returns CMD's status (for `if check_ok ...`).
check_ok() {
	local desc=$1 out rc=0
	shift
	out="$T_DIR/check.out"
	"$@" >"$out" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then
		echo "ok - $desc"
		T_PASS=$((T_PASS + 1))
		return 0
	fi
	echo "not ok - $desc"
	T_FAIL=$((T_FAIL + 1))
	if [ "${VERBOSE:-0}" = 1 ]; then
		sed 's/^/#   /' "$out"
	else
		tail -n 20 "$out" | sed 's/^/#   /'
	fi
	echo "#   (exit status $rc)"
	return 1
}

# not_ok DESCRIPTION [DETAIL...]: report a failure found by the script itself.
not_ok() {
	local desc=$1
	shift
	echo "not ok - $desc"
	T_FAIL=$((T_FAIL + 1))
	local l
	for l in "$@"; do echo "#   $l"; done
}

# ---------------------------------------------------------------- the plan and skips
#
# Every script declares, before its first check, how many check lines (ok, not ok, skip) it
# prints: `plan N` prints "1..N" (TAP's plan line). The runner fails a script that prints another
# number: one that ended early, or gained or lost a check without its plan being updated. A
# number that depends on the implementation pairs or on loops is computed in the plan line
# (`plan_pairs 12 3`, `plan $((3 * 4 + 2))`); a part skipped for a legitimate reason prints one
# skip line per check it would have run, so a developer's skips keep the plan too.

# plan N: declare N check lines; call once, before the first check.
plan() {
	if ! [[ ${1:-} =~ ^[1-9][0-9]*$ ]] || [ -n "$T_PLAN" ] || [ "$(t_count)" != 0 ]; then
		echo "plan: '${1:-}': want one positive number, once, before the first check" >&2
		exit 2
	fi
	T_PLAN=$1
	echo "1..$T_PLAN"
}

# N_PAIRS: how many implementation pairs for_each_pair runs (or skips): one when IMPL_A or IMPL_B
# forces it, else two (rustynet-wg<->wireguard-go both ways).
N_PAIRS=2
[ -z "${IMPL_A:-}${IMPL_B:-}" ] || N_PAIRS=1

# plan_pairs PER_PAIR [EXTRA [PAIRS]]: plan PAIRS (default N_PAIRS) x PER_PAIR + EXTRA lines;
# for_each_pair and hooked_side then print PER_PAIR skip lines for a pair they cannot run.
plan_pairs() {
	T_PAIR_PLAN=$1
	plan $((${3:-$N_PAIRS} * $1 + ${2:-0}))
}

# t_count: check lines printed so far.
t_count() { echo $((T_PASS + T_FAIL + T_SKIP)); }

# skip DESCRIPTION REASON: one skip line; a DESCRIPTION ending in ": all checks" stands for
# every planned check not yet printed (whole-script skips: no root, no binaries). Under CI=true
# a skip is a failure: one "not ok" line with the reason instead.
skip() {
	local n=1
	case $1 in
	*": all checks") [ -z "$T_PLAN" ] || n=$((T_PLAN - $(t_count))) ;;
	esac
	skip_n "$n" "$1" "${2:-no reason given}"
}

# skip_n N DESCRIPTION REASON: N skip lines for one reason (a part of N checks not run).
skip_n() {
	local n=$1 desc=$2 why=$3 i
	if [ "${CI:-}" = true ]; then
		not_ok "$desc" "skipped ($why), and under CI=true a skip is a failure"
		return 0
	fi
	[ "$n" -ge 1 ] || n=1
	echo "skip - $desc ($why)"
	for ((i = 2; i <= n; i++)); do echo "skip - $desc [$i/$n] (same reason)"; done
	T_SKIP=$((T_SKIP + n))
}

# skip_pair_rest DESCRIPTION REASON: skip what is left of the current pair's PER_PAIR checks.
skip_pair_rest() {
	local n=1
	[ -z "$T_PAIR_PLAN" ] || n=$((T_PAIR_PLAN - ($(t_count) - T_PAIR_START)))
	skip_n "$n" "$1" "$2"
}

note() { echo "# $*"; }

# t_done: print this script's tally and exit non-zero if anything failed or the number of check
# lines differs from the plan (the runner says so too).
t_done() {
	san_unreported
	local n
	n=$(t_count)
	note "$TEST_TAG: $T_PASS ok, $T_FAIL not ok, $T_SKIP skipped; planned ${T_PLAN:-(no plan line)}"
	if [ "$n" != "${T_PLAN:-none}" ] && [ "$T_FAIL" = 0 ]; then
		note "$TEST_TAG: planned ${T_PLAN:-nothing (no plan line)}, ran $n: fix the plan line or the script"
		exit 1
	fi
	[ "$T_FAIL" = 0 ] || exit 1
	exit 0
}

# need_root / need_cmds CMD...: skip the whole script (or fail it under CI=true) when unmet.
need_root() {
	if [ "$(id -u)" != 0 ]; then
		skip "$TEST_TAG: all checks" "needs root: network namespaces, TUN devices"
		t_done
	fi
}

need_cmds() {
	local c missing=()
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
	if [ ${#missing[@]} != 0 ]; then
		skip "$TEST_TAG: all checks" "missing tools: ${missing[*]}; run ./scripts/install-deps.sh"
		t_done
	fi
}

# ---------------------------------------------------------------- time and waiting

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# wait_for TIMEOUT CMD...: run CMD every 0.1 s until it succeeds (returns 0) or TIMEOUT seconds
# (integer or decimal) have passed (returns 1 and prints CMD's last output on stderr).
wait_for() {
	local t=$1 deadline
	shift
	deadline=$(($(now_ms) + $(awk -v t="$t" 'BEGIN{printf "%d", t * 1000}')))
	while :; do
		if "$@" >"$T_DIR/wait.out" 2>&1; then return 0; fi
		if [ "$(now_ms)" -ge "$deadline" ]; then
			echo "wait_for: gave up after ${t}s: $*" >&2
			tail -n 10 "$T_DIR/wait.out" >&2
			return 1
		fi
		sleep 0.1
	done
}

# fails_with RC TEXT CMD...: CMD exits with status RC and says TEXT (a fixed string) on stderr.
# Shows CMD's stderr and its status; stdout goes to $T_DIR/out.
fails_with() {
	local want=$1 text=$2 rc=0
	shift 2
	"$@" >"$T_DIR/out" 2>"$T_DIR/err" || rc=$?
	cat "$T_DIR/err"
	echo "exit status $rc (want $want)"
	[ "$rc" = "$want" ] && grep -qF -- "$text" "$T_DIR/err"
}

# db_value DB QUERY: the first column of QUERY's first row, from the SQLite file DB opened
# read-only (a control server's state can be read while it runs).
db_value() {
	python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute(sys.argv[2]).fetchone()[0])' "$1" "$2"
}

# ---------------------------------------------------------------- namespaces and links

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ns_add NAME: new namespace with lo up, deleted by cleanup.
ns_add() {
	ip netns add "$1" || return 1
	T_NS+=("$1")
	ip -n "$1" link set lo up
}

# ns_del NAME: kill what runs in it (TERM, then KILL), delete it.
ns_del() {
	local ns=$1 pids i keep=()
	pids=$(ip netns pids "$ns" 2>/dev/null || true)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		kill -TERM $pids 2>/dev/null || true
		for i in $(seq 50); do
			[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
			sleep 0.1
		done
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
	for i in "${T_NS[@]}"; do [ "$i" = "$ns" ] || keep+=("$i"); done
	T_NS=(${keep[@]+"${keep[@]}"})
}

# veth_add NS1 IF1 NS2 IF2: a veth pair, both ends up (the pair is created in place).
veth_add() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# addr_add NS IFACE CIDR: IPv6 addresses get nodad so they are usable at once.
addr_add() {
	case $3 in
	*:*) ip -n "$1" addr add "$3" dev "$2" nodad ;;
	*) ip -n "$1" addr add "$3" dev "$2" ;;
	esac
}

# ---------------------------------------------------------------- keys

# wg_keypair NAME: $T_DIR/NAME.key (private) and sets KEY_NAME=<that file>, PUB_NAME=<public key>.
wg_keypair() {
	local k="$T_DIR/$1.key"
	(umask 077 && wg genkey >"$k") || return 1
	printf -v "KEY_$1" '%s' "$k"
	printf -v "PUB_$1" '%s' "$(wg pubkey <"$k")"
}

# wg_psk NAME: a preshared key in $T_DIR/NAME.psk; sets PSK_NAME=<that file>.
wg_psk() {
	local k="$T_DIR/$1.psk"
	(umask 077 && wg genpsk >"$k") || return 1
	printf -v "PSK_$1" '%s' "$k"
}

# ---------------------------------------------------------------- WireGuard implementations

# impl_bin IMPL: the executable to run for IMPL (wireguard-go or a path).
impl_bin() {
	case $1 in
	wireguard-go) command -v wireguard-go || { echo "wireguard-go not installed" >&2; return 1; } ;;
	*)
		if [ ! -f "$1" ] || [ ! -x "$1" ]; then
			echo "not an executable: $1" >&2
			return 1
		fi
		realpath "$1"
		;;
	esac
}

# impl_name IMPL: short label (wireguard-go, rustynet-wg).
impl_name() { case $1 in wireguard-go) echo wireguard-go ;; *) basename "$1" ;; esac; }

# is_wggo IMPL
is_wggo() { [ "$1" = wireguard-go ]; }

# rn_available: RUSTYNET_WG points at an executable.
rn_available() { [ -n "$RUSTYNET_WG" ] && [ -f "$RUSTYNET_WG" ] && [ -x "$RUSTYNET_WG" ]; }

# rn_has_test_hooks [BIN]: BIN (default $RUSTYNET_WG) honours RUSTYNET_WG_TIME_SCALE and
# RUSTYNET_WG_FORCE_UNDER_LOAD. RUSTYNET_WG_TEST_HOOKS=1/0 decides; otherwise the meson option
# test_hooks of the build dir the binary lives in (BUILD/src/rustynet-wg/rustynet-wg).
rn_has_test_hooks() {
	local bin=${1:-$RUSTYNET_WG} f
	case ${RUSTYNET_WG_TEST_HOOKS:-} in
	1 | true | yes) return 0 ;;
	0 | false | no) return 1 ;;
	esac
	[ -n "$bin" ] && [ -x "$bin" ] || return 1
	f="$(dirname "$(realpath "$bin")")/../../meson-info/intro-buildoptions.json"
	[ -f "$f" ] || return 1
	python3 - "$f" <<-'EOF'
		import json, sys
		opts = {o["name"]: o["value"] for o in json.load(open(sys.argv[1]))}
		sys.exit(0 if opts.get("test_hooks") is True else 1)
	EOF
}

# wg_start NS IFNAME IMPL [VAR=VALUE...]: start IMPL in NS, foreground (WG_PROCESS_FOREGROUND=1
# and -f), in the background of this script, with extra environment VAR=VALUE; log to
# $T_DIR/IFNAME.log. Returns 0 once /var/run/wireguard/IFNAME.sock answers `wg show IFNAME`,
# 1 if the daemon exits or does not answer within 15 s.
wg_start() {
	local ns=$1 ifn=$2 impl=$3 bin log sock pid deadline
	shift 3
	bin=$(impl_bin "$impl") || return 1
	[ ${#ifn} -le 15 ] || { echo "wg_start: interface name too long: $ifn" >&2; return 1; }
	log="$T_DIR/$ifn.log"
	sock="$UAPI_DIR/$ifn.sock"
	if [ -e "$sock" ]; then
		echo "wg_start: $sock already exists (another daemon with this name?)" >&2
		return 1
	fi
	T_SOCKS+=("$sock")
	ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL="${WG_LOG_LEVEL:-error}" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" "$@" \
		"$bin" -f "$ifn" >"$log" 2>&1 </dev/null &
	pid=$!
	T_BG+=("$pid")
	WG_PID[$ifn]=$pid
	WG_LOG[$ifn]=$log
	WG_NS[$ifn]=$ns
	WG_IMPL[$ifn]=$impl
	deadline=$(($(now_ms) + 15000))
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "wg_start: $(impl_name "$impl") for $ifn in $ns exited early; its log:" >&2
			tail -n 20 "$log" >&2
			return 1
		fi
		if ip netns exec "$ns" wg show "$ifn" >/dev/null 2>&1 &&
			ip -n "$ns" link show "$ifn" >/dev/null 2>&1; then
			return 0
		fi
		if [ "$(now_ms)" -ge "$deadline" ]; then
			echo "wg_start: $sock did not answer within 15 s; log:" >&2
			tail -n 20 "$log" >&2
			return 1
		fi
		sleep 0.05
	done
}

# both_alive: the daemons of IF_A and IF_B are running and answer.
both_alive() { wg_alive "$IF_A" && wg_alive "$IF_B"; }

# wg_alive IFNAME: its daemon is still running and answers on its UAPI socket.
wg_alive() {
	local ifn=$1
	kill -0 "${WG_PID[$ifn]}" 2>/dev/null || { echo "daemon for $ifn (pid ${WG_PID[$ifn]}) is gone" >&2; return 1; }
	ip netns exec "${WG_NS[$ifn]}" wg show "$ifn" >/dev/null || { echo "UAPI of $ifn does not answer" >&2; return 1; }
}

# wg_stop IFNAME: SIGTERM its daemon, wait up to 5 s, then SIGKILL; remove the UAPI socket.
wg_stop() {
	local ifn=$1 pid i
	pid=${WG_PID[$ifn]:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$UAPI_DIR/$ifn.sock"
	unset "WG_PID[$ifn]"
}

# wg_log_clean IFNAME: no sanitizer report, Go panic or fatal error in the daemon's log, and no
# sanitizer report file (san_clean); prints the first report with the lines after it (the
# stack) otherwise. Run it after wg_stop: LeakSanitizer reports at exit.
wg_log_clean() {
	local log=${WG_LOG[$1]:-} re='ERROR: [A-Za-z]+Sanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer|^panic:|^fatal error:'
	[ -f "$log" ] || { echo "wg_log_clean: no log for $1" >&2; return 1; }
	if grep -qE "$re" "$log"; then
		echo "$(grep -cE "$re" "$log") report line(s); the first one and what follows it:" >&2
		grep -m 1 -A 14 -E "$re" "$log" >&2
		echo "(whole log kept with KEEP_TMP=1 or KEEP_TMP=failed: $log)" >&2
		return 1
	fi
	san_clean
}

# logs_clean LOG...: each LOG exists and holds no sanitizer report, and no sanitizer report file
# exists (san_clean). For processes the script has stopped already.
logs_clean() {
	local f bad=0 re='ERROR: [A-Za-z]+Sanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer'
	for f in "$@"; do
		if [ ! -f "$f" ]; then
			echo "no log $f" >&2
			bad=1
		elif grep -qE "$re" "$f"; then
			echo "$f:" >&2
			grep -m 1 -A 14 -E "$re" "$f" >&2
			bad=1
		fi
	done
	san_clean || bad=1
	return $bad
}

# san_clean: no sanitizer report file ($T_DIR/sanitizer.PID, see ASAN_OPTIONS above) from any
# process of this script; prints the start of each report otherwise. Call it after the
# daemons have stopped, since LeakSanitizer reports when a process exits.
san_clean() {
	local f bad=0
	for f in "$T_DIR"/sanitizer.*; do
		[ -e "$f" ] || continue
		echo "sanitizer report from process ${f##*.} ($f):" >&2
		head -n 40 "$f" >&2
		T_SAN_REPORTED[$f]=1
		bad=1
	done
	return $bad
}

# san_unreported: a not-ok line for sanitizer reports no check has shown (a CLI's leak after
# the last check, a script without a log check); nothing when there are none.
san_unreported() {
	local f
	for f in "$T_DIR"/sanitizer.*; do
		if [ ! -e "$f" ] || [ -n "${T_SAN_REPORTED[$f]:-}" ]; then continue; fi
		T_SAN_REPORTED[$f]=1
		not_ok "$TEST_TAG: sanitizer report from process ${f##*.}" "(kept with KEEP_TMP=failed: $f)"
		head -n 20 "$f" | sed 's/^/#   /'
	done
}

# wg_log_tail IFNAME [N]: print the last N lines of the daemon log as comments.
wg_log_tail() {
	local log=${WG_LOG[$1]:-} n=${2:-15}
	[ -n "$log" ] && [ -s "$log" ] || return 0
	echo "# --- last $n lines of $(impl_name "${WG_IMPL[$1]}") log ($1):"
	tail -n "$n" "$log" | sed 's/^/#   /'
}

# wgq NS IFNAME WHAT: `wg show IFNAME WHAT` for the first peer, without the public key column.
wgq() { ip netns exec "$1" wg show "$2" "$3" | head -n 1 | cut -f 2-; }

# wg_hs NS IFNAME: latest handshake (unix seconds, 0 = never) of the first peer.
wg_hs() { wgq "$1" "$2" latest-handshakes; }

# has_handshake NS IFNAME: the first peer has a handshake no older than 180 s (printed).
has_handshake() {
	local hs now
	hs=$(wg_hs "$1" "$2") || return 1
	now=$(date +%s)
	echo "latest handshake: $hs (now $now)"
	[ -n "$hs" ] && [ "$hs" -gt 0 ] && [ $((now - hs)) -le 180 ]
}

# no_handshake NS IFNAME: no peer of IFNAME has ever completed a handshake.
no_handshake() {
	local out
	out=$(ip netns exec "$1" wg show "$2" latest-handshakes) || return 1
	echo "latest-handshakes: $out"
	! echo "$out" | awk '$2 != 0 {bad=1} END {exit !bad}'
}

# ---------------------------------------------------------------- captures

# capture_start NS IFACE [FILTER...]: tcpdump -U --immediate-mode -w into a new file ($CAPTURE_FILE);
# --immediate-mode: without it libpcap (TPACKET_V3) holds packets in a ring block for up to 1 s
# and a capture stopped right after the traffic loses them. Returns once
# tcpdump prints "listening on".
capture_start() {
	local ns=$1 ifc=$2 err pid deadline
	shift 2
	T_CAPN=$((T_CAPN + 1))
	CAPTURE_FILE="$T_DIR/cap$T_CAPN.pcap"
	err="$T_DIR/cap$T_CAPN.err"
	ip netns exec "$ns" tcpdump -U --immediate-mode -n -s 0 -i "$ifc" -w "$CAPTURE_FILE" "$@" 2>"$err" </dev/null &
	pid=$!
	T_BG+=("$pid")
	T_CAP_PID[$CAPTURE_FILE]=$pid
	deadline=$(($(now_ms) + 10000))
	until grep -q "listening on" "$err" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null || [ "$(now_ms)" -ge "$deadline" ]; then
			echo "capture_start: tcpdump on $ns/$ifc did not start:" >&2
			cat "$err" >&2
			return 1
		fi
		sleep 0.05
	done
}

# capture_stop [FILE]: stop the capture writing FILE (default: the latest one).
capture_stop() {
	local f=${1:-$CAPTURE_FILE} pid i
	pid=${T_CAP_PID[$f]:-}
	[ -n "$pid" ] || return 0
	kill -INT "$pid" 2>/dev/null || true
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "T_CAP_PID[$f]"
}

# capture_count FILE [FILTER...]: number of packets in FILE matching FILTER (works while running).
# Fails, printing nothing on stdout and tcpdump's complaint on stderr, when tcpdump cannot
# answer (a filter that does not compile, an empty MAC address in it, a missing or unreadable
# file): "0 packets" must never come from a count that did not happen. Use it as
# `n=$(capture_count ...) || return 1`.
capture_count() {
	local f=$1 out err rc=0
	shift
	err="$T_DIR/capture_count.err"
	out=$(tcpdump -r "$f" -n "$@" 2>"$err") || rc=$?
	# a capture still being written may end in a partial packet record: the packets before it
	# count (a file without even its file header is an error: the capture never ran)
	if [ "$rc" != 0 ] && ! grep -qE "truncated dump file; tried to read [0-9]+ (header|captured)" "$err"; then
		echo "capture_count: tcpdump -r $f '$*' failed (exit status $rc):" >&2
		cat "$err" >&2
		return 1
	fi
	if [ -z "$out" ]; then echo 0; else echo "$out" | wc -l; fi
}

# capture_canary NS IFACE: one ICMPv6 echo request to ff02::1 (all nodes, link-local: a kill
# switch lets it out and no leak filter counts it), sent by NS on IFACE. A capture asserted to
# hold "no leak" from NS also asserts canary_count > 0: it did see NS's own packets, with the
# MAC address the leak filter uses.
capture_canary() { nsx "$1" ping -6 -n -c 1 -W 0.2 -I "$2" ff02::1 >/dev/null 2>&1 || true; }
# canary_count FILE MAC: capture_canary's packets sent from MAC in FILE.
canary_count() { capture_count "$1" "ether src $2 and icmp6 and ip6[40] == 128 and dst host ff02::1"; }

# capture_has FILE MIN [FILTER...]: FILE holds at least MIN packets matching FILTER.
capture_has() {
	local f=$1 min=$2 n
	shift 2
	n=$(capture_count "$f" "$@") || return 1
	echo "$n packet(s) matching '$*' in $(basename "$f")"
	[ "$n" -ge "$min" ]
}

# ---------------------------------------------------------------- traffic

# tcp_get NS ADDR PORT [SECONDS]: what the TCP listener at ADDR:PORT sends (IPv6 ADDR without
# brackets), within SECONDS (2). The probe sends no bytes: `echo hi | socat - TCP:...` raced the
# listener's SYSTEM:'echo ...' child, whose close with "hi" unread reset the connection and lost
# the answer about one time in eight. It does half-close at once (stdin is empty), so a listener
# that reads to the end (exit_listen's) finishes at once, not after socat -u's 2 s idle timeout.
tcp_get() {
	local a=$2 v='' t=${4:-2}
	case $a in *:*) a="[$a]" v=6 ;; esac
	timeout $((t + 1)) ip netns exec "$1" socat -T "$t" -t "$t" "TCP$v:$a:$3,connect-timeout=$t" - \
		</dev/null 2>/dev/null
}

# udp_serve NS ADDR PORT REPLY: a UDP listener on ADDR:PORT in NS (background) answering every
# datagram with REPLY, or with "from <sender address>" when REPLY is "from". One process: socat's
# UDP-RECVFROM,fork lost about one datagram in four to a forked child still holding the socket.
udp_serve() {
	nsx "$1" python3 -c 'import socket, sys
a, p, r = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((a, p))
while True:
    d, src = s.recvfrom(4096)
    s.sendto((("from " + src[0]) if r == "from" else r).encode() + b"\n", src)' "$2" "$3" "$4" \
		>/dev/null 2>&1 </dev/null &
	T_BG+=("$!")
}

# udp_get NS ADDR PORT [SECONDS]: sends "hi" to ADDR:PORT and prints the first answer, waiting
# up to SECONDS (2) for it. `echo hi | socat - UDP:...` gave up 0.5 s after its stdin ended
# (socat's -t), before a loaded listener's SYSTEM child had answered.
udp_get() {
	local t=${4:-2}
	timeout $((t + 1)) ip netns exec "$1" python3 -c 'import socket, sys
a, p, t = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(t)
s.sendto(b"hi\n", (a, p))
print(s.recv(2048).decode(errors="replace").strip())' "$2" "$3" "$t" 2>/dev/null
}

# ping_ok NS DST [ping options]: a few pings get through (deadline 5 s).
ping_ok() {
	local ns=$1 dst=$2
	shift 2
	ip netns exec "$ns" ping -n -c 3 -i 0.2 -w 5 "$@" "$dst"
}

# ping_fails NS DST [ping options]: 3 pings in ~2 s, none answered.
ping_fails() {
	local ns=$1 dst=$2
	shift 2
	if ip netns exec "$ns" ping -n -c 3 -i 0.3 -W 1 -w 2 "$@" "$dst"; then
		echo "ping to $dst from $ns was answered" >&2
		return 1
	fi
	return 0
}

# ping_until NS DST TIMEOUT: poll single pings until one is answered.
ping_until() { wait_for "$3" ip netns exec "$1" ping -n -c 1 -W 1 "$2"; }

T_IPERF_PORT=5200
# iperf_run NS_CLIENT NS_SERVER DST SECONDS [iperf3 client options]: TCP transfer; prints the
# received Gbit/s on stdout (3 decimals). The server runs one test (-1) on a fresh port.
iperf_run() {
	local nc=$1 ns=$2 dst=$3 t=$4 port json
	shift 4
	T_IPERF_PORT=$((T_IPERF_PORT + 1))
	port=$T_IPERF_PORT
	ip netns exec "$ns" iperf3 -s -1 -D -p "$port" >/dev/null 2>&1 || return 1
	wait_for 10 iperf_listening "$ns" "$port" || return 1
	json="$T_DIR/iperf.$port.json"
	ip netns exec "$nc" timeout $((t + 30)) iperf3 -c "$dst" -p "$port" -t "$t" -J "$@" >"$json" || {
		echo "iperf3 client failed:" >&2
		tail -n 20 "$json" >&2
		return 1
	}
	python3 - "$json" <<-'EOF'
		import json, sys
		d = json.load(open(sys.argv[1]))
		print("%.3f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))
	EOF
}

iperf_listening() { [ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]; }

# ---------------------------------------------------------------- packet tool (python3, stdlib only)
# py_wg SUBCOMMAND ARGS...: run the embedded helper (in the current namespace; prefix with nsx).
#   udp PCAP                         one line per UDP packet: INDEX SRC SPORT DST DPORT LEN HEXPAYLOAD
#   replay PCAP INDEX IFACE COUNT    send frame INDEX of an Ethernet capture COUNT times on IFACE (AF_PACKET)
#   send-udp ADDR PORT TEXT [N]      send TEXT as N UDP datagrams to ADDR:PORT
#   flood ADDR PORT SECONDS PUBKEY [RXIDX]
#                                    full-speed junk: truncated/oversized/random messages of every
#                                    type, initiations/responses with a valid mac1 for PUBKEY,
#                                    transport messages with receiver index RXIDX (hex) and random
#                                    counters/ciphertext. Prints "sent N datagrams in S s".
T_PY=$(
	cat <<'PYEOF'
import base64, hashlib, os, random, socket, struct, sys, time

def pcap_frames(path):
    data = open(path, "rb").read()
    if len(data) < 24:
        return
    m = data[:4]
    if m in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif m in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        sys.exit("not a pcap file: " + path)
    link = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        off += 16
        yield link, data[off:off + incl]
        off += incl

def ip_of(link, f):
    if link == 1:  # Ethernet
        et, p = struct.unpack(">H", f[12:14])[0], f[14:]
        if et == 0x8100:
            et, p = struct.unpack(">H", f[16:18])[0], f[18:]
        return p if et in (0x0800, 0x86DD) else None
    if link == 113:  # Linux cooked
        return f[16:]
    if link == 276:  # Linux cooked v2
        return f[20:]
    if link in (12, 14, 101, 228, 229):  # raw IP
        return f
    return None

def udp_of(ip):
    if not ip:
        return None
    v = ip[0] >> 4
    if v == 4 and len(ip) >= 20 and ip[9] == 17:
        hl = (ip[0] & 15) * 4
        s, d, u = socket.inet_ntop(socket.AF_INET, ip[12:16]), socket.inet_ntop(socket.AF_INET, ip[16:20]), ip[hl:]
    elif v == 6 and len(ip) >= 40 and ip[6] == 17:
        s, d, u = socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40]), ip[40:]
    else:
        return None
    if len(u) < 8:
        return None
    sp, dp, ln = struct.unpack(">HHH", u[:6])
    return s, sp, d, dp, u[8:ln]

def cmd_udp(path):
    for i, (link, f) in enumerate(pcap_frames(path)):
        r = udp_of(ip_of(link, f))
        if r:
            s, sp, d, dp, pl = r
            print(i, s, sp, d, dp, len(pl), pl.hex())

def cmd_replay(path, index, iface, count):
    frames = list(pcap_frames(path))
    link, f = frames[int(index)]
    if link != 1:
        sys.exit("replay needs an Ethernet capture (linktype %d)" % link)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for _ in range(int(count)):
        s.send(f)
    print("replayed frame %s (%d bytes) %s times on %s" % (index, len(f), count, iface))

def cmd_send_udp(addr, port, text, n="1"):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    for _ in range(int(n)):
        s.sendto(text.encode(), (addr, int(port)))

def cmd_flood(addr, port, secs, pub_b64, rxidx=""):
    rnd = random.Random(int.from_bytes(os.urandom(8), "little"))
    rb = rnd.randbytes
    mk = hashlib.blake2s(b"mac1----" + base64.b64decode(pub_b64)).digest()
    mac1 = lambda m: hashlib.blake2s(m, key=mk, digest_size=16).digest()
    idx = bytes.fromhex(rxidx) if rxidx else None
    full = {1: 148, 2: 92, 3: 64, 4: 32}
    def init(valid):
        b = b"\x01\0\0\0" + rb(112)
        return b + (mac1(b) if valid else rb(16)) + (rb(16) if rnd.random() < 0.5 else bytes(16))
    def resp(valid):
        b = b"\x02\0\0\0" + rb(56)
        return b + (mac1(b) if valid else rb(16)) + bytes(16)
    def data(real):
        i = idx if (real and idx) else rb(4)
        n = rnd.choice([0, 1, 15, 16, 17, 64, 1420, 1436, 2000])
        ctr = rnd.choice([0, 1, 2**64 - 1, 2**64 - 2**13, rnd.getrandbits(64)])
        return b"\x04\0\0\0" + i + struct.pack("<Q", ctr) + rb(n)
    pool = [b"", rb(65000)]
    for _ in range(3000):
        k = rnd.randrange(12)
        if k == 0:
            m = init(True)
        elif k == 1:
            m = init(False)
        elif k == 2:
            m = resp(rnd.random() < 0.5)
        elif k == 3:
            m = b"\x03\0\0\0" + rb(60)
        elif k in (4, 5):
            m = data(True)
        elif k == 6:
            m = data(False)
        elif k == 7:  # truncated message of a known type
            t = rnd.randint(1, 4)
            m = bytes([t]) + rb(rnd.randrange(0, full[t] - 1))
        elif k == 8:  # known type, too long
            t = rnd.randint(1, 3)
            m = bytes([t, 0, 0, 0]) + rb(full[t] - 4 + rnd.randint(1, 64))
        elif k == 9:  # nonzero reserved bytes
            m = bytearray(init(True) if rnd.random() < 0.5 else data(True))
            m[rnd.randint(1, 3)] = rnd.randint(1, 255)
            m = bytes(m)
        elif k == 10:  # unknown type
            m = bytes([rnd.choice([0, 5, 6, 0x7F, 0x80, 0xFF])]) + rb(rnd.randrange(0, 200))
        else:  # random bytes of random length
            m = rb(rnd.randrange(0, 300))
        pool.append(m)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    dst = (addr, int(port))
    n, t0 = 0, time.monotonic()
    end = t0 + float(secs)
    while time.monotonic() < end:
        rnd.shuffle(pool)
        for m in pool:
            try:
                s.sendto(m, dst)
                n += 1
            except OSError:
                pass
    print("sent %d datagrams in %.1f s" % (n, time.monotonic() - t0))

cmds = {"udp": cmd_udp, "replay": cmd_replay, "send-udp": cmd_send_udp, "flood": cmd_flood}
cmds[sys.argv[1]](*sys.argv[2:])
PYEOF
)
py_wg() { python3 -c "$T_PY" "$@"; }

# wire_log PCAP: one line per WireGuard handshake/cookie message: "SRC TYPE MAC2_NONZERO(0/1)".
wire_log() {
	py_wg udp "$1" | awk '{
		t = substr($7, 1, 2) + 0
		mac2 = (t == 1 || t == 2) ? substr($7, length($7) - 31) : ""
		nz = (mac2 != "" && mac2 !~ /^0+$/) ? 1 : 0
		if (t >= 1 && t <= 3) print $2, t, nz
	}'
}

# n_msgs LOG SRC TYPE [MAC2]: count lines of wire_log output.
n_msgs() { awk -v s="$2" -v t="$3" -v m="${4:-}" '$1 == s && $2 == t && (m == "" || $3 == m) {n++} END {print n + 0}' "$1"; }

# msgs_cmp LOG SRC TYPE OP N [MAC2]: the count of those messages compares to N (OP: ge, eq).
msgs_cmp() {
	local n
	n=$(n_msgs "$1" "$2" "$3" "${6:-}")
	echo "$n type-$3 message(s)${6:+ with mac2=$6} from $2 (want -$4 $5)"
	case $4 in
	ge) [ "$n" -ge "$5" ] ;;
	*) [ "$n" -eq "$5" ] ;;
	esac
}

# udp_payload_count PCAP HEX: packets in PCAP whose UDP payload is exactly HEX.
udp_payload_count() { py_wg udp "$1" | awk -v h="$2" '$7 == h {n++} END {print n + 0}'; }

# ---------------------------------------------------------------- the two-node topology
#
#   ns A ($NS_A)                                  ns B ($NS_B)
#   +-------------------------------+            +-------------------------------+
#   | $IF_A  100.64.0.1/24          |            | $IF_B  100.64.0.2/24          |
#   |        fd00:64::1/64          |  WireGuard |        fd00:64::2/64          |
#   |        (IMPL_A, port 51820)   |<==========>|        (IMPL_B, port 51821)   |
#   | va     198.51.100.1/24 -------+----veth----+------ vb 198.51.100.2/24       |
#   +-------------------------------+            +-------------------------------+

# pair_netns: fresh namespaces NS_A, NS_B and the veth va/vb between them.
pair_netns() {
	T_ROUND=$((T_ROUND + 1))
	T_ROUND_FAIL=$T_FAIL
	NS_A="$T_ID-${T_ROUND}a"
	NS_B="$T_ID-${T_ROUND}b"
	ns_add "$NS_A" && ns_add "$NS_B" || return 1
	veth_add "$NS_A" va "$NS_B" vb || return 1
	addr_add "$NS_A" va "$U4_A/24" && addr_add "$NS_B" vb "$U4_B/24"
}

# shellcheck disable=SC2154 # KEY_a, KEY_b, PUB_a, PUB_b are set by wg_keypair
# pair_wg IMPL_A IMPL_B: new key pairs (KEY_a/PUB_a, KEY_b/PUB_b), daemons IF_A in NS_A and IF_B in
# NS_B with private key, listen port and tunnel addresses, MTU 1420, up; no peers yet.
# Extra daemon environment: arrays ENV_A / ENV_B (VAR=VALUE words), if set.
pair_wg() {
	local ia=$1 ib=$2
	T_WGN=$((T_WGN + 1))
	IF_A="rn$$${T_WGN}a"
	IF_B="rn$$${T_WGN}b"
	wg_keypair a && wg_keypair b || return 1
	wg_start "$NS_A" "$IF_A" "$ia" ${ENV_A[@]+"${ENV_A[@]}"} || return 1
	wg_start "$NS_B" "$IF_B" "$ib" ${ENV_B[@]+"${ENV_B[@]}"} || return 1
	nsx "$NS_A" wg set "$IF_A" private-key "$KEY_a" listen-port "$PORT_A" || return 1
	nsx "$NS_B" wg set "$IF_B" private-key "$KEY_b" listen-port "$PORT_B" || return 1
	tun_addrs "$NS_A" "$IF_A" "$T4_A" "$T6_A" && tun_addrs "$NS_B" "$IF_B" "$T4_B" "$T6_B"
}

# tun_addrs NS IFNAME V4 V6: tunnel addresses (/24, /64), MTU 1420, up.
tun_addrs() {
	addr_add "$1" "$2" "$3/24" && addr_add "$1" "$2" "$4/64" &&
		ip -n "$1" link set "$2" mtu "$TUN_MTU" up
}

# shellcheck disable=SC2154 # PUB_a, PUB_b are set by wg_keypair
# pair_peers [PSK_FILE_A [PSK_FILE_B]]: each side gets the other as its peer, with the other's
# tunnel addresses as allowed IPs and its underlay address as endpoint; optional preshared keys.
pair_peers() {
	local pa=() pb=()
	[ -z "${1:-}" ] || pa=(preshared-key "$1")
	[ -z "${2:-${1:-}}" ] || pb=(preshared-key "${2:-$1}")
	nsx "$NS_A" wg set "$IF_A" peer "$PUB_b" allowed-ips "$T4_B/32,$T6_B/128" \
		endpoint "$U4_B:$PORT_B" ${pa[@]+"${pa[@]}"} || return 1
	nsx "$NS_B" wg set "$IF_B" peer "$PUB_a" allowed-ips "$T4_A/32,$T6_A/128" \
		endpoint "$U4_A:$PORT_A" ${pb[@]+"${pb[@]}"}
}

# pair_setup IMPL_A IMPL_B [PSK_FILE]: pair_netns + pair_wg + pair_peers.
pair_setup() {
	pair_netns && pair_wg "$1" "$2" && pair_peers "${3:-}"
}

# pair_wg_down: stop both daemons, checking their logs are free of sanitizer reports and panics;
# on failures in this round print the daemon logs' tails.
pair_wg_down() {
	local label=${1:-$TEST_TAG} ifn
	for ifn in "${IF_A:-}" "${IF_B:-}"; do
		if [ -z "$ifn" ] || [ -z "${WG_PID[$ifn]:-}" ]; then continue; fi
		if [ "$T_FAIL" != "$T_ROUND_FAIL" ]; then wg_log_tail "$ifn"; fi
		wg_stop "$ifn"
		check "$label: $(impl_name "${WG_IMPL[$ifn]}") ($ifn) log has no sanitizer report or panic" wg_log_clean "$ifn"
	done
}

# pair_down [LABEL]: pair_wg_down and delete both namespaces.
pair_down() {
	pair_wg_down "${1:-$TEST_TAG}"
	local ns
	for ns in "${NS_A:-}" "${NS_B:-}" "${NS_C:-}"; do
		[ -n "$ns" ] && ns_del "$ns"
	done
	NS_C=
}

# ---------------------------------------------------------------- implementation pairs

# for_each_pair FUNC: call FUNC IMPL_A IMPL_B for each pair to test:
#   - IMPL_A / IMPL_B set in the environment: that one pair (unset one = wireguard-go);
#   - else, RUSTYNET_WG executable: rustynet-wg<->wireguard-go, then wireguard-go<->rustynet-wg;
#   - else print skip lines for those two pairs.
for_each_pair() {
	local f=$1 pairs=() i
	if [ -n "${IMPL_A:-}${IMPL_B:-}" ]; then
		pairs=("${IMPL_A:-wireguard-go}" "${IMPL_B:-wireguard-go}")
	elif rn_available; then
		pairs=("$RUSTYNET_WG" wireguard-go wireguard-go "$RUSTYNET_WG")
	else
		local why="rustynet-wg not built: ${RUSTYNET_WG:-RUSTYNET_WG unset}; IMPL_A=wireguard-go IMPL_B=wireguard-go validates the scenario"
		skip_n "${T_PAIR_PLAN:-1}" "$TEST_TAG [A=rustynet-wg B=wireguard-go]" "$why"
		skip_n "${T_PAIR_PLAN:-1}" "$TEST_TAG [A=wireguard-go B=rustynet-wg]" "$why"
		return 0
	fi
	for ((i = 0; i < ${#pairs[@]}; i += 2)); do
		T_PAIR_START=$(t_count)
		"$f" "${pairs[i]}" "${pairs[i + 1]}"
	done
}

# hooked_side LABEL IMPL_A IMPL_B: sets HOOKED to A or B, the side running rustynet-wg built with
# test hooks (RUSTYNET_WG_TIME_SCALE, RUSTYNET_WG_FORCE_UNDER_LOAD; A if both), and returns 0.
# Otherwise prints a skip line for LABEL and returns 1. HOOKS_SELFTEST=1 accepts wireguard-go as
# the hooked side (it ignores the variables): only to check a script's plumbing.
hooked_side() {
	local label=$1 ia=$2 ib=$3
	HOOKED=
	if [ "${HOOKS_SELFTEST:-0}" = 1 ]; then
		HOOKED=A
		note "HOOKS_SELFTEST=1: side A ($(impl_name "$ia")) plays the hooked side; hook-dependent checks are not meaningful"
		return 0
	fi
	if ! is_wggo "$ia"; then
		HOOKED=A
	elif ! is_wggo "$ib"; then
		HOOKED=B
	else
		skip_pair_rest "$label" "needs rustynet-wg with test hooks on one side; wireguard-go's timers and load state cannot be forced"
		return 1
	fi
	local hb=$ia
	[ "$HOOKED" = A ] || hb=$ib
	if ! rn_has_test_hooks "$hb"; then
		skip_pair_rest "$label" "$hb was not built with -Dtest_hooks=true (use the build-test dir)"
		HOOKED=
		return 1
	fi
}

# pair_label IMPL_A IMPL_B: "A=rustynet-wg B=wireguard-go"
pair_label() { echo "A=$(impl_name "$1") B=$(impl_name "$2")"; }

# ---------------------------------------------------------------- cleanup

# t_ours PID: PID is still a process this script started (its child, or in its process group:
# the runner's timeout gives each script a group of its own), not a later process that the
# kernel gave the number of one that ended (another script's daemon, when scripts run in
# parallel).
t_ours() {
	local stat f
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	read -r -a f <<<"${stat##*) }" # state ppid pgrp ...: after the command name, which may hold spaces
	[ "${f[1]}" = "$$" ] || [ "${f[2]}" = "$(t_pgrp)" ]
}
t_pgrp() {
	local stat f
	stat=$(cat /proc/$$/stat)
	read -r -a f <<<"${stat##*) }"
	echo "${f[2]}"
}

cleanup() {
	set +e
	[ "$T_CLEANED" = 1 ] && return 0
	T_CLEANED=1
	local f ns pid s
	for f in "${!T_CAP_PID[@]}"; do capture_stop "$f"; done
	for ns in "${T_NS[@]}"; do ns_del "$ns"; done
	for pid in "${T_BG[@]}"; do
		t_ours "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for s in "${T_SOCKS[@]}"; do rm -f "$s"; done
	if [ "${KEEP_TMP:-0}" = 1 ] || { [ "${KEEP_TMP:-0}" = failed ] && [ "$T_FAIL" != 0 ]; }; then
		echo "# kept $T_DIR (daemon logs, captures)"
	else
		rm -rf "$T_DIR"
	fi
	return 0
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
