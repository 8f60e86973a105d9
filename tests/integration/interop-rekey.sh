#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_pair FUNC)
# interop-rekey: the session is re-keyed on time (REKEY_AFTER_TIME) without losing traffic.
#
#   ns A                                          ns B
#   +-------------------------------+            +-------------------------------+
#   | IF_A  100.64.0.1/24           |  WireGuard |  IF_B  100.64.0.2/24          |
#   |       IMPL_A, udp 51820       |<==========>|        IMPL_B, udp 51821      |
#   | va    198.51.100.1/24 --------+----veth----+------ vb 198.51.100.2/24      |
#   +-------------------------------+            +-------------------------------+
#
# Needs rustynet-wg built with -Dtest_hooks=true on one side, the "hooked" side H. H runs with
# RUSTYNET_WG_TIME_SCALE=REKEY_SCALE (default 20): its timers run 20 times faster, so
# REKEY_AFTER_TIME (120 s) becomes 6 s. H initiates the first handshake and pings the other side
# every 0.2 s for REKEY_T (default 16) s. Only the initiator of the current session re-keys on
# time, and H starts each new session itself, so H must re-key about every 6 s. Checks: at most
# REKEY_MAX_LOST (2) pings lost; at least 3 initiations from H and 3 responses (first handshake
# + 2 re-keys) on the wire; the other side's and H's `wg show latest-handshakes` took at least 3
# different values.
# With wireguard-go on both sides it prints skip lines (wireguard-go's timers cannot be scaled).
# HOOKS_SELFTEST=1 REKEY_T=260 IMPL_A=wireguard-go IMPL_B=wireguard-go checks the plumbing with
# wireguard-go's real 120 s timer.
set -eu
TEST_TAG=rekey
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan_pairs 10
need_root
need_cmds wg wireguard-go ip ping tcpdump python3

REKEY_SCALE=${REKEY_SCALE:-20}
REKEY_T=${REKEY_T:-16}
REKEY_MAX_LOST=${REKEY_MAX_LOST:-2}

# hs_poll NS IFNAME OUT SECONDS: append the latest handshake to OUT every 0.5 s.
hs_poll() {
	local end=$(($(now_ms) + $4 * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		wg_hs "$1" "$2" >>"$3" 2>/dev/null || true
		sleep 0.5
	done
}

# distinct_hs FILE MIN: FILE holds at least MIN different non-zero handshake times.
distinct_hs() {
	local n
	n=$(grep -v '^0$' "$1" | sort -u | wc -l)
	echo "$n different handshake times: $(grep -v '^0$' "$1" | sort -u | tr '\n' ' ')"
	[ "$n" -ge "$2" ]
}

# lost_at_most FILE N: ping output FILE lost at most N replies.
lost_at_most() {
	local tx rx
	read -r tx rx <<<"$(awk '/packets transmitted/ {print $1, $4}' "$1")"
	echo "$rx of $tx pings answered"
	[ -n "$tx" ] && [ "$tx" -gt 0 ] && [ $((tx - rx)) -le "$2" ]
}

msgs_from() {
	local n
	n=$(capture_count "$1" src host "$2" and udp[8] = "$3") || return 1
	echo "$n type-$3 message(s) from $2 (want >= $4)"
	[ "$n" -ge "$4" ]
}

scenario() {
	local ia=$1 ib=$2 L hns hif hu ons oif ou ot4 H O pids=() ping_out hs_o hs_h cap
	L="rekey [$(pair_label "$ia" "$ib")]"
	hooked_side "$L" "$ia" "$ib" || return 0
	H=$HOOKED
	ENV_A=()
	ENV_B=()
	if [ "$H" = A ]; then
		O=B
		ENV_A=("RUSTYNET_WG_TIME_SCALE=$REKEY_SCALE")
	else
		O=A
		ENV_B=("RUSTYNET_WG_TIME_SCALE=$REKEY_SCALE")
	fi
	L="rekey [$(pair_label "$ia" "$ib"), $H time x$REKEY_SCALE]"
	if ! check_ok "$L: set up namespaces, daemons and peers" pair_setup "$ia" "$ib"; then
		pair_down "$L"
		return 0
	fi
	if [ "$H" = A ]; then
		hns=$NS_A hif=$IF_A hu=$U4_A ons=$NS_B oif=$IF_B ou=$U4_B ot4=$T4_B
	else
		hns=$NS_B hif=$IF_B hu=$U4_B ons=$NS_A oif=$IF_A ou=$U4_A ot4=$T4_A
	fi
	capture_start "$hns" "$([ "$H" = A ] && echo va || echo vb)" udp and "(udp[8] = 1 or udp[8] = 2)"
	cap=$CAPTURE_FILE
	ping_out="$T_DIR/rekey-ping.txt"
	hs_o="$T_DIR/hs-o.txt"
	hs_h="$T_DIR/hs-h.txt"
	: >"$hs_o"
	: >"$hs_h"
	hs_poll "$ons" "$oif" "$hs_o" $((REKEY_T + 1)) &
	pids+=($!)
	hs_poll "$hns" "$hif" "$hs_h" $((REKEY_T + 1)) &
	pids+=($!)
	T_BG+=("${pids[@]}")
	nsx "$hns" ping -n -i 0.2 -W 1 -w "$REKEY_T" "$ot4" >"$ping_out" 2>&1 || true
	wait "${pids[@]}" || true
	capture_stop "$cap"
	check "$L: continuous ping $H->$O for ${REKEY_T}s lost at most $REKEY_MAX_LOST" lost_at_most "$ping_out" "$REKEY_MAX_LOST"
	check "$L: $H sent >= 3 handshake initiations (first + 2 re-keys)" msgs_from "$cap" "$hu" 1 3
	check "$L: $O answered >= 3 of them" msgs_from "$cap" "$ou" 2 3
	check "$L: $O's latest handshake advanced at least twice" distinct_hs "$hs_o" 3
	check "$L: $H's latest handshake advanced at least twice" distinct_hs "$hs_h" 3
	check "$L: ping $O->$H works after the re-keys" ping_ok "$ons" "$([ "$H" = A ] && echo "$T4_A" || echo "$T4_B")"
	check "$L: both daemons still running" both_alive
	pair_down "$L"
	ENV_A=()
	ENV_B=()
}

for_each_pair scenario
t_done
