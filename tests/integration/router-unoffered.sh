#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# router-unoffered: a node forwards only what it offered. A compromised control server (its
# netmap signing key used by tests/tools/rogue-control.py forge) grants R, which offers nothing,
# exit-node rights, the LAN 192.168.70.0/24 and filter rules letting C use both. R refuses them:
# forwarding stays off, no table inet rustynet-router, its filter has no SUBNET/EXIT context,
# status names what it refused; C's packets through R go nowhere, even once R's host forwards
# for reasons of its own. E, which offered and was approved, forwards C's traffic on the same
# rig (the subject alive); with the server stopped, E retracts its offer and stops forwarding
# at once, on the map it runs.
#
#            ns sw: bridge br0 (198.51.100.0/24, 2001:db8:1::/64)
#     +----------------+----------------+----------------+
#   ctl .1           E .10            R .11            C .12
#   control          (alice: offers   (alice: offers   (bob)
#                     exit + .50/24)   nothing)
#                    |lan0 .50.1      |lan0 .70.1
#                    |inet0 .1/25     |inet0 .129/25
#     ns lan: l1 192.168.50.10/24, l2 192.168.70.10/24
#     ns inet: i1 203.0.113.10/25, i2 203.0.113.130/25 (no route back to the mesh)
#
# C's routes to E and R are made by hand (ip route + wg set allowed-ips), as a modified client
# would.
set -eu
TEST_TAG=rtoff
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 47
need_root
need_cmds python3 wg socat nft openssl
ROGUE=$(dirname "$0")/../tools/rogue-control.py

if ! mesh_have_bins; then
	skip "router-unoffered: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
mesh_init_or_end
mesh_nodes_or_end E R C
ENS=${MESH_NS[E]} RNS=${MESH_NS[R]} CNS=${MESH_NS[C]} CIF=${MESH_IF[C]}
LNS="$T_ID-lan" INS="$T_ID-inet"
topo() {
	ns_add "$LNS" && ns_add "$INS" &&
		veth_add "$ENS" lan0 "$LNS" l1 && veth_add "$ENS" inet0 "$INS" i1 &&
		veth_add "$RNS" lan0 "$LNS" l2 && veth_add "$RNS" inet0 "$INS" i2 &&
		addr_add "$ENS" lan0 192.168.50.1/24 && addr_add "$LNS" l1 192.168.50.10/24 &&
		addr_add "$RNS" lan0 192.168.70.1/24 && addr_add "$LNS" l2 192.168.70.10/24 &&
		addr_add "$ENS" inet0 203.0.113.1/25 && addr_add "$INS" i1 203.0.113.10/25 &&
		addr_add "$RNS" inet0 203.0.113.129/25 && addr_add "$INS" i2 203.0.113.130/25 &&
		nsx "$ENS" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0 &&
		nsx "$RNS" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
}
check_ok "LAN and internet namespaces behind E and R" topo || { mesh_dump_logs; t_done; }

fwd4() { nsx "$1" cat /proc/sys/net/ipv4/ip_forward; }
fwd6() { nsx "$1" cat /proc/sys/net/ipv6/conf/all/forwarding; }
no_table() { ! nsx "$1" nft list table inet rustynet-router >/dev/null 2>&1; }
has_table() { nsx "$1" nft list table inet rustynet-router | grep -q masquerade; }
untouched() { [ "$(fwd4 "$1")" = 0 ] && [ "$(fwd6 "$1")" = 0 ] && no_table "$1"; }
forwarding() { [ "$(fwd4 "$1")" = 1 ] && has_table "$1"; }

e_up() {
	rnn E up --server "$MESH_URL" --auth-key "$(mesh_key alice)" --hostname E \
		--advertise-exit-node --advertise-routes 192.168.50.0/24
}
check "E up (alice) offering exit and 192.168.50.0/24" e_up
check "R up (alice) offering nothing" mesh_up R alice
check "C up (bob)" mesh_up C bob
mesh_policy <<'EOF2' >/dev/null
{
	"acls": [
		{"action": "accept", "src": ["*"], "dst": ["*:*"]},
		{"action": "accept", "src": ["bob"], "dst": ["autogroup:internet:*"]},
		{"action": "accept", "src": ["bob"], "dst": ["192.168.50.0/24:*", "192.168.70.0/24:*"]},
	],
}
EOF2
srv_has() { ctl routes list --json | grep -F "$1" | grep -q .; }
check "the server has E's offer" wait_for 3 srv_has 192.168.50.0/24
check "ctl exit approve e" ctl exit approve e
check "ctl routes approve e 192.168.50.0/24" ctl routes approve e 192.168.50.0/24
check "E forwards (within 3 s)" wait_for 3 forwarding "$ENS"

