#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# release-hooks: what ships has no test hooks. The release build (`make`: --buildtype=release)
# of rustynet-wg ignores RUSTYNET_WG_TIME_SCALE (no re-key within the scaled REKEY_AFTER_TIME) and
# RUSTYNET_WG_FORCE_UNDER_LOAD (an initiation gets a handshake response, not a cookie reply),
# while the test build (build-test, -Dtest_hooks=true) given the same variables on the same rig
# does the opposite: the hooks are alive, so their absence in the release build is meaningful.
# And meson refuses -Dtest_hooks=true with --buildtype=release.
#
#   ns A                                          ns B
#   +-------------------------------+            +-------------------------------+
#   | IF_A  100.64.0.1/24           |  WireGuard |  IF_B  100.64.0.2/24          |
#   |  rustynet-wg (release | test) |<==========>|  wireguard-go, udp 51821      |
#   |  + the hook variable, udp 51820            |                               |
#   | va    198.51.100.1/24 --------+----veth----+------ vb 198.51.100.2/24      |
#   +-------------------------------+            +-------------------------------+
#
# Needs RUSTYNET_WG (a test build) and RUSTYNET_WG_RELEASE (the release build's rustynet-wg; the
# runner sets it with --release-build). HOOK_SCALE (20: REKEY_AFTER_TIME 120 s becomes 6 s) and
# HOOK_WINDOW (10 s of pings: the test build re-keys once in it, the release build must not).
set -eu
TEST_TAG=relhooks
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan 26
need_root
need_cmds wg wireguard-go ip ping tcpdump meson

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REL=${RUSTYNET_WG_RELEASE:-}
HOOK_SCALE=${HOOK_SCALE:-20}
HOOK_WINDOW=${HOOK_WINDOW:-10}
if ! rn_available || ! rn_has_test_hooks "$RUSTYNET_WG"; then
	skip "$TEST_TAG: all checks" "RUSTYNET_WG (${RUSTYNET_WG:-unset}) is not a test build with -Dtest_hooks=true"
	t_done
fi
if [ -z "$REL" ] || [ ! -x "$REL" ] || rn_has_test_hooks "$REL"; then
	skip "$TEST_TAG: all checks" "RUSTYNET_WG_RELEASE (${REL:-unset}) is not a release build's rustynet-wg (run-tests.sh --release-build build)"
	t_done
fi

# ---------------------------------------------------------------- meson refuses hooks in release
# meson_setup DIR ARGS...: configure the source tree into a fresh DIR (nothing is compiled).
meson_setup() {
	local d=$1
	shift
	meson setup "$T_DIR/$d" "$ROOT" "$@" >"$T_DIR/$d.log" 2>&1
}
refused() {
	if meson_setup rel-hooks --buildtype=release -Dtest_hooks=true; then
		echo "meson setup --buildtype=release -Dtest_hooks=true succeeded"
		return 1
	fi
	grep -F 'test_hooks=true is refused with --buildtype=release' "$T_DIR/rel-hooks.log"
}
check "meson setup --buildtype=release -Dtest_hooks=true is refused, saying why" refused
check "alive: meson setup --buildtype=release (no hooks) succeeds" meson_setup rel --buildtype=release

# ---------------------------------------------------------------- the binaries
# names BIN WANT: WANT (all/none) of the hook variables' names are in BIN.
names() {
	local v n=0
	for v in RUSTYNET_WG_TIME_SCALE RUSTYNET_WG_FORCE_UNDER_LOAD; do
		if grep -qaF "$v" "$1"; then
			echo "$1 holds $v"
			n=$((n + 1))
		fi
	done
	case $2 in all) [ "$n" = 2 ] ;; none) [ "$n" = 0 ] ;; esac
}
check "alive: the test build's rustynet-wg reads both hook variables" names "$RUSTYNET_WG" all
check "the release build's rustynet-wg holds neither name" names "$REL" none

# ---------------------------------------------------------------- RUSTYNET_WG_TIME_SCALE
# inits_from PCAP WANT: A's handshake initiations in PCAP: WANT is "1" or ">=2".
inits_from() {
	local n
	n=$(capture_count "$1" src host "$U4_A" and udp[8] = 1)
	echo "$n handshake initiation(s) from A (want $2)"
	case $2 in 1) [ "$n" = 1 ] ;; '>=2') [ "$n" -ge 2 ] ;; esac
}

