#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# leak-localnet (TunnelCrack LocalNet): the local network hands the client a public-looking
# subnet that contains the victim address, and an attacker on that network answers for it.
#
#   c1 (alice, exit e selected)  e (exit)  ctl   rogue (203.0.113.10/24 on br0: "is" I)
#      .10 + 203.0.113.77/24      .11       .1     |          isp .254 --- inet I 203.0.113.10
#      [capture on e0]                             |            |
#   ------------------------- br0 198.51.100.0/24 -+------------+
#
# With 203.0.113.0/24 on c1's e0, main holds a connected route to I's subnet and rule 5210
# (lookup main suppress_prefixlength 0) picks it: `ip route get` says e0. The kill switch lets
# only private and link-local local destinations out of the physical interface, so traffic to
# I is blocked (not tunnelled: docs/leak-matrix.md): a capture has no packet to 203.0.113.10
# and none leaked at all. Control: without the kill
# switch the same traffic reaches the rogue host in plaintext, seen in the capture.
set -eu
TEST_TAG=leaklocal
# shellcheck source=tests/leak-lib.sh
. "$(dirname "$0")/../leak-lib.sh"
leak_preamble
if ! check_ok "topology; c1 uses exit e; I sees e's uplink address" leak_setup; then
	mesh_dump_logs
	t_done
fi
rogue() {
	exit_host rogue &&
		veth_add "${EXIT_NS[rogue]}" r0 "$MESH_SW" "s$$-rg" &&
		ip -n "$MESH_SW" link set "s$$-rg" master br0 &&
		addr_add "${EXIT_NS[rogue]}" r0 "$I_ADDR/24"
}
check "a rogue host on c1's LAN answers for $I_ADDR" rogue
check "the LAN hands c1 203.0.113.77/24" \
	ip -n "${MESH_NS[c1]}" addr add 203.0.113.77/24 dev e0
check "ip route get $I_ADDR on c1: the local network (e0), as LocalNet wants" \
	sh -c "ip -n '${MESH_NS[c1]}' route get $I_ADDR | grep -q 'dev e0 '"
nsx "${EXIT_NS[rogue]}" socat TCP-LISTEN:443,reuseaddr,fork SYSTEM:'echo rogue' \
	>/dev/null 2>&1 </dev/null &
T_BG+=("$!")
leak_traffic_start

none_to_victim() {
	local to
	underlay_for 4 || return 1
	to=$(capture_count "$CAPTURE_FILE" "ip and dst host $I_ADDR")
	echo "packets to $I_ADDR on c1's underlay: $to; leaked: $(leak_count "$CAPTURE_FILE")"
	leak_show "$CAPTURE_FILE"
	[ "$to" = 0 ] && [ "$(leak_count "$CAPTURE_FILE")" = 0 ]
}
check "kill switch on: nothing to $I_ADDR, nothing leaked on the underlay in 4 s" none_to_victim
check "the rogue host gets nothing (c1's tcp/443 to I is not answered by it)" \
	sh -c "[ \"\$(echo hi | timeout 3 ip netns exec '${MESH_NS[c1]}' socat -T 2 - TCP:$I_ADDR:443,connect-timeout=2 2>/dev/null)\" != rogue ]"

nsx "${MESH_NS[c1]}" nft delete table inet rustynet-killswitch
check "control: without the kill switch the traffic to $I_ADDR leaves by e0 in plaintext" \
	underlay_shows 3 "ip and dst host $I_ADDR"
leak_traffic_stop
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