nsx "$INS" socat TCP-LISTEN:80,reuseaddr,fork SYSTEM:'echo from \$SOCAT_PEERADDR' \
	>/dev/null 2>&1 </dev/null &
T_BG+=("$!")
nsx "$LNS" socat TCP-LISTEN:80,reuseaddr,fork SYSTEM:'echo open' >/dev/null 2>&1 </dev/null &
T_BG+=("$!")
wait_for 10 listening "$INS" tcp 0.0.0.0 80 && wait_for 10 listening "$LNS" tcp 0.0.0.0 80
E4=$(mesh_ip4 E) E6=$(mesh_ip6 E) R4=$(mesh_ip4 R) R6=$(mesh_ip6 R) C4=$(mesh_ip4 C)
EKEY=$(mesh_json E 'j["public_key"]') RKEY=$(mesh_json R 'j["public_key"]')
# What a modified client does: the internet host's halves and both LANs at E and R.
by_hand() {
	local r
	nsx "$CNS" wg set "$CIF" peer "$EKEY" \
		allowed-ips "$E4/32,$E6/128,192.168.50.0/24,203.0.113.0/25" || return 1
	nsx "$CNS" wg set "$CIF" peer "$RKEY" \
		allowed-ips "$R4/32,$R6/128,192.168.70.0/24,203.0.113.128/25" || return 1
	for r in 203.0.113.0/24 192.168.50.0/24 192.168.70.0/24; do
		ip -n "$CNS" route replace "$r" dev "$CIF" || return 1
	done
}
get() { tcp_get "$CNS" "$1" 80 3; }
reaches() { get "$1" | grep -q .; }
# blocked ADDR: two tries (each waits 3 s for an answer), both get nothing: a drop must hold.
blocked() { ! reaches "$1" && ! reaches "$1"; }
# r_reaches ADDR: R itself gets an answer from ADDR:80 (the listener and R's own route work:
# the positive control of C's drops through R).
r_reaches() { tcp_get "$RNS" "$1" 80 3 | grep -q .; }
sees_e() { [ "$(get 203.0.113.10)" = "from 203.0.113.1" ]; }
r_controls() { r_reaches 203.0.113.130 && r_reaches 192.168.70.10; }
settle() { local v; v=$(mesh_version "$1"); sleep 1; [ "$(mesh_version "$1")" = "$v" ]; }

check "maps settled" wait_for 5 settle C
check "C routes the internet halves and both LANs at E and R by hand" by_hand
check "subject alive: C reaches 203.0.113.10 through E, seen as E" \
	wait_for 5 sees_e
check "subject alive: C reaches 192.168.50.10 through E" wait_for 5 reaches 192.168.50.10
check "R, before any forged map: not forwarding, no table" untouched "$RNS"

# ---------------------------------------------------------------- the forged map
# R's own map, granted exit and 192.168.70.0/24 with rules for C, signed with the server's key.
python3 - "${MESH_ST[R]}/netmap.json" "$C4" >"$T_DIR/patch.json" <<'PY'
import json, sys
m = json.loads(json.load(open(sys.argv[1]))["map"])
f = m["filter"]
c = sys.argv[2] + "/32"
rules = f["rules"] + [
    {"context": "exit", "proto": "any", "src": [c], "dst": ["0.0.0.0/0", "::/0"],
     "ports": [[0, 65535]]},
    {"context": "subnet", "proto": "any", "src": [c], "dst": ["192.168.70.0/24"],
     "ports": [[0, 65535]]},
]
json.dump({"filter": {"exit": True, "routes": ["192.168.70.0/24"], "rules": rules}}, sys.stdout)
PY
forge() {
	python3 "$ROGUE" forge "${MESH_ST[R]}/netmap.json" "$MESH_CTL_ST/netmap-signing.key" 1000 \
		"$T_DIR/patch.json" >"$T_DIR/forged.json"
}
check "forge R's map with the server's signing key" forge
restart_r() {
	kill -TERM "${MESH_PID[R]}" && wait "${MESH_PID[R]}" 2>/dev/null
	cp "$T_DIR/forged.json" "${MESH_ST[R]}/netmap.json" && mesh_node_start R
}
FV=$(python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["map"])["version"])' "$T_DIR/forged.json")
check "R restarted on the forged map" restart_r
check "R runs the forged map (version $FV)" wait_for 5 sh -c "[ \"\$('$RNCLI' --socket '${MESH_SOCK[R]}' status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"netmap\"][\"version\"])')\" = $FV ]"
refused() {
	[ "$(mesh_json R '(j["router"]["refused_exit"], j["router"]["refused_routes"], j["router"]["approved_exit"], j["router"]["approved_routes"], j["router"]["forwarding"])')" = \
		"(True, ['192.168.70.0/24'], False, [], False)" ]
}
check "status --json: exit and 192.168.70.0/24 refused, nothing approved, not forwarding" refused
check "status (text) names what it refused" \
	sh -c "'$RNCLI' --socket '${MESH_SOCK[R]}' status | grep -q 'refused (granted by the netmap, not offered by this node): exit node routes 192.168.70.0/24'"
