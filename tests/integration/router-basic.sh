#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# router-basic: the exit-node / subnet-router side. E advertises exit and 192.168.50.0/24;
# nothing forwards until the admin approves; then forwarding and table inet rustynet-router
# are installed (journal group "router") and undone exactly by withdrawal, `down` and a
# restart after kill -9. The exit enforces the policy in its data plane: a client with hand-made
# routes reaches the internet host only while the policy grants autogroup:internet, and never
# an unapproved LAN.
#
#            ns sw: bridge br0 (198.51.100.0/24, 2001:db8:1::/64)
#     +-------------------+-------------------+
#   ctl .1              E .10               C .11
#   rustynet-control    rustynetd (alice)   rustynetd (bob)
#                        |  lan0 192.168.50.1/24, 192.168.60.1/24
#                        |    `-- ns lan: L 192.168.50.10 (approved), 192.168.60.10 (not)
#                        |  inet0 203.0.113.1/24
#                        `--- ns inet: I 203.0.113.10 (no route back to the mesh)
#
# The client side (exit-node select, policy routing) is not used: C's route to E is made by
# hand (ip route + wg set allowed-ips), as a modified client would.
set -eu
TEST_TAG=router
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 75
need_root
need_cmds python3 wg socat nft

if ! mesh_have_bins; then
	skip "router-basic: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
mesh_init_or_end
mesh_nodes_or_end E C
ENS=${MESH_NS[E]}
LNS="$T_ID-lan" INS="$T_ID-inet"
topo() {
	ns_add "$LNS" && ns_add "$INS" &&
		veth_add "$ENS" lan0 "$LNS" l0 && veth_add "$ENS" inet0 "$INS" i0 &&
		addr_add "$ENS" lan0 192.168.50.1/24 && addr_add "$ENS" lan0 192.168.60.1/24 &&
		addr_add "$LNS" l0 192.168.50.10/24 && addr_add "$LNS" l0 192.168.60.10/24 &&
		ip -n "$LNS" route add default via 192.168.50.1 &&
		addr_add "$ENS" inet0 203.0.113.1/24 && addr_add "$INS" i0 203.0.113.10/24 &&
		nsx "$ENS" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
}
check_ok "LAN and internet namespaces behind E" topo || { mesh_dump_logs; t_done; }

ejson() { mesh_json E "$1"; }
fwd4() { nsx "$ENS" cat /proc/sys/net/ipv4/ip_forward; }
fwd6() { nsx "$ENS" cat /proc/sys/net/ipv6/conf/all/forwarding; }
no_table() { ! nsx "$ENS" nft list table inet rustynet-router >/dev/null 2>&1; }
has_table() { nsx "$ENS" nft list table inet rustynet-router | grep -q masquerade; }
n_tables() { nsx "$ENS" nft list tables | grep -c 'inet rustynet-router' || true; }
untouched() { [ "$(fwd4)" = 0 ] && [ "$(fwd6)" = 0 ] && no_table; }
forwarding() { [ "$(fwd4)" = 1 ] && [ "$(fwd6)" = 1 ] && has_table; }

# ---------------------------------------------------------------- advertising
e_up() {
	rnn E up --server "$MESH_URL" --auth-key "$(mesh_key alice)" --hostname E \
		--advertise-exit-node --advertise-routes 192.168.50.0/24
}
check "E up (alice) advertising exit and 192.168.50.0/24" e_up
check "C up (bob)" mesh_up C bob
adv_ok() { [ "$(ejson 'j["advertised"]')" = "{'exit': True, 'routes': ['192.168.50.0/24']}" ]; }
check "status --json: advertised {exit: true, routes: [192.168.50.0/24]}" adv_ok
srv_has() { ctl routes list --json | grep -F "$1" | grep -q .; }
check "the server has E's offer" wait_for 2 srv_has 192.168.50.0/24
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }
check "advertise.json is 0600" mode_is "${MESH_ST[E]}/advertise.json" 600

check "before approval: not approved, not forwarding" \
	test "$(ejson '(j["router"]["approved_exit"], j["router"]["forwarding"])')" = "(False, False)"
check "before approval: sysctls unchanged, no nft table" untouched

# Bad input: exit 2 (or 1 from the daemon), advertise.json unchanged.
rc_is() {
	local want=$1 rc=0
	shift
	"$@" >"$T_DIR/rc.out" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || { cat "$T_DIR/rc.out"; return 1; }
}
before=$(cat "${MESH_ST[E]}/advertise.json")
check "route advertise 192.168.50.1/24 (host bits): exit 2" rc_is 2 rnn E route advertise 192.168.50.1/24
check "... says what it meant" grep -q "did you mean 192.168.50.0/24" "$T_DIR/rc.out"
check "route advertise 100.64.0.0/10: exit 2" rc_is 2 rnn E route advertise 100.64.0.0/10
check "route advertise 0.0.0.0/0: exit 2" rc_is 2 rnn E route advertise 0.0.0.0/0
check "up --advertise-routes 10.0.0.0/8,nonsense: exit 2" \
	rc_is 2 rnn E up --advertise-routes 10.0.0.0/8,nonsense
