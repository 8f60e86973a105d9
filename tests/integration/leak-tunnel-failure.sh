#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# leak-tunnel-failure: the tunnel fails under traffic and nothing leaves c1's underlay but
# WireGuard to E (and rustynetd's own control connection). Topology (tests/leak-lib.sh):
#
#   c1 (alice, exit e selected)  e (exit)   ctl      isp .254 --- inet I 203.0.113.10
#      .10 [capture on e0]        .11        .1        |
#   ------------------------- br0 198.51.100.0/24 -----+
#                                 e: up0 192.0.2.1 --- isp
#
# While c1 loops ping / UDP / DNS-to-I / TCP to I: (1) E drops the WireGuard UDP (nft in e),
# (2) rustynetd on e is killed, (3) c1's TUN device is deleted (c1's rustynetd exits, its routes
# go with the device): each a capture with zero leaked packets, the kill switch reported as
# blocking, and still in place after (3). Then the proof that the captures can see a leak: the
# kill switch table deleted by hand, the same loop leaks at once.
set -eu
TEST_TAG=leaktun
# shellcheck source=tests/leak-lib.sh
. "$(dirname "$0")/../leak-lib.sh"
plan 15
leak_preamble
leak_setup_or_end
check "kill switch table present with the exit selected" ks_present
check "status: kill switch active, not blocking (exit reachable)" ks_state True False
leak_traffic_start
check "with e working: no leak in 2 s of traffic" leak_none_for 2 "e working"

# (1) e's WireGuard UDP dropped
nsx "${MESH_NS[e]}" nft add table inet leaktest
nsx "${MESH_NS[e]}" nft add chain inet leaktest in '{ type filter hook input priority -10; }'
nsx "${MESH_NS[e]}" nft add rule inet leaktest in udp dport $WG_PORT drop
check "e's WireGuard UDP blocked: no leak in 6 s" leak_none_for 6 "UDP blocked"
nsx "${MESH_NS[e]}" nft delete table inet leaktest
check "unblocked: traffic through e again" wait_for 20 seen_as "$E_UPLINK"

# (2) e's rustynetd killed
kill -KILL "${MESH_PID[e]}" 2>/dev/null || true
check "e killed: no leak in 6 s" leak_none_for 6 "exit dead"
check "e killed: status says the kill switch is blocking, and why (within 40 s)" \
	wait_for 40 ks_state True True
check "the reason names the exit" sh -c "'$RNCLI' --socket '${MESH_SOCK[c1]}' status | grep -q 'kill switch: on, BLOCKING: exit node e'"

# (3) c1's TUN deleted: rustynetd exits, the routes into the tunnel are gone
ip -n "${MESH_NS[c1]}" link del "${MESH_IF[c1]}"
check "TUN deleted: c1's rustynetd stops" wait_for 5 sh -c "! kill -0 ${MESH_PID[c1]} 2>/dev/null"
check "TUN deleted: no route into the tunnel is left" \
	sh -c "! ip -n '${MESH_NS[c1]}' route get $I_ADDR | grep -q '${MESH_IF[c1]}'"
check "TUN deleted and daemon gone: no leak in 4 s" leak_none_for 4 "no TUN, no daemon" 0
check "TUN deleted: the kill switch is still there" ks_present

# The captures can see a leak: without the kill switch the same loop leaks.
nsx "${MESH_NS[c1]}" nft delete table inet rustynet-killswitch
check "control: without the kill switch the loop leaks at once" leak_seen_for 3
leak_traffic_stop
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
