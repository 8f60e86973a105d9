#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_pair FUNC)
# interop-roaming: B changes its underlay address; A follows (endpoint update from the source of
# authenticated packets) and traffic continues.
#
#   ns A                                          ns B (roams)
#   +-------------------------------+            +-------------------------------+
#   | IF_A  100.64.0.1/24           |  WireGuard |  IF_B  100.64.0.2/24          |
#   |       IMPL_A, udp 51820       |<==========>|        IMPL_B, udp 51821      |
#   | va    198.51.100.1/24 --------+---veth 1---+------ vb 198.51.100.2/24      |
#   |       fd00:51::1/64           |            |          -> .3 (move 1)       |
#   |                               |            |          fd00:51::2 (move 3)  |
#   | va2   203.0.113.1/24 ---------+---veth 2---+------ vb2 203.0.113.2/24      |
#   +-------------------------------+            +----------(move 2)-------------+
#
# Move 1: while B pings A every 0.1 s, B's address on vb changes 198.51.100.2 -> .3 (the old
#         one is deleted); the ping keeps going, A's `wg show endpoints` becomes .3:51821,
#         A -> B works.
# Move 2: B leaves veth 1 (address removed), reaches 198.51.100.1 over veth 2 from 203.0.113.2
#         (route via 203.0.113.1): A's endpoint becomes 203.0.113.2:51821.
# Move 3: B switches its endpoint for A to [fd00:51::1]:51820 (IPv6 underlay): A's endpoint
#         becomes [fd00:51::2]:51821 (IPv4 -> IPv6 roam).
#
# wireguard-go 0.0.20220316 as the roamer keeps sending from its cached ("sticky") source address
# after that address is deleted (sendmsg fails with ENETUNREACH, and it drops the cache only on
# EINVAL), so when B is wireguard-go the script re-sets B's endpoint for A right after moves 1
# and 2, which drops the cache. A rustynet-wg roamer gets no such help: like kernel WireGuard it
# must notice that its source address is gone and pick the new one itself.
set -eu
TEST_TAG=roam
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan_pairs 19
need_root
need_cmds wg wireguard-go ip ping python3

# endpoint_is NS IFNAME ENDPOINT: the first peer's endpoint, as `wg show endpoints` prints it.
endpoint_is() {
	local e
	e=$(wgq "$1" "$2" endpoints) || return 1
	echo "endpoint: $e (want $3)"
	[ "$e" = "$3" ]
}

# ping_summary_ok FILE MINPCT: ping output FILE says at least MINPCT % were answered.
ping_summary_ok() {
	local tx rx
	read -r tx rx <<<"$(awk '/packets transmitted/ {print $1, $4}' "$1")"
	echo "$rx of $tx answered"
	[ -n "$tx" ] && [ "$tx" -gt 0 ] && [ $((100 * rx)) -ge $(($2 * tx)) ]
}

# move1: B's vb address 198.51.100.2 -> .3 (promote_secondaries: deleting the primary address
# would otherwise delete .3 with it).
move1() {
	nsx "$NS_B" sysctl -qw net.ipv4.conf.vb.promote_secondaries=1 &&
		addr_add "$NS_B" vb 198.51.100.3/24 &&
		ip -n "$NS_B" addr del "$U4_B/24" dev vb && unstick_wggo
}

# unstick_wggo: if B is wireguard-go, re-set its endpoint for A (drops its cached source address).
unstick_wggo() {
	if is_wggo "${WG_IMPL[$IF_B]}"; then
		echo "B is wireguard-go: re-setting its endpoint to drop the cached source address"
		nsx "$NS_B" wg set "$IF_B" peer "$PUB_a" endpoint "$U4_A:$PORT_A"
	fi
}

# move2: B's only IPv4 underlay is now 203.0.113.2 on a second veth.
move2() {
	veth_add "$NS_A" va2 "$NS_B" vb2 &&
		addr_add "$NS_A" va2 203.0.113.1/24 &&
		addr_add "$NS_B" vb2 203.0.113.2/24 &&
		ip -n "$NS_B" addr del 198.51.100.3/24 dev vb &&
		ip -n "$NS_B" route add "$U4_A/32" via 203.0.113.1 dev vb2 && unstick_wggo
}

# move3: IPv6 underlay; B points its endpoint for A at A's IPv6 address.
move3() {
	addr_add "$NS_A" va fd00:51::1/64 &&
		addr_add "$NS_B" vb fd00:51::2/64 &&
		nsx "$NS_B" wg set "$IF_B" peer "$PUB_a" endpoint "[fd00:51::1]:$PORT_A"
}

ping_v4_v6() { ping_ok "$1" "$2" && ping_ok "$1" "$3"; }

scenario() {
	local ia=$1 ib=$2 L pid out
	L="roam [$(pair_label "$ia" "$ib")]"
	if is_wggo "$ib"; then note "B is wireguard-go: its endpoint for A is re-set after moves 1 and 2 (stale source cache)"; fi
	if ! check_ok "$L: set up namespaces, daemons and peers" pair_setup "$ia" "$ib"; then
		pair_down "$L"
		return 0
	fi
	check "$L: ping B->A before moving" ping_ok "$NS_B" "$T4_A"
	check "$L: A sees B at $U4_B:$PORT_B" endpoint_is "$NS_A" "$IF_A" "$U4_B:$PORT_B"

	# Move 1: same link, new address, under continuous traffic.
	out="$T_DIR/ping-move1.txt"
	nsx "$NS_B" ping -n -i 0.1 -c 60 -W 1 "$T4_A" >"$out" 2>&1 &
	pid=$!
	check "$L: move 1: some pings answered before the move" wait_for 5 grep -q 'bytes from' "$out"
	check "$L: move 1: B's underlay address changes to 198.51.100.3" move1
	check "$L: move 1: A's endpoint for B becomes 198.51.100.3:$PORT_B" wait_for 5 endpoint_is "$NS_A" "$IF_A" "198.51.100.3:$PORT_B"
	wait "$pid" || true
	check "$L: move 1: continuous ping B->A across the move lost at most 10%" ping_summary_ok "$out" 90
	check "$L: move 1: ping A->B (to the new endpoint) works" ping_ok "$NS_A" "$T4_B"

	# Move 2: another link, another subnet.
	check "$L: move 2: B moves to a second veth, 203.0.113.2" move2
	check "$L: move 2: ping B->A from the second link works" ping_until "$NS_B" "$T4_A" 10
	check "$L: move 2: A's endpoint for B becomes 203.0.113.2:$PORT_B" endpoint_is "$NS_A" "$IF_A" "203.0.113.2:$PORT_B"
	check "$L: move 2: ping A->B works" ping_ok "$NS_A" "$T4_B"

	# Move 3: IPv6 underlay.
	check "$L: move 3: B sends to A's IPv6 underlay address" move3
	check "$L: move 3: ping B->A over the IPv6 underlay works" ping_until "$NS_B" "$T4_A" 10
	check "$L: move 3: A's endpoint for B becomes [fd00:51::2]:$PORT_B" endpoint_is "$NS_A" "$IF_A" "[fd00:51::2]:$PORT_B"
	check "$L: move 3: ping A->B (v4 and v6 inside) works" ping_v4_v6 "$NS_A" "$T4_B" "$T6_B"
	check "$L: both daemons still running" both_alive
	pair_down "$L"
}

for_each_pair scenario
t_done