check "up --advertise-exit-node=maybe: exit 2" rc_is 2 rnn E up --advertise-exit-node=maybe
check "route retract of a route not advertised: exit 1" rc_is 1 rnn E route retract 10.9.0.0/16
m6=$(mesh_ip6 E | sed 's/::.*//')
check "route advertise inside the mesh /48: exit 1" rc_is 1 rnn E route advertise "$m6::/64"
check "advertise.json unchanged by bad input" test "$before" = "$(cat "${MESH_ST[E]}/advertise.json")"

t0=$(now_ms)
check "route advertise 192.168.60.0/24 on the running node" rnn E route advertise 192.168.60.0/24
check "... the server has it within 2 s" wait_for 2 srv_has 192.168.60.0/24
note "offer reached the server $(($(now_ms) - t0)) ms after route advertise"
check "route retract 192.168.60.0/24" rnn E route retract 192.168.60.0/24
srv_lacks() { ! srv_has "$1"; }
check "... gone from the server within 2 s" wait_for 2 srv_lacks 192.168.60.0/24

# ---------------------------------------------------------------- approval
POLICY_ALL='{
	"acls": [
		{"action": "accept", "src": ["*"], "dst": ["*:*"]},
		{"action": "accept", "src": ["bob"], "dst": ["autogroup:internet:*"]},
		{"action": "accept", "src": ["bob"], "dst": ["192.168.50.0/24:*"]},
	],
}'
POLICY_LAN_ONLY='{
	"acls": [
		{"action": "accept", "src": ["*"], "dst": ["*:*"]},
		{"action": "accept", "src": ["bob"], "dst": ["192.168.50.0/24:*"]},
	],
}'
check "policy: bob may use exit nodes and 192.168.50.0/24" mesh_policy <<<"$POLICY_ALL"
check "ctl exit approve e" ctl exit approve e
check "ctl routes approve e 192.168.50.0/24" ctl routes approve e 192.168.50.0/24
approved() {
	[ "$(ejson '(j["router"]["approved_exit"], j["router"]["approved_routes"], j["router"]["forwarding"])')" = \
		"(True, ['192.168.50.0/24'], True)" ]
}
check "E status: approved exit and route, forwarding (within 2 s)" wait_for 2 approved
check "forwarding sysctls on and table inet rustynet-router installed" forwarding
check "the journal holds group router" grep -q '"router"' "${MESH_ST[E]}/system-journal.json"
check "rustynet status shows it" sh -c "'$RNCLI' --socket '${MESH_SOCK[E]}' status | grep -q 'forwarding: on'"

# ---------------------------------------------------------------- the data plane decides
E4=$(mesh_ip4 E) E6=$(mesh_ip6 E)
EKEY=$(mesh_json E 'j["public_key"]')
CIF=${MESH_IF[C]} CNS=${MESH_NS[C]}
nsx "$INS" socat TCP-LISTEN:80,reuseaddr,fork SYSTEM:'echo from \$SOCAT_PEERADDR' \
	>/dev/null 2>&1 </dev/null &
T_BG+=("$!")
nsx "$LNS" socat TCP-LISTEN:80,reuseaddr,fork SYSTEM:'echo open' >/dev/null 2>&1 </dev/null &
T_BG+=("$!")
wait_for 10 listening "$INS" tcp 0.0.0.0 80 && wait_for 10 listening "$LNS" tcp 0.0.0.0 80
# What a modified client does: route everything at E, whatever its map says.
by_hand() {
	local r
	nsx "$CNS" wg set "$CIF" peer "$EKEY" \
		allowed-ips "$E4/32,$E6/128,192.168.50.0/24,192.168.60.0/24,0.0.0.0/0" || return 1
	for r in 203.0.113.0/24 192.168.50.0/24 192.168.60.0/24; do
		ip -n "$CNS" route replace "$r" dev "$CIF" || return 1
	done
}
get() { tcp_get "$CNS" "$1" 80 3; }
sees_exit() { get 203.0.113.10 | grep -qx 'from 203.0.113.1'; }
reaches() { get "$1" | grep -q .; }
blocked() { ! reaches "$1"; }
settle() { local v; v=$(mesh_version "$1"); sleep 1; [ "$(mesh_version "$1")" = "$v" ]; }

check "maps settled" wait_for 5 settle C
check "C routes 203.0.113.0/24 and both LANs at E by hand" by_hand
check "granted: C reaches I through E, and I sees E's address (masquerade)" \
	wait_for 5 sees_exit
