#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# leak-daemon-crash: rustynetd on the client dies under traffic and nothing leaks while it is
# dead or while it starts again. Topology (tests/leak-lib.sh):
#
#   c1 (alice, exit e selected)  e (exit)   ctl      isp .254 --- inet I 203.0.113.10
#      .10 [capture on e0]        .11        .1        |
#   ------------------------- br0 198.51.100.0/24 -----+
#                                 e: up0 192.0.2.1 --- isp
#
# Under a traffic loop to I: kill -9 of c1's rustynetd (its TUN and routes go with it): a
# capture while it is dead and across its restart has zero leaked packets, the kill switch is
# kept and re-asserted, traffic resumes through e; the same for an upgrade-style restart
# (SIGTERM, start). `rustynet exit-node off` removes the table; then `rustynet down` with an
# exit selected removes it too, and direct traffic (a capture that sees the "leak") follows.
set -eu
TEST_TAG=leakcrash
# shellcheck source=tests/leak-lib.sh
. "$(dirname "$0")/../leak-lib.sh"
plan 18
leak_preamble
leak_setup_or_end
leak_traffic_start

# restart_under_capture SIGNAL: kill c1's rustynetd with SIGNAL, 3 s dead, start it again and
# wait for traffic through e, all under one capture; zero leaks.
restart_under_capture() {
	local n wg
	capture_start "${MESH_NS[c1]}" e0 || return 1
	capture_canary "${MESH_NS[c1]}" e0
	kill "-$1" "${MESH_PID[c1]}"
	wait "${MESH_PID[c1]}" 2>/dev/null || true
	sleep 3
	ks_present || { echo "kill switch gone while rustynetd is dead"; return 1; }
	mesh_node_start c1 || return 1
	wait_for 20 seen_as "$E_UPLINK" || { echo "no traffic through e after the restart"; return 1; }
	capture_stop
	n=$(leak_count "$CAPTURE_FILE") && wg=$(wg_count "$CAPTURE_FILE") || return 1
	echo "$(capture_count "$CAPTURE_FILE") packets on c1's underlay, $wg WireGuard to e, $n leaked"
	leak_show "$CAPTURE_FILE"
	c1_seen "$CAPTURE_FILE" && [ "$wg" -gt 0 ] && [ "$n" = 0 ]
}
check "kill -9 under traffic: zero leaks while dead and across the restart; traffic via e again" \
	restart_under_capture KILL
check "after kill -9 and restart: the kill switch is there, once" \
	sh -c "[ \"\$(ip netns exec '${MESH_NS[c1]}' nft list tables | grep -c rustynet-killswitch)\" = 1 ]"
check "the log says it was kept and re-asserted" grep -q "kept from the previous run" "${MESH_LOG[c1]}"
check "status: kill switch active, not blocking" wait_for 10 ks_state True False
check "upgrade-style restart (SIGTERM, start): zero leaks, traffic via e again" \
	restart_under_capture TERM
check "after the SIGTERM restart: the kill switch is there" ks_present

check "exit-node off" rnn c1 exit-node off
check "exit-node off removes the kill switch" ks_absent
check "and traffic goes directly (I sees c1's own address)" wait_for 5 seen_as "$C_UL4"
check "select e again" rnn c1 exit-node select e
check "the kill switch is back" ks_present
check "traffic via e" wait_for 10 seen_as "$E_UPLINK"
check "rustynet down with an exit selected" rnn c1 down
check "down: rustynetd exits" wait_for 5 sh -c "! kill -0 ${MESH_PID[c1]} 2>/dev/null"
check "down removes the kill switch" ks_absent
check "control: after down the loop's direct traffic shows in a capture" leak_seen_for 3
leak_traffic_stop
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