# time_round LABEL BIN WANT: A (BIN with the time scale) pings B for HOOK_WINDOW s.
time_round() {
	local L="$1, RUSTYNET_WG_TIME_SCALE=$HOOK_SCALE" bin=$2 want=$3 cap out
	ENV_A=("RUSTYNET_WG_TIME_SCALE=$HOOK_SCALE")
	if ! check_ok "$L: set up" pair_setup "$bin" wireguard-go; then
		pair_down "$L"
		return 0
	fi
	capture_start "$NS_A" va udp and udp[8] = 1
	cap=$CAPTURE_FILE
	out="$T_DIR/ping-$T_ROUND.txt"
	nsx "$NS_A" ping -n -i 0.2 -W 1 -w "$HOOK_WINDOW" "$T4_B" >"$out" 2>&1 || true
	capture_stop "$cap"
	check "$L: A's pings answered for ${HOOK_WINDOW}s" grep -q ' 0% packet loss' "$out"
	check "$L: initiations in ${HOOK_WINDOW}s (re-key after $((120 / HOOK_SCALE))s if scaled)" inits_from "$cap" "$want"
	pair_down "$L"
	ENV_A=()
}
time_round "test build" "$RUSTYNET_WG" '>=2'
time_round "release build" "$REL" 1

# ---------------------------------------------------------------- RUSTYNET_WG_FORCE_UNDER_LOAD
# msgs_from PCAP TYPE MIN MAX: A sent between MIN and MAX messages of TYPE.
msgs_from() {
	local n
	n=$(capture_count "$1" src host "$U4_A" and udp[8] = "$2")
	echo "$n type-$2 message(s) from A (want $3..$4)"
	[ "$n" -ge "$3" ] && [ "$n" -le "$4" ]
}

# cookie_seen PCAP: B pings A once; A's cookie reply is in the capture.
cookie_seen() {
	nsx "$NS_B" ping -n -c 1 -W 1 "$T4_A" >/dev/null 2>&1 || true
	msgs_from "$1" 3 1 1000000
}

# first_reply_is PCAP TYPE: the first message A sent (to B's initiation) is of TYPE (2 or 3).
first_reply_is() {
	local t
	t=$(py_wg udp "$1" | awk -v a="$U4_A" '$2 == a {print substr($7, 1, 2) + 0; exit}')
	echo "A's first message: type ${t:-none} (want $2)"
	[ "$t" = "$2" ]
}

# load_round LABEL BIN: B (wireguard-go) initiates to A (BIN with the under-load hook).
load_round() {
	local L="$1, RUSTYNET_WG_FORCE_UNDER_LOAD=1" bin=$2 cap
	ENV_A=(RUSTYNET_WG_FORCE_UNDER_LOAD=1)
	if ! check_ok "$L: set up" pair_setup "$bin" wireguard-go; then
		pair_down "$L"
		return 0
	fi
	capture_start "$NS_A" va udp and udp[8] \>= 1 and udp[8] \<= 3
	cap=$CAPTURE_FILE
	if [ "$bin" = "$REL" ]; then
		check "$L: B's ping gets through at once" ping_until "$NS_B" "$T4_A" 5
		capture_stop "$cap"
		check "$L: A answered B's initiation with a handshake response" first_reply_is "$cap" 2
		check "$L: A sent no cookie reply" msgs_from "$cap" 3 0 0
	else
		check "$L: A answers B's initiation with a cookie reply" wait_for 5 cookie_seen "$cap"
		capture_stop "$cap"
		check "$L: ... as its first answer (no handshake response without mac2)" first_reply_is "$cap" 3
		check "$L: B's initiations are in the capture" msgs_from_b "$cap"
	fi
	pair_down "$L"
	ENV_A=()
}

# msgs_from_b PCAP: B's initiations are in the capture.
msgs_from_b() {
	local n
	n=$(capture_count "$1" src host "$U4_B" and udp[8] = 1)
	echo "$n initiation(s) from B"
	[ "$n" -ge 1 ]
}
load_round "test build" "$RUSTYNET_WG"
load_round "release build" "$REL"

t_done