check "granted LAN: C reaches 192.168.50.10" reaches 192.168.50.10
# control: the listener answers on 192.168.60.10 and E itself reaches it (its route to the
# unapproved LAN works), so the drop below is E's data plane
e_reaches_l60() { tcp_get "$ENS" 192.168.60.10 80 3 | grep -q open; }
check "control: E itself reaches 192.168.60.10:80 on its LAN" e_reaches_l60
check "unapproved LAN 192.168.60.0/24: dropped at E" blocked 192.168.60.10

check "policy without autogroup:internet" mesh_policy <<<"$POLICY_LAN_ONLY"
check "maps settled" wait_for 5 settle C
check "C's hand-made routes again (a new map resets allowed IPs)" by_hand
check "not granted: C cannot reach I through E (E's data plane drops it)" blocked 203.0.113.10
check "still granted: C reaches 192.168.50.10" reaches 192.168.50.10
check "E still forwards (the drop is the filter, not the kernel)" forwarding

# ---------------------------------------------------------------- withdrawal, down, crash
check "E stops advertising the exit and the route" \
	rnn E up --advertise-exit-node=false --advertise-routes ""
not_router() { [ "$(ejson 'j["router"]["forwarding"]')" = False ] && untouched; }
check "the map withdraws the approval: sysctls restored, table gone (within 3 s)" \
	wait_for 3 not_router
check "advertise again" rnn E up --advertise-exit-node --advertise-routes 192.168.50.0/24
approve() { ctl exit approve e >/dev/null && ctl routes approve e 192.168.50.0/24 >/dev/null; }
check "approve again (once the server has the offer)" wait_for 3 approve
check "forwarding again" wait_for 3 forwarding

# ---------------------------------------------------------------- unapprove, auto-approve
# srv_is PYTHON-EXPR: true of e's row in `routes list --json` (as r).
srv_is() {
	ctl routes list --json | python3 -c "import json,sys
r=[n for n in json.load(sys.stdin)['routes'] if n['node']=='e'][0]
sys.exit(0 if ($1) else 1)"
}
check "routes unapprove e 192.168.50.0/24" ctl routes unapprove e 192.168.50.0/24
check "... the server keeps no approved route of e" srv_is "r['approved_routes'] == []"
e_routes_are() { [ "$(ejson 'j["router"]["approved_routes"]')" = "$1" ]; }
check "... and E's map says so (within 3 s)" wait_for 3 e_routes_are "[]"
check "routes unapprove of a route not approved fails" \
	fails_with 1 "not an approved route" ctl routes unapprove e 192.168.50.0/24
check "exit unapprove e" ctl exit unapprove e
check "... the server keeps e's exit unapproved" srv_is "not r['exit_approved']"
check "exit unapprove again fails" fails_with 1 "not an approved exit node" ctl exit unapprove e
# An admin's approval survives the node's next offer when autoApprovers approve another route.
check "approve 192.168.50.0/24 by hand" ctl routes approve e 192.168.50.0/24
check "policy: autoApprovers approve alice's 192.168.60.0/24" mesh_policy <<<'{
	"autoApprovers": {"routes": {"192.168.60.0/24": ["alice"]}},
	"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
}'
check "E advertises 192.168.50.0/24 and 192.168.60.0/24" \
	rnn E up --advertise-exit-node --advertise-routes 192.168.50.0/24,192.168.60.0/24
check "both approved: the hand approval kept, the new route auto-approved (within 3 s)" \
	wait_for 3 srv_is "sorted(r['approved_routes']) == ['192.168.50.0/24', '192.168.60.0/24']"
check "exit approve e again" ctl exit approve e
check "forwarding still" wait_for 3 forwarding

check "rustynet down on E" rnn E down
gone() { ! kill -0 "${MESH_PID[E]}" 2>/dev/null; }
check "rustynetd on E exits" wait_for 10 gone
check "after down: sysctls restored and the table gone" untouched

check "rustynetd E restarts (cached map: router again)" mesh_node_start E
check "forwarding after the restart" wait_for 5 forwarding
kill -KILL "${MESH_PID[E]}"
wait "${MESH_PID[E]}" 2>/dev/null || true
check "after kill -9 the table and sysctls stay (nothing ran)" forwarding
check "rustynetd E restarts after the crash" mesh_node_start E
check "forwarding after crash and restart" wait_for 5 forwarding
check "exactly one table inet rustynet-router" test "$(n_tables)" = 1
# (table inet rustynet-guard has its own entry: count the router's)
check "one nft_table entry for rustynet-router in the journal" \
	test "$(grep -c '"rustynet-router"' "${MESH_ST[E]}/system-journal.json")" = 1
check "final down" rnn E down
check "rustynetd on E exits" wait_for 10 gone
check "after the final down: sysctls restored and the table gone" untouched

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
