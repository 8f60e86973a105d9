#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_pair FUNC)
# interop-replay: replayed transport messages are dropped; junk at full speed does not hurt.
#
#   ns A                                          ns B
#   +-------------------------------+            +-------------------------------+
#   | IF_A  100.64.0.1/24           |  WireGuard |  IF_B  100.64.0.2/24          |
#   |       IMPL_A, udp 51820       |<==========>|        IMPL_B, udp 51821      |
#   | va    198.51.100.1/24 --------+----veth----+------ vb 198.51.100.2/24      |
#   | aC    192.0.2.1/24            |            |       bC 203.0.113.1/24       |
#   +-------|-----------------------+            +-------|-----------------------+
#           |   +--------------------------------------+ |
#           +---+ cA 192.0.2.2   ns C    cB 203.0.113.2 +-+
#               |   (python3 junk sender)              |
#               +--------------------------------------+
#
# Replay, each direction S->R: a UDP probe with a unique payload goes through the tunnel; its
# transport message is captured on S's veth and sent again 3 times, byte for byte, on S's veth
# (AF_PACKET: same addresses, same source port). Then a marker datagram goes through. Checks:
# R's veth saw the message 4 times; R's TUN saw the probe exactly once; R's rx counter grew by the
# marker only.
# Robustness: C sends junk for FLOOD_T s at full speed to B's, then A's, listening port:
# truncated, oversized and random messages of every type, initiations and responses with a valid
# mac1, transport messages with the target's real receiver index and random counters. Then the
# daemon is still running, its UAPI answers, it sent no handshake response to the junk, and the
# tunnel still passes traffic both ways.
# Env: FLOOD_T (seconds per target, default 4).
set -eu
TEST_TAG=replay
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan_pairs 33
need_root
need_cmds wg wireguard-go ip ping tcpdump python3

FLOOD_T=${FLOOD_T:-4}

tohex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }

# payload_count_is PCAP HEX N: exactly N UDP packets carry payload HEX.
payload_count_is() {
	local n
	n=$(udp_payload_count "$1" "$2")
	echo "$n packet(s) with that payload (want $3)"
	[ "$n" = "$3" ]
}

payload_seen() { [ "$(udp_payload_count "$1" "$2")" -ge 1 ]; }

# rx_delta_ok RX0 RX1 MSGLEN: the rx counter grew by at least one and less than two messages.
rx_delta_ok() {
	local d=$(($2 - $1))
	echo "rx counter grew by $d bytes; one message is $3 bytes"
	[ "$d" -ge "$3" ] && [ "$d" -lt $((2 * $3)) ]
}

