#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_pair FUNC)
# interop-cookie: a responder under load answers with a cookie reply, and the handshake still
# completes once the initiator retries with mac2.
#
#   ns A                                          ns B
#   +-------------------------------+            +-------------------------------+
#   | IF_A  100.64.0.1/24           |  WireGuard |  IF_B  100.64.0.2/24          |
#   |       IMPL_A, udp 51820       |<==========>|        IMPL_B, udp 51821      |
#   | va    198.51.100.1/24 --------+----veth----+------ vb 198.51.100.2/24      |
#   +-------------------------------+            +-------------------------------+
#
# Needs rustynet-wg built with -Dtest_hooks=true on one side, the "hooked" side H, started with
# RUSTYNET_WG_FORCE_UNDER_LOAD=1: it always behaves as under load, so it demands a valid mac2
# (a cookie) in every handshake message. The other side O (wireguard-go) initiates by pinging H.
# Expected on the wire: O's initiation without mac2 -> H's cookie reply (type 3) -> O's retry
# (REKEY_TIMEOUT, ~5 s) with a non-zero mac2 -> H's response. Checks: the ping gets through
# within COOKIE_T (default 25) s; H sent a cookie reply; O sent an initiation with mac2; H never
# answered an initiation that had no mac2; both sides report a handshake; traffic both ways.
# With wireguard-go on both sides it prints skip lines (wireguard-go cannot be forced under load).
set -eu
TEST_TAG=cookie
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan_pairs 12
need_root
need_cmds wg wireguard-go ip ping tcpdump python3

COOKIE_T=${COOKIE_T:-25}

# no_answer_without_mac2 LOG O H: every response from H follows an initiation from O with mac2.
no_answer_without_mac2() {
	awk -v o="$2" -v h="$3" '
		$1 == o && $2 == 1 {last = $3}
		$1 == h && $2 == 2 && last != 1 {bad++}
		{print}
		END {exit bad > 0}' "$1"
}

scenario() {
	local ia=$1 ib=$2 L H O hns ons hif oif hu ou ht4 ot4 cap log
	L="cookie [$(pair_label "$ia" "$ib")]"
	hooked_side "$L" "$ia" "$ib" || return 0
	H=$HOOKED
	ENV_A=()
	ENV_B=()
	if [ "$H" = A ]; then
		O=B
		ENV_A=(RUSTYNET_WG_FORCE_UNDER_LOAD=1)
	else
		O=A
		ENV_B=(RUSTYNET_WG_FORCE_UNDER_LOAD=1)
	fi
	L="cookie [$(pair_label "$ia" "$ib"), $H under load, $O initiates]"
	if ! check_ok "$L: set up namespaces, daemons and peers" pair_setup "$ia" "$ib"; then
		pair_down "$L"
		return 0
	fi
	if [ "$H" = A ]; then
		hns=$NS_A hif=$IF_A hu=$U4_A ht4=$T4_A ons=$NS_B oif=$IF_B ou=$U4_B ot4=$T4_B
	else
		hns=$NS_B hif=$IF_B hu=$U4_B ht4=$T4_B ons=$NS_A oif=$IF_A ou=$U4_A ot4=$T4_A
	fi
	capture_start "$hns" "$([ "$H" = A ] && echo va || echo vb)" udp and udp[8] \>= 1 and udp[8] \<= 3
	cap=$CAPTURE_FILE
	check "$L: ping $O->$H gets through within ${COOKIE_T}s" ping_until "$ons" "$ht4" "$COOKIE_T"
	capture_stop "$cap"
	log="$T_DIR/cookie-wire.txt"
	wire_log "$cap" >"$log"
	note "handshake messages on the wire (source, type, mac2 set): $(tr '\n' ';' <"$log")"
	check "$L: $H sent a cookie reply (type 3)" msgs_cmp "$log" "$hu" 3 ge 1
	check "$L: $O retried with a mac2 (cookie) in its initiation" msgs_cmp "$log" "$ou" 1 ge 1 1
	check "$L: $H answered no initiation that lacked mac2" no_answer_without_mac2 "$log" "$ou" "$hu"
	check "$L: $H sent a handshake response" msgs_cmp "$log" "$hu" 2 ge 1
	check "$L: wg show on $H reports a handshake" has_handshake "$hns" "$hif"
	check "$L: wg show on $O reports a handshake" has_handshake "$ons" "$oif"
	check "$L: ping $H->$O works" ping_ok "$hns" "$ot4"
	check "$L: both daemons still running" both_alive
	pair_down "$L"
	ENV_A=()
	ENV_B=()
}

for_each_pair scenario
t_done
