#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_pair FUNC)
# interop-negative: misconfigurations must not let traffic through, and fixing them must.
#
#   ns A                                          ns B
#   +-------------------------------+            +-------------------------------+
#   | IF_A  100.64.0.1/24           |            | IF_B  100.64.0.2/24           |
#   |       100.64.0.99 (case 3)    |  WireGuard |       fd00:64::2/64           |
#   |       fd00:64::1, ::99        |<==========>|       IMPL_B, udp 51821       |
#   |       IMPL_A, udp 51820       |            |                               |
#   | va    198.51.100.1/24 --------+----veth----+------- vb 198.51.100.2/24      |
#   +-------------------------------+            +-------------------------------+
#
# Fresh daemons and keys for each case (same namespaces); A always initiates:
#   1. A's peer entry has a wrong public key for B: B cannot check mac1, never answers.
#   2. B's peer entry for A has a wrong public key: B does not know A's static key, never answers.
#   3. Crypto-key routing, receive side: A sends from 100.64.0.99 / fd00:64::99, outside B's
#      allowed IPs for A: B must drop the packets (not on its TUN). Send side: A pings
#      100.64.0.77, inside A's /24 route but no peer's allowed IPs: nothing leaves A.
#   4. Preshared keys differ: B answers the initiation (it cannot know) but A rejects the
#      response; no handshake on either side.
# After each case the configuration is corrected and traffic must then pass (positive control).
set -eu
TEST_TAG=neg
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan_pairs 49
need_root
need_cmds wg wireguard-go ip ping tcpdump python3

# count_type PCAP SRC TYPE: WireGuard messages of TYPE sent by SRC in PCAP.
count_type() { capture_count "$1" src host "$2" and udp[8] = "$3"; }

# msgs_seen PCAP SRC TYPE MIN MAX: between MIN and MAX messages of TYPE from SRC.
msgs_seen() {
	local n
	n=$(count_type "$1" "$2" "$3") || return 1
	echo "$n type-$3 message(s) from $2 (want $4..$5)"
	[ "$n" -ge "$4" ] && [ "$n" -le "$5" ]
}

# data_from PCAP SRC MIN MAX: transport messages (not keepalives: UDP length > 40) from SRC.
data_from() {
	local n
	n=$(capture_count "$1" src host "$2" and udp[8] = 4 and udp[4:2] \> 40) || return 1
	echo "$n transport data message(s) from $2 (want $3..$4)"
	[ "$n" -ge "$3" ] && [ "$n" -le "$4" ]
}

# inner_from PCAP SRC MIN MAX: packets from inner source SRC on a TUN capture.
inner_from() {
	local n
	n=$(capture_count "$1" src host "$2") || return 1
	echo "$n packet(s) from $2 (want $3..$4)"
	[ "$n" -ge "$3" ] && [ "$n" -le "$4" ]
}

# case_wrong_responder_key: A has a random key where B's public key belongs.
case_wrong_responder_key() {
	local L="$1: A has a wrong public key for B"
	wg_keypair wrong
	# shellcheck disable=SC2154 # set by wg_keypair
	nsx "$NS_A" wg set "$IF_A" peer "$PUB_wrong" allowed-ips "$T4_B/32,$T6_B/128" endpoint "$U4_B:$PORT_B"
	nsx "$NS_B" wg set "$IF_B" peer "$PUB_a" allowed-ips "$T4_A/32,$T6_A/128" endpoint "$U4_A:$PORT_A"
	capture_start "$NS_B" vb udp
	check "$L: ping A->B fails" ping_fails "$NS_A" "$T4_B"
	check "$L: A's initiation reached B" msgs_seen "$CAPTURE_FILE" "$U4_A" 1 1 1000
	check "$L: B sent no handshake response" msgs_seen "$CAPTURE_FILE" "$U4_B" 2 0 0
	check "$L: no handshake on A" no_handshake "$NS_A" "$IF_A"
	check "$L: no handshake on B" no_handshake "$NS_B" "$IF_B"
	capture_stop
	nsx "$NS_A" wg set "$IF_A" peer "$PUB_wrong" remove peer "$PUB_b" allowed-ips "$T4_B/32,$T6_B/128" endpoint "$U4_B:$PORT_B"
	check "$L: after correcting A's peer key, ping A->B works" ping_until "$NS_A" "$T4_B" 15
}

# case_unknown_initiator: B's peer entry for A has a random key.
case_unknown_initiator() {
	local L="$1: B does not know A's public key"
	wg_keypair wrong
	nsx "$NS_A" wg set "$IF_A" peer "$PUB_b" allowed-ips "$T4_B/32,$T6_B/128" endpoint "$U4_B:$PORT_B"
	nsx "$NS_B" wg set "$IF_B" peer "$PUB_wrong" allowed-ips "$T4_A/32,$T6_A/128" endpoint "$U4_A:$PORT_A"
	capture_start "$NS_B" vb udp
	check "$L: ping A->B fails" ping_fails "$NS_A" "$T4_B"
	check "$L: A's initiation reached B" msgs_seen "$CAPTURE_FILE" "$U4_A" 1 1 1000
	check "$L: B sent no handshake response" msgs_seen "$CAPTURE_FILE" "$U4_B" 2 0 0
	check "$L: no handshake on A" no_handshake "$NS_A" "$IF_A"
	check "$L: no handshake on B" no_handshake "$NS_B" "$IF_B"
	capture_stop
	nsx "$NS_B" wg set "$IF_B" peer "$PUB_wrong" remove peer "$PUB_a" allowed-ips "$T4_A/32,$T6_A/128" endpoint "$U4_A:$PORT_A"
	check "$L: after adding A's key on B, ping A->B works" ping_until "$NS_A" "$T4_B" 15
}