check "R's log says so" grep -q "which it does not offer: refused" "${MESH_LOG[R]}"
check "R: forwarding sysctls still off, no table inet rustynet-router" untouched "$RNS"
# From here on no map reaches C (nor E): C's hand-made allowed IPs stay as set.
mesh_ctl_stop
check "C's hand-made routes again (the control server is stopped)" by_hand
# held PEERKEY PREFIX: C's wg still routes PREFIX at PEERKEY (the drops were not for want of it).
held() { nsx "$CNS" wg show "$CIF" allowed-ips | grep -F "$1" | grep -qF "$2"; }
check "the tunnel C-R works: C pings R's mesh address" wait_for 5 mesh_ping C "$R4"
check "subject alive again: C reaches 192.168.50.10 through E" wait_for 5 reaches 192.168.50.10
check "control: R itself reaches 203.0.113.130 and 192.168.70.10 (listeners and R's links work)" \
	r_controls
check "C cannot reach 203.0.113.130 through R" blocked 203.0.113.130
check "C cannot reach R's LAN 192.168.70.10" blocked 192.168.70.10
both_held() { held "$1" "$2" && held "$1" "$3"; }
check "(C still routed both at R)" both_held "$RKEY" 192.168.70.0/24 203.0.113.128/25

# R's host forwards for its own reasons (containers), and its LAN routes the mesh back to R:
# only R's data plane stands between C and the LAN now.
check "R's host turns forwarding on; the LAN routes 100.64.0.0/10 via R" \
	sh -c "ip netns exec '$RNS' sysctl -qw net.ipv4.ip_forward=1 && ip -n '$LNS' route add 100.64.0.0/10 via 192.168.70.1"
check "C still cannot reach 192.168.70.10 (R's filter has no SUBNET context)" \
	blocked 192.168.70.10
check "R still has no table inet rustynet-router" no_table "$RNS"
check "(C still routed 192.168.70.0/24 at R)" held "$RKEY" 192.168.70.0/24

# ---------------------------------------------------------------- a retraction holds at once
# With the server gone (or compromised: it never sends the map that withdraws the approval), E
# stops offering: forwarding and the filter's EXIT/SUBNET contexts go at once, on the same map.
check "with the server stopped, C still reaches 192.168.50.10 through E" \
	wait_for 3 reaches 192.168.50.10
EV=$(mesh_version E)
check "E retracts its offer (exit and 192.168.50.0/24)" \
	rnn E up --advertise-exit-node=false --advertise-routes ""
check "E stops forwarding: sysctls restored, no table (within 3 s)" wait_for 3 untouched "$ENS"
check "... on the same map (no server to send another)" test "$(mesh_version E)" = "$EV"
check "E's status: nothing approved, exit and the route refused" \
	test "$(mesh_json E '(j["router"]["approved_exit"], j["router"]["approved_routes"], j["router"]["refused_exit"], j["router"]["refused_routes"])')" = \
	"(False, [], True, ['192.168.50.0/24'])"
check "the tunnel C-E works: C pings E's mesh address" mesh_ping C "$E4"
check "C can no longer reach 192.168.50.10 through E" blocked 192.168.50.10
check "nor 203.0.113.10" blocked 203.0.113.10
# E's host forwards for its own reasons, and its LAN routes the mesh back: still nothing.
check "E's host turns forwarding on; the LAN routes 100.64.0.0/10 via E" \
	sh -c "ip netns exec '$ENS' sysctl -qw net.ipv4.ip_forward=1 && ip -n '$LNS' route replace 100.64.0.0/10 via 192.168.50.1"
check "C still cannot reach 192.168.50.10 (E's filter has no SUBNET context)" \
	blocked 192.168.50.10
check "(C still routed 192.168.50.0/24 and 203.0.113.0/25 at E)" \
	both_held "$EKEY" 192.168.50.0/24 203.0.113.0/25

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
