#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# exit-local: an internet grant reaches the internet through the exit, never the exit host
# itself (issue 12 item 7). Topology (tests/exit-lib.sh, cut down to client c1 and exit e):
#
#   c1 (dave) .10       e (exit + router) .11     ctl .1     isp .254 --- inet I 203.0.113.10
#   ----------------------- br0 198.51.100.0/24 --------------------+
#                           e: up0 192.0.2.1 2001:db8:192::1 --- isp (E's uplink)
#                              lan50 192.168.50.1 --- L1 192.168.50.10 (granted to dave)
#
# Listeners on e itself: tcp/22 on its uplink (192.0.2.1, 2001:db8:192::1) and on its LAN
# address 192.168.50.1, each first shown alive from a plain namespace (isp, L1).
# Policy 1: dave may reach autogroup:internet and 192.168.50.0/24, nothing on the mesh. c1
# reaches I and L1 through e, but none of e's own addresses: a packet to any address of the
# exit host is the node itself (MESH), not internet or LAN.
# Policy 2: adds a mesh grant dave -> e tcp/22: now c1 reaches e's uplink and LAN address on
# port 22, and still not on another port.
set -eu
TEST_TAG=exitlocal
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
# shellcheck source=tests/exit-lib.sh
. "$(dirname "$0")/../exit-lib.sh"
plan 28
need_root
need_cmds python3 socat

if ! mesh_have_bins; then
	skip "exit-local: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
EXIT_NODES="c1 e"
if ! check_ok "topology: control server, client, exit, ISP, internet host, a LAN" exit_topology; then
	mesh_dump_logs
	t_done
fi

POLICY1='{
	"acls": [
		{"action": "accept", "src": ["dave"], "dst": ["autogroup:internet:*", "192.168.50.0/24:*"]},
	],
}'
POLICY2='{
	"acls": [
		{"action": "accept", "src": ["dave"], "dst": ["autogroup:internet:*", "192.168.50.0/24:*"]},
		{"action": "accept", "src": ["dave"], "proto": "tcp", "dst": ["e:22"]},
	],
}'
check "c1 up (dave)" mesh_up c1 dave
check "policy 1: dave may reach the internet and 192.168.50.0/24 only" mesh_policy <<<"$POLICY1"
up_exit() {
	local key
	key=$(mesh_key admin) || return 1
	rnn e up --server "$MESH_URL" --auth-key "$key" --hostname e \
		--advertise-exit-node --advertise-routes 192.168.50.0/24
}
check "e up, advertising an exit node and 192.168.50.0/24" up_exit
check "admin approves e as exit" ctl exit approve e
check "admin approves e's LAN" ctl routes approve e 192.168.50.0/24
exit_selected() { rnn c1 exit-node select e; }
check "c1 selects e (within 5 s of the approval)" wait_for 5 exit_selected
check "c1 lan-access on" rnn c1 lan-access on

exit_listen inet tcp 443
exit_listen l1 tcp 443
mesh_listen e tcp "$E_UPLINK" 22
mesh_listen e tcp "$E6_UPLINK" 22
mesh_listen e tcp 192.168.50.1 22
mesh_listen e tcp "$E_UPLINK" 2222

# plain_reach NS ADDR PORT: from a plain namespace (no tunnel), ADDR:PORT answers "open".
plain_reach() { tcp_get "${EXIT_NS[$1]}" "$2" "$3" | grep -q open; }
check "alive: e's uplink tcp/22 answers the ISP" wait_for 5 plain_reach isp "$E_UPLINK" 22
check "alive: e's uplink tcp/22 answers over IPv6" wait_for 5 plain_reach isp "$E6_UPLINK" 22
check "alive: e's uplink tcp/2222 answers the ISP" wait_for 5 plain_reach isp "$E_UPLINK" 2222
check "alive: e's LAN address tcp/22 answers L1" wait_for 5 plain_reach l1 192.168.50.1 22

seen_as() { [ "$(exit_probe c1 tcp "$I_ADDR" 443)" = "from $E_UPLINK" ]; }
check "alive: c1 reaches I through e (I sees e's uplink address)" wait_for 10 seen_as
check "alive: c1 reaches L1 through e" wait_for 5 exit_reaches c1 tcp "$L1_ADDR" 443
route_get_tunnel() { ip -n "${MESH_NS[c1]}" route get "$1" | grep -q "dev ${MESH_IF[c1]}"; }
check "c1 routes e's uplink address into the tunnel" route_get_tunnel "$E_UPLINK"

check "internet grant only: c1 cannot reach e's uplink $E_UPLINK tcp/22" \
	mesh_no_reach c1 tcp "$E_UPLINK" 22
check "internet grant only: c1 cannot reach e's uplink [$E6_UPLINK] tcp/22" \
	mesh_no_reach c1 tcp "$E6_UPLINK" 22
check "LAN grant only: c1 cannot reach e's own LAN address 192.168.50.1 tcp/22" \
	mesh_no_reach c1 tcp 192.168.50.1 22
check "the internet is still reached through e meanwhile" wait_for 5 seen_as

# A new address on e (added after the daemon read them) is known at once: the watch.
late_addr() {
	ip -n "${MESH_NS[e]}" addr add 192.0.2.7/32 dev up0 || return 1
	mesh_listen e tcp 192.0.2.7 22
	wait_for 5 plain_reach isp 192.0.2.7 22 || return 1
	ip -n "${MESH_NS[c1]}" route get 192.0.2.7 | grep -q "dev ${MESH_IF[c1]}" || return 1
	mesh_no_reach c1 tcp 192.0.2.7 22
}
check "an address added to e later is not reachable by the internet grant either" late_addr

check "policy 2: adds a mesh grant dave -> e tcp/22" mesh_policy <<<"$POLICY2"
check "mesh grant: c1 reaches e's uplink $E_UPLINK tcp/22 (within 10 s)" \
	wait_for 10 mesh_reach c1 tcp "$E_UPLINK" 22
check "mesh grant: c1 reaches e's uplink [$E6_UPLINK] tcp/22" \
	wait_for 5 mesh_reach c1 tcp "$E6_UPLINK" 22
check "mesh grant: c1 reaches e's LAN address 192.168.50.1 tcp/22" \
	wait_for 5 mesh_reach c1 tcp 192.168.50.1 22
check "mesh grant: c1 reaches e's later address 192.0.2.7 tcp/22" \
	wait_for 5 mesh_reach c1 tcp 192.0.2.7 22
check "mesh grant is tcp/22 only: e's uplink tcp/2222 stays closed to c1" \
	mesh_no_reach c1 tcp "$E_UPLINK" 2222
check "the internet is still reached through e" wait_for 5 seen_as

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