# case_allowed_ips: crypto-key routing on receive and on send.
case_allowed_ips() {
	local L="$1: allowed IPs" cap_tun cap_u
	pair_peers
	check "$L: ping A->B from 100.64.0.1 works (session up)" ping_ok "$NS_A" "$T4_B"
	addr_add "$NS_A" "$IF_A" 100.64.0.99/32
	addr_add "$NS_A" "$IF_A" fd00:64::99/128
	capture_start "$NS_B" "$IF_B"
	cap_tun=$CAPTURE_FILE
	check "$L: ping A->B from 100.64.0.99 (not in B's allowed IPs for A) fails" ping_fails "$NS_A" "$T4_B" -I 100.64.0.99
	check "$L: ping A->B from fd00:64::99 (not in B's allowed IPs for A) fails" ping_fails "$NS_A" "$T6_B" -I fd00:64::99
	# marker from an allowed source: once it is on B's TUN, the dropped ones would be there too
	check "$L: ping A->B from 100.64.0.1 still works" ping_ok "$NS_A" "$T4_B"
	check "$L: B's TUN saw the packets from 100.64.0.1" wait_for 5 inner_from "$cap_tun" "$T4_A" 3 1000
	check "$L: B's TUN saw nothing from 100.64.0.99" inner_from "$cap_tun" 100.64.0.99 0 0
	check "$L: B's TUN saw nothing from fd00:64::99" inner_from "$cap_tun" fd00:64::99 0 0
	capture_stop "$cap_tun"

	capture_start "$NS_A" va udp
	cap_u=$CAPTURE_FILE
	check "$L: ping A->100.64.0.77 (no peer's allowed IPs) fails" ping_fails "$NS_A" 100.64.0.77
	check "$L: nothing was sent to B for 100.64.0.77" data_from "$cap_u" "$U4_A" 0 0
	check "$L: ping A->B works after it" ping_ok "$NS_A" "$T4_B"
	check "$L: and that ping was sent (capture works)" wait_for 5 data_from "$cap_u" "$U4_A" 1 1000
	capture_stop "$cap_u"

	nsx "$NS_B" wg set "$IF_B" peer "$PUB_a" allowed-ips "$T4_A/32,$T6_A/128,100.64.0.99/32,fd00:64::99/128"
	check "$L: once B allows 100.64.0.99 for A, ping from it works" ping_ok "$NS_A" "$T4_B" -I 100.64.0.99
	check "$L: once B allows fd00:64::99 for A, ping from it works" ping_ok "$NS_A" "$T6_B" -I fd00:64::99
}

# case_psk_mismatch: different preshared keys.
case_psk_mismatch() {
	local L="$1: preshared keys differ"
	wg_psk one
	wg_psk two
	# shellcheck disable=SC2154 # set by wg_psk
	pair_peers "$PSK_one" "$PSK_two"
	capture_start "$NS_A" va udp
	check "$L: ping A->B fails" ping_fails "$NS_A" "$T4_B"
	check "$L: A sent an initiation" msgs_seen "$CAPTURE_FILE" "$U4_A" 1 1 1000
	check "$L: B answered it (B cannot detect the mismatch)" msgs_seen "$CAPTURE_FILE" "$U4_B" 2 1 1000
	check "$L: A sent no transport data (response rejected)" data_from "$CAPTURE_FILE" "$U4_A" 0 0
	check "$L: no handshake on A" no_handshake "$NS_A" "$IF_A"
	check "$L: no handshake on B" no_handshake "$NS_B" "$IF_B"
	capture_stop
	nsx "$NS_B" wg set "$IF_B" peer "$PUB_a" preshared-key "$PSK_one"
	check "$L: with the same key on B, ping A->B works" ping_until "$NS_A" "$T4_B" 15
}

scenario() {
	local ia=$1 ib=$2 L c
	L="neg [$(pair_label "$ia" "$ib")]"
	if ! check_ok "$L: set up namespaces" pair_netns; then
		pair_down "$L"
		return 0
	fi
	for c in case_wrong_responder_key case_unknown_initiator case_allowed_ips case_psk_mismatch; do
		if check_ok "$L: start daemons for ${c#case_}" pair_wg "$ia" "$ib"; then
			"$c" "$L"
			check "$L: both daemons still running after ${c#case_}" both_alive
		fi
		pair_wg_down "$L"
	done
	pair_down "$L"
}

for_each_pair scenario
t_done
