#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# exit-node: clients using a shared exit node and subnet router, the LAN toggle, and the
# protocol-filter matrix. Topology (tests/exit-lib.sh):
#
#   c1 (alice) c2 (bob) c3 (carol) e (exit+router) e2 (exit)  ctl    isp .254 --- inet I 203.0.113.10
#      .10       .11       .12        .13             .14       .1      |
#   ---------------------------- br0 198.51.100.0/24 -------------------+
#                                      e: up0 192.0.2.1 --- isp (E's uplink, masqueraded)
#                                         lan50 --- L1 192.168.50.10 (granted)
#                                         lan60 --- L2 192.168.60.10 (approved, never granted)
#
# Policy: everyone reaches every node; alice: tcp/443 only, to the internet and to
# 192.168.50.0/24; bob: anything to both; carol: the LAN 192.168.50.0/24 only (no internet).
# Checks: the issue's list — select/off/select-another leave no stale rule, route, nft object
# or sysctl; internet traffic leaves through E (I sees E's uplink address; c1's underlay shows
# only WireGuard to E); LAN-off blocks L1 and L2, LAN-on reaches L1 only, and a client's own
# route to L2 through the tunnel is still dropped at E; the protocol matrix {alice, bob} x
# {internet via E, LAN via E} x {tcp/443, tcp/8080, udp, icmp}; carol can select no exit and
# her hand-made packets to I through E are dropped; E killed: no fallback to direct internet,
# status says the exit does not answer,
# the mesh still works.
set -eu
TEST_TAG=exit
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
# shellcheck source=tests/exit-lib.sh
. "$(dirname "$0")/../exit-lib.sh"
plan 76
need_root
need_cmds python3 socat tcpdump nft wg

if ! mesh_have_bins; then
	skip "exit-node: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
if ! "$RNCLI" up --help 2>&1 | grep -q -- --advertise-exit-node ||
	! "$RNCLI" --help 2>&1 | grep -q exit-node; then
	skip "exit-node: all checks" "this rustynet has no exit-node support yet"
	t_done
fi
if ! check_ok "topology: control server, 5 nodes, ISP, internet host, two LANs" exit_topology; then
	mesh_dump_logs
	t_done
fi

POLICY='{
	"acls": [
		{"action": "accept", "src": ["*"], "dst": ["*:*"]},
		{"action": "accept", "src": ["alice"], "proto": "tcp",
		 "dst": ["autogroup:internet:443", "192.168.50.0/24:443"]},
		{"action": "accept", "src": ["bob"], "dst": ["autogroup:internet:*", "192.168.50.0/24:*"]},
		{"action": "accept", "src": ["carol"], "dst": ["192.168.50.0/24:*"]},
		{"action": "accept", "src": ["dave"], "dst": ["autogroup:internet:*"]},
	],
}'
# exit_fwd_state NS: what forwarding for others needs: the forwarding sysctls and the router's
# nft table. Taken before `up --advertise-exit-node`: a node that forwarded as soon as it
# advertised would already differ from it (a snapshot taken after that `up` would not).
exit_fwd_state() {
	nsx "$1" sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding
	nsx "$1" nft list table inet rustynet-router 2>&1 | head -n 3
}
E_FWD0=$(exit_fwd_state "${MESH_NS[e]}")
check "c1 up (alice)" mesh_up c1 alice
check "c2 up (bob)" mesh_up c2 bob
check "c3 up (carol)" mesh_up c3 carol
check "c4 up (dave)" mesh_up c4 dave
# after the enrollments: a policy naming users that do not exist yet is refused
check "policy set" mesh_policy <<<"$POLICY"
up_exit() {
	local key
	key=$(mesh_key admin) || return 1
	rnn "$1" up --server "$MESH_URL" --auth-key "$key" --hostname "$1" "${@:2}"
}
check "e up, advertising an exit node and two LANs" \
	up_exit e --advertise-exit-node --advertise-routes 192.168.50.0/24,192.168.60.0/24
check "e2 up, advertising an exit node" up_exit e2 --advertise-exit-node

exits_of() { rnn "$1" exit-node list --json | python3 -c 'import json,sys; print(" ".join(sorted(e["name"] for e in json.load(sys.stdin)["exit_nodes"])))'; }
# no_exits NODE: NODE's daemon answers `exit-node list` and lists no exit.
no_exits() {
	local l
	l=$(exits_of "$1") || return 1
	echo "exits of $1: '$l'"
	[ -z "$l" ]
}
# select_refused NODE EXIT: `exit-node select` fails and says why (not a dead daemon).
select_refused() {
	local rc=0
	rnn "$1" exit-node select "$2" >"$T_DIR/sel.out" 2>&1 || rc=$?
	cat "$T_DIR/sel.out"
	[ "$rc" != 0 ] && grep -q "is not an exit node this node may use" "$T_DIR/sel.out"
}
fwd_unchanged() {
	exit_fwd_state "${MESH_NS[e]}" >"$T_DIR/e.fwd"
	printf '%s\n' "$E_FWD0" | diff -u - "$T_DIR/e.fwd"
}
check "before approval, c1 may use no exit" no_exits c1
check "before approval, selecting e fails" select_refused c1 e
check "before approval, e forwards nothing (sysctls and nft as before its up)" fwd_unchanged

