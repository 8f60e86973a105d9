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
#                                e: up0 192.0.2.1 --- isp (e's uplink, masqueraded)
#
# With 203.0.113.0/24 on c1's e0, main holds a connected route to I's subnet. rustynetd lets
# main answer unmarked traffic only inside the local ranges (RFC 1918, link-local, the mesh),
# so `ip route get 203.0.113.10` names the tunnel, and c1's traffic to I goes through the exit:
# I answers c1's tcp/443 and sees it from e's uplink 192.0.2.1, the rogue host gets nothing, and
# a capture of c1's underlay has WireGuard to e, no packet to 203.0.113.10 and no leak at all.
# Control: the routing c1 had before (main without its /0 routes for every destination) and no
# kill switch: the same traffic goes to the rogue host in plaintext, seen in the capture.
set -eu
TEST_TAG=leaklocal
# shellcheck source=tests/leak-lib.sh
. "$(dirname "$0")/../leak-lib.sh"
plan 12
leak_preamble
leak_setup_or_end
C1=${MESH_NS[c1]}
rogue() {
	exit_host rogue &&
		veth_add "${EXIT_NS[rogue]}" r0 "$MESH_SW" "s$$-rg" &&
		ip -n "$MESH_SW" link set "s$$-rg" master br0 &&
		addr_add "${EXIT_NS[rogue]}" r0 "$I_ADDR/24"
}
check "a rogue host on c1's LAN answers for $I_ADDR" rogue
check "the LAN hands c1 203.0.113.77/24" ip -n "$C1" addr add 203.0.113.77/24 dev e0
check "c1's main table: a connected route to 203.0.113.0/24 on e0 (LocalNet)" \
	sh -c "ip -n '$C1' route show table main 203.0.113.0/24 | grep -q 'dev e0 '"
note "ip route get $I_ADDR on c1: $(ip -n "$C1" route get "$I_ADDR" 2>&1 | head -n 1)"
check "... but ip route get $I_ADDR on c1 names the tunnel ${MESH_IF[c1]} (table 5150)" \
	sh -c "ip -n '$C1' route get $I_ADDR | grep -q 'dev ${MESH_IF[c1]} table 5150'"
nsx "${EXIT_NS[rogue]}" socat TCP-LISTEN:443,reuseaddr,fork SYSTEM:'echo rogue' \
	>/dev/null 2>&1 </dev/null &
T_BG+=("$!")
wait_for 10 listening "${EXIT_NS[rogue]}" tcp 0.0.0.0 443
check "c1's tcp/443 to $I_ADDR reaches I through the exit: I sees $E_UPLINK, the answer comes back" \
	wait_for 10 seen_as "$E_UPLINK"
check "c1's ping to $I_ADDR is answered (through the exit)" \
	nsx "$C1" ping -n -c 1 -W 3 "$I_ADDR"
leak_traffic_start

TO_I="ip and dst host $I_ADDR"
check "4 s capture: WireGuard to e, nothing to $I_ADDR, nothing leaked on the underlay" \
	leak_check PROTECTED 4 "$TO_I"
rogue_answers() { [ "$(exit_probe c1 tcp "$I_ADDR" 443)" = rogue ]; }
check "the rogue host gets nothing (c1's tcp/443 to I is answered by I through e)" seen_as "$E_UPLINK"

nsx "$C1" nft delete table inet rustynet-killswitch
old_routing on
check "control: with the old routing and no kill switch the traffic to $I_ADDR leaves by e0 in plaintext" \
	leak_check CONTROL 3 "$TO_I"
check "control: ... and the rogue host answers c1's tcp/443 to $I_ADDR (its listener works)" \
	rogue_answers
old_routing off
leak_traffic_stop
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