# replay_case S R: S sends, R receives. S and R are A or B.
replay_case() {
	local L="$1: replay $2->$3" sns su sveth rns rif rt4 rveth tag probe marker \
		cap_tun cap_rx cap_tx line idx hex rx0 rx1
	if [ "$2" = A ]; then
		sns=$NS_A su=$U4_A sveth=va rns=$NS_B rif=$IF_B rt4=$T4_B rveth=vb
	else
		sns=$NS_B su=$U4_B sveth=vb rns=$NS_A rif=$IF_A rt4=$T4_A rveth=va
	fi
	check "$L: session up (ping $2->$3)" ping_ok "$sns" "$rt4"
	tag="$$-$RANDOM$RANDOM"
	probe="replay-probe-$tag"
	marker="replay-mark-$tag"
	capture_start "$rns" "$rif" udp
	cap_tun=$CAPTURE_FILE
	capture_start "$rns" "$rveth" udp and udp[8] = 4
	cap_rx=$CAPTURE_FILE
	capture_start "$sns" "$sveth" udp and src host "$su" and udp[8] = 4 and udp[4:2] \> 40
	cap_tx=$CAPTURE_FILE
	nsx "$sns" python3 -c "$T_PY" send-udp "$rt4" 9001 "$probe"
	check "$L: the probe arrived on $3's TUN" wait_for 5 payload_seen "$cap_tun" "$(tohex "$probe")"
	check "$L: its transport message was captured on $2's veth" wait_for 5 capture_has "$cap_tx" 1
	capture_stop "$cap_tx"
	line=$(py_wg udp "$cap_tx" | head -n 1)
	if [ -z "$line" ]; then
		not_ok "$L: no transport message to replay"
		capture_stop "$cap_tun"
		capture_stop "$cap_rx"
		return 0
	fi
	idx=${line%% *}
	hex=${line##* }
	rx0=$(wgq "$rns" "$rif" transfer | cut -f 1)
	check "$L: replay the captured message 3 times from $2's namespace" \
		nsx "$sns" python3 -c "$T_PY" replay "$cap_tx" "$idx" "$sveth" 3
	nsx "$sns" python3 -c "$T_PY" send-udp "$rt4" 9002 "$marker"
	check "$L: a later marker arrived on $3's TUN" wait_for 5 payload_seen "$cap_tun" "$(tohex "$marker")"
	capture_stop "$cap_tun"
	check "$L: $3's veth saw the message 4 times (1 + 3 replays)" wait_for 3 payload_count_is "$cap_rx" "$hex" 4
	capture_stop "$cap_rx"
	check "$L: $3's TUN saw the probe exactly once" payload_count_is "$cap_tun" "$(tohex "$probe")" 1
	rx1=$(wgq "$rns" "$rif" transfer | cut -f 1)
	check "$L: $3's rx counter counted the marker, not the replays" rx_delta_ok "$rx0" "$rx1" $((${#hex} / 2))
}

# flood_run OUT NS ADDR PORT SECS PUBKEY RXIDX: run the junk sender in NS; output also in OUT;
# fails unless it sent more than 1000 datagrams.
flood_run() {
	local out=$1 n
	shift
	nsx "$1" python3 -c "$T_PY" flood "${@:2}" | tee "$out" || return 1
	n=$(awk '/^sent/ {print $2}' "$out")
	[ -n "$n" ] && [ "$n" -gt 1000 ]
}

# no_msgs PCAP TYPE: no WireGuard message of TYPE in PCAP, which holds some packets (the
# capture did see the traffic).
no_msgs() {
	local n all
	n=$(capture_count "$1" udp[8] = "$2") && all=$(capture_count "$1") || return 1
	echo "$n type-$2 message(s) among $all packets"
	[ "$n" = 0 ] && [ "$all" -gt 0 ]
}

# c_setup: namespace C with a veth to A (192.0.2.0/24) and one to B (203.0.113.0/24).
c_setup() {
	NS_C="$T_ID-${T_ROUND}c"
	ns_add "$NS_C" &&
		veth_add "$NS_C" cA "$NS_A" aC && veth_add "$NS_C" cB "$NS_B" bC &&
		addr_add "$NS_C" cA 192.0.2.2/24 && addr_add "$NS_A" aC 192.0.2.1/24 &&
		addr_add "$NS_C" cB 203.0.113.2/24 && addr_add "$NS_B" bC 203.0.113.1/24
}

# flood_case T: C floods T (A or B).
flood_case() {
	local L="$1: junk flood to $2" tns tif tpub tu4 tport tc4 tcif tveth ons ot4 tt4 cap line rxidx out cap_c n
	if [ "$2" = B ]; then
		tns=$NS_B tif=$IF_B tpub=$PUB_b tu4=$U4_B tport=$PORT_B tc4=203.0.113.1 tcif=cB tveth=vb ons=$NS_A tt4=$T4_B ot4=$T4_A
	else
		tns=$NS_A tif=$IF_A tpub=$PUB_a tu4=$U4_A tport=$PORT_A tc4=192.0.2.1 tcif=cA tveth=va ons=$NS_B tt4=$T4_A ot4=$T4_B
	fi
	# the target's receiver index: bytes 4..7 of transport messages sent to it
	capture_start "$tns" "$tveth" udp and dst host "$tu4" and udp[8] = 4
	cap=$CAPTURE_FILE
	check "$L: ping to $2 works before" ping_ok "$ons" "$tt4"
	capture_stop "$cap"
	line=$(py_wg udp "$cap" | head -n 1)
	rxidx=""
	[ -z "$line" ] || rxidx=$(echo "${line##* }" | cut -c 9-16)
	note "$2's receiver index on the wire: ${rxidx:-unknown}"

	capture_start "$NS_C" "$tcif" udp and src host "$tc4"
	cap_c=$CAPTURE_FILE
	out="$T_DIR/flood-$2.txt"
	nsx "$ons" ping -n -q -i 0.05 -w "$FLOOD_T" "$tt4" >"$T_DIR/flood-ping.txt" 2>&1 &
	local ppid=$!
	check "$L: C sends junk at full speed for ${FLOOD_T}s" flood_run "$out" "$NS_C" "$tc4" "$tport" "$FLOOD_T" "$tpub" "$rxidx"
	wait "$ppid" || true
	note "$(tail -n 1 "$out"); pings to $2 meanwhile: $(grep -o '[0-9]* packets transmitted, [0-9]* received' "$T_DIR/flood-ping.txt" || echo none)"
	check "$L: $2's daemon still runs and answers on its UAPI socket" wg_alive "$tif"
	check "$L: ping to $2 works after the flood" ping_until "$ons" "$tt4" 20
	check "$L: ping from $2 works after the flood" ping_ok "$tns" "$ot4"
	capture_stop "$cap_c"
	n=$(capture_count "$cap_c" udp[8] = 3) || n="?"
	note "$2 sent $n cookie reply message(s) (type 3) to C during the flood"
	check "$L: $2 sent no handshake response to junk" no_msgs "$cap_c" 2
}

scenario() {
	local ia=$1 ib=$2 L
	L="replay [$(pair_label "$ia" "$ib")]"
	if ! check_ok "$L: set up namespaces, daemons and peers" pair_setup "$ia" "$ib"; then
		pair_down "$L"
		return 0
	fi
	replay_case "$L" A B
	replay_case "$L" B A
	if check_ok "$L: set up namespace C for the junk sender" c_setup; then
		flood_case "$L" B
		flood_case "$L" A
	fi
	check "$L: both daemons still running" both_alive
	pair_down "$L"
}

for_each_pair scenario
t_done