check "admin approves e as exit" ctl exit approve e
check "admin approves both of e's LANs" ctl routes approve e 192.168.50.0/24 192.168.60.0/24
check "admin approves e2 as exit" ctl exit approve e2
exits_are() { [ "$(exits_of "$1")" = "$2" ]; }
check "c1 (alice) sees e and e2 as exits within 2 s" wait_for 2 exits_are c1 "e e2"
check "c3 (carol, no internet grant) sees no exit" no_exits c3
e_forwards() {
	nsx "${MESH_NS[e]}" sysctl -n net.ipv4.ip_forward | grep -qx 1 &&
		nsx "${MESH_NS[e]}" nft list table inet rustynet-router >/dev/null
}
check "e is now forwarding (ip_forward=1, table inet rustynet-router: the state compared above)" \
	wait_for 3 e_forwards

for p in 443 8080; do exit_listen inet tcp $p; exit_listen l1 tcp $p; exit_listen l2 tcp $p; done
exit_listen inet tcp6 443
exit_listen inet udp 5353
exit_listen l1 udp 5353

# seen_as NODE ADDR: NODE's tcp/443 to I arrives from ADDR.
seen_as() { [ "$(exit_probe "$1" tcp "$I_ADDR" 443)" = "from $2" ]; }
# ---------------------------------------------------------------- before: direct internet
check "without an exit, c1 reaches I directly (I sees 198.51.100.10)" wait_for 10 seen_as c1 198.51.100.10
# seen6_as NODE ADDR: NODE's tcp/443 to I over IPv6 arrives from ADDR (socat prints it expanded).
seen6_as() {
	exit_probe "$1" tcp6 "$I6_ADDR" 443 | python3 -c 'import ipaddress,sys
s = sys.stdin.read().strip()
sys.exit(0 if s.startswith("from ") and ipaddress.ip_address(s[5:].strip("[]")) == ipaddress.ip_address(sys.argv[1]) else 1)' "$2"
}
check "without an exit, c1 reaches I over IPv6 directly (I sees 2001:db8:1::10)" \
	wait_for 10 seen6_as c1 2001:db8:1::10
C1_STATE0=$(exit_net_state "${MESH_NS[c1]}")

# ---------------------------------------------------------------- select e: internet via E
check "c1 selects e" rnn c1 exit-node select e
check "c1 -> I tcp/443 leaves through e (I sees e's uplink address)" wait_for 15 seen_as c1 "$E_UPLINK"
check "c1 -> I over IPv6 leaves through e too (I sees e's uplink $E6_UPLINK)" \
	wait_for 10 seen6_as c1 "$E6_UPLINK"
no_host_route() { ! ip -n "${MESH_NS[c1]}" route show table all | grep -q "^198\.51\.100\.13 "; }
check "no host route to e's endpoint was added (the fwmark bypasses the tunnel)" no_host_route
check "ip route get I on c1 is the tunnel" \
	sh -c "ip -n '${MESH_NS[c1]}' route get $I_ADDR | grep -q 'dev ${MESH_IF[c1]}'"
# e's underlay addresses, both: a path check races e's candidates, and c1's endpoint for e may
# end on e's IPv6 address on the same LAN.
E_HOSTS="(host 198.51.100.13 or host 2001:db8:1::13)"
E_DSTS="(dst host 198.51.100.13 or dst host 2001:db8:1::13)"
only_wg_on_underlay() {
	capture_start "${MESH_NS[c1]}" e0 || return 1
	exit_probe c1 tcp "$I_ADDR" 443 >/dev/null
	exit_probe c1 tcp "$I_ADDR" 443 >/dev/null
	capture_stop
	# The control server's connection leaves outside the tunnel by design (the kill switch
	# admits it, docs/leak-matrix.md): a long-poll restarting meanwhile is not a leak.
	local sent="((ip and src host 198.51.100.10 and not (tcp and dst host 198.51.100.1 and dst port 8443)) or (ip6 and src host 2001:db8:1::10 and not icmp6))"
	local all wg e
	all=$(capture_count "$CAPTURE_FILE" "$sent") &&
		wg=$(capture_count "$CAPTURE_FILE" "$sent and udp and src port 41641 and dst port 41641") &&
		e=$(capture_count "$CAPTURE_FILE" "udp and $E_HOSTS and port 41641") || return 1
	echo "packets c1 sent on its underlay: $all, WireGuard: $wg; WireGuard with e: $e"
	tcpdump -r "$CAPTURE_FILE" -n "$sent and not (udp and src port 41641 and dst port 41641)" \
		2>/dev/null | head -n 5
	[ "$e" -gt 0 ] && [ "$all" = "$wg" ]
}
# (WireGuard to the mesh's other peers and to e's other candidates counts: a path re-check
# may race them then.)
check "c1's underlay carries only WireGuard UDP (the tunnel to e) meanwhile" only_wg_on_underlay
check "the mesh still works: c1 pings c2" mesh_ping c1 "$(mesh_ip4 c2)"
check "the control server is still reached: c1 connected" \
	sh -c "'$RNCLI' --socket '${MESH_SOCK[c1]}' status --json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"server\"][\"connected\"]'"
check "status shows the selected exit and LAN access off" \
	sh -c "'$RNCLI' --socket '${MESH_SOCK[c1]}' status --json | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j[\"exit_node\"][\"name\"] == \"e\" and j[\"lan_access\"] is False, j'"

# ---------------------------------------------------------------- LAN toggle
check "LAN-off: c1 cannot reach L1 through e" exit_blocked c1 tcp "$L1_ADDR" 443
check "LAN-off: c1 cannot reach L2 through e" exit_blocked c1 tcp "$L2_ADDR" 443
check "lan-access on" rnn c1 lan-access on
check "LAN-on: c1 reaches L1 tcp/443" wait_for 5 exit_reaches c1 tcp "$L1_ADDR" 443
check "control: L2's tcp/443 listener answers e itself (the drops of L2 below are the filter)" \
	exit_reaches e tcp "$L2_ADDR" 443
check "LAN-on: c1 still cannot reach L2 (never granted)" exit_blocked c1 tcp "$L2_ADDR" 443
check "status lists 192.168.50.0/24 as the authorized LAN, not .60" \
	sh -c "'$RNCLI' --socket '${MESH_SOCK[c1]}' status --json | grep -F 192.168.50.0/24 && ! '$RNCLI' --socket '${MESH_SOCK[c1]}' status --json | grep -F 192.168.60.0/24"
# route_via_e NODE CIDR: what a modified client could do: put CIDR into its tunnel towards e
# by hand (e's allowed IPs on NODE gain CIDR, and a route for it into the tunnel).
route_via_e() {
	local n=$1 cidr=$2 pub
	pub=$(mesh_json "$n" '[p["public_key"] for p in j["peers"] if p["name"] == "e"][0]') || return 1
	nsx "${MESH_NS[$n]}" wg set "${MESH_IF[$n]}" peer "$pub" allowed-ips \
		"$(nsx "${MESH_NS[$n]}" wg show "${MESH_IF[$n]}" allowed-ips | awk -v k="$pub" '$1 == k {for (i = 2; i <= NF; i++) printf "%s%s", $i, (i < NF ? "," : "")}'),$cidr" || return 1
	ip -n "${MESH_NS[$n]}" route replace "$cidr" dev "${MESH_IF[$n]}" table main
}
own_route_to_l2() {
	route_via_e c1 192.168.60.0/24 || return 1
	exit_blocked c1 tcp "$L2_ADDR" 443 && exit_blocked c1 icmp "$L2_ADDR"
}
check "a client that routes 192.168.60.0/24 into the tunnel itself still cannot reach L2" own_route_to_l2
ip -n "${MESH_NS[c1]}" route del 192.168.60.0/24 dev "${MESH_IF[c1]}" table main 2>/dev/null || true

# ---------------------------------------------------------------- the protocol matrix
check "c2 (bob) selects e" rnn c2 exit-node select e
check "c2 lan-access on" rnn c2 lan-access on
# client  target      proto port  expect
MATRIX="
c1 $I_ADDR  tcp 443  allow
c1 $I_ADDR  tcp 8080 deny
c1 $I_ADDR  udp 5353 deny
c1 $I_ADDR  icmp 0   deny
c1 $L1_ADDR tcp 443  allow
c1 $L1_ADDR tcp 8080 deny
c1 $L1_ADDR udp 5353 deny
c1 $L1_ADDR icmp 0   deny
c2 $I_ADDR  tcp 443  allow
c2 $I_ADDR  tcp 8080 allow
c2 $I_ADDR  udp 5353 allow
c2 $I_ADDR  icmp 0   allow
c2 $L1_ADDR tcp 443  allow
c2 $L1_ADDR tcp 8080 allow
c2 $L1_ADDR udp 5353 allow
c2 $L1_ADDR icmp 0   allow
c2 $L2_ADDR tcp 443  deny
"
wait_for 5 exit_reaches c2 tcp "$I_ADDR" 8080 || true
while read -r who addr proto port want; do
	[ -n "$who" ] || continue
	if [ "$want" = allow ]; then
		check "matrix: $who -> $addr $proto/$port through e is allowed" exit_reaches "$who" "$proto" "$addr" "$port"
	else
		check "matrix: $who -> $addr $proto/$port through e is dropped" exit_blocked "$who" "$proto" "$addr" "$port"
	fi
done <<<"$MATRIX"

# ---------------------------------------------------------------- carol: LAN grant, no exit grant
check "c3 (carol) cannot select e: not granted the internet" select_refused c3 e
check "c3's refused select changed nothing" \
	sh -c "'$RNCLI' --socket '${MESH_SOCK[c3]}' status --json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"exit_node\"] is None'"
handmade_via_e() {
	route_via_e c3 203.0.113.0/24 || return 1
	exit_blocked c3 tcp "$I_ADDR" 443 && exit_blocked c3 icmp "$I_ADDR"
}
check "c3's hand-made packets to I through e are dropped at e" handmade_via_e
check "c3 lan-access on" rnn c3 lan-access on
check "c3 reaches L1 (its LAN grant works in the subnet context)" \
	wait_for 5 exit_reaches c3 tcp "$L1_ADDR" 8080

# ---------------------------------------------------------------- dave: exit grant, no LAN grant
check "c4 (dave) selects e" rnn c4 exit-node select e
check "c4 lan-access on" rnn c4 lan-access on
check "c4 reaches I on any port (tcp/8080)" wait_for 5 exit_reaches c4 tcp "$I_ADDR" 8080
no_lan_routes() { rnn c4 status --json | python3 -c 'import json,sys; assert json.load(sys.stdin)["lan_routes"] == []'; }
check "c4's status routes no LAN (an internet grant is not a LAN grant)" no_lan_routes
handmade_lan() {
	route_via_e c4 192.168.50.0/24 || return 1
	exit_blocked c4 tcp "$L1_ADDR" 8080 && exit_blocked c4 icmp "$L1_ADDR"
}
check "c4's hand-made packets to L1 through e are dropped (exit context never admits a LAN)" handmade_lan

# ---------------------------------------------------------------- switch, off: no stale state
check "c1 switches to e2" rnn c1 exit-node select e2
check "c1 -> I now leaves through e2 (I sees e2's address)" wait_for 5 seen_as c1 198.51.100.14
check "lan-access off" rnn c1 lan-access off
check "exit-node off" rnn c1 exit-node off
same_state() {
	exit_net_state "${MESH_NS[c1]}" >"$T_DIR/c1.after"
	printf '%s\n' "$C1_STATE0" >"$T_DIR/c1.before"
	diff -u "$T_DIR/c1.before" "$T_DIR/c1.after"
}
check "after off: every rule, route, nft object and sysctl of c1 as before select" wait_for 5 same_state
check "after off, c1 reaches I directly again" wait_for 10 seen_as c1 198.51.100.10

# ---------------------------------------------------------------- the exit dies
check "c2 still uses e" seen_as c2 "$E_UPLINK"
kill -KILL "${MESH_PID[e]}" 2>/dev/null || true
no_fallback() {
	capture_start "${MESH_NS[c2]}" e0 || return 1
	exit_probe c2 tcp "$I_ADDR" 443 >"$T_DIR/dead.out"
	exit_probe c2 icmp "$I_ADDR" >>"$T_DIR/dead.out"
	capture_stop
	local direct wg
	direct=$(capture_count "$CAPTURE_FILE" "host $I_ADDR") &&
		wg=$(capture_count "$CAPTURE_FILE" "udp and $E_DSTS and dst port 41641") ||
		return 1
	echo "answers: $(cat "$T_DIR/dead.out"); packets to I on the underlay: $direct, WireGuard to e: $wg"
	[ ! -s "$T_DIR/dead.out" ] && [ "$direct" = 0 ] && [ "$wg" -gt 0 ]
}
check "e dead: c2's internet traffic is blocked, never sent directly" no_fallback
check "e dead: the mesh still works (c2 pings c1)" mesh_ping c2 "$(mesh_ip4 c1)"
nsx "${MESH_NS[c2]}" ping -n -q -i 0.5 -w 40 "$I_ADDR" >/dev/null 2>&1 &
T_BG+=("$!")
exit_problem() {
	rnn c2 status --json | python3 -c 'import json,sys; x=json.load(sys.stdin)["exit_node"]; print(x); assert not x["reachable"] and x["problem"]'
}
check "e dead: status says the exit is not reachable, and why (within 40 s)" wait_for 40 exit_problem

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
