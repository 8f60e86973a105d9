#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# exit-nat: an exit node behind one home-router NAT serves a client behind another, over a
# direct NAT-to-NAT path (docs/exit-nodes.md, docs/nat-traversal.md). exit-relay.sh runs this
# script with EXIT_NAT_PATH=relay: both NATs map every destination to a new port, no direct
# path opens, and the same checks run on the path through the control server's relay.
#
#            ns sw: bridge br0 (198.51.100.0/24), the "internet"
#     +----------------+------------------+------------------+
#   ctl .1           re .40             rc .42             inet .30 (I: tcp/443, udp/5353, udp/53)
#   control,         masquerade         masquerade
#   STUN :3478,      10.40.0.0/24       10.42.0.0/24       up .53 (dnsmasq: www.example.test,
#   relay (relay run)
#                                                          the network's DNS upstream)
#                    e 10.40.0.2        c1 10.42.0.2 (alice) [capture on e0]
#                    (exit + router)
#                    lan77 192.168.77.1 --- ns l: L 192.168.77.10 (the exit's LAN)
#
# Both e and c1 run with strict rp_filter. e advertises an exit and 192.168.77.0/24 (both
# approved); alice may use the internet and that LAN. Checks: both NAT mappings; before
# selection I sees c1's NAT address, after `exit-node select e` re's (e forwards out of its
# underlay, behind its NAT); the path is direct, each side at the other's NAT address; the LAN
# toggle off/on/off; DNS: a public name asked of c1's Magic DNS is answered, nothing on port
# 53/853 on c1's underlay, the query leaves re from its address; under a traffic loop to I
# (tests/leak-lib.sh) c1's underlay carries nothing but WireGuard to e's candidates, the
# control connection and STUN to the control server, while the path works, while re drops the
# WireGuard UDP (the kill switch holds), and, the path back (direct again), while e's rustynetd
# is killed; control: `exit-node off` and the same capture sees the loop's packets to I.
# Relayed: the capture's tunnel packets are the relay connection (the leak filter admits it and
# the probes of e's reflexive candidate); rc drops the relay connection where re dropped WireGuard.
set -eu
EXIT_NAT_PATH=${EXIT_NAT_PATH:-direct}
TEST_TAG=${TEST_TAG:-exitnat}
# shellcheck source=tests/leak-lib.sh
. "$(dirname "$0")/../leak-lib.sh"
# shellcheck source=tests/nat-lib.sh
. "$(dirname "$0")/../nat-lib.sh"
plan 35
leak_preamble conntrack dig dnsmasq

# leak-lib's names for this topology: e is reached at re's address; I is on the switch.
I_ADDR=198.51.100.30
E_UL4=198.51.100.40
E_UL6=2001:db8:1::40
C_NAT=198.51.100.42
L_ADDR=192.168.77.10
# what else c1 may send on its underlay, from rustynetd's WireGuard socket: WireGuard to e's host
# candidates (its addresses on re's LAN and on its own LAN: the path chooser tries them; they go
# nowhere past rc) and STUN to the control server
LEAK_ALLOW="(udp and src port $WG_PORT and dst port $WG_PORT and
	(dst host 10.40.0.2 or dst host 192.168.77.1)) or
	(udp and src port $WG_PORT and dst host $CTL_UL4 and dst port 3478)"
MESH_CTL_ARGS=(--stun-listen 198.51.100.1)
NAT=preserve
if [ "$EXIT_NAT_PATH" = relay ]; then
	NAT=random
	MESH_CTL_ARGS+=(--relay)
	# the relay connection (UDP, or TLS after a fallback) carries the tunnel; the WireGuard
	# socket still probes e's reflexive candidate, at re's address on a port re chose
	LEAK_TUNNEL="dst host $CTL_UL4 and ((udp and dst port 3479) or (tcp and dst port 443))"
	LEAK_ALLOW="$LEAK_ALLOW or ($LEAK_TUNNEL) or (udp and src port $WG_PORT and dst host $E_UL4)"
fi

mesh_init_or_end
topology() {
	nat_router re 40 40 $NAT && nat_router rc 42 42 $NAT || return 1
	exit_host inet && mesh_link "${EXIT_NS[inet]}" w0 30 || return 1
	exit_host l && mesh_upstream_start "$T_ID-up"
}
check_ok "two NAT routers, the internet host I and a resolver (.53)" topology ||
	{ mesh_dump_logs; t_done; }
check_ok "rustynetd e starts behind re" mesh_node e nat_link re || { mesh_dump_logs; t_done; }
check_ok "rustynetd c1 starts behind rc" mesh_node c1 nat_link rc || { mesh_dump_logs; t_done; }
strict_rp() {
	local n
	for n in e c1; do
		nsx "${MESH_NS[$n]}" sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.e0.rp_filter=1 ||
			return 1
	done
}
check "strict reverse-path filtering on e and c1 (exit-rpfilter.sh's client setting)" strict_rp
exit_lan() {
	veth_add "${MESH_NS[e]}" lan77 "${EXIT_NS[l]}" l0 &&
		addr_add "${MESH_NS[e]}" lan77 192.168.77.1/24 &&
		addr_add "${EXIT_NS[l]}" l0 "$L_ADDR/24" &&
		ip -n "${EXIT_NS[l]}" route add default via 192.168.77.1
}
check_ok "e's LAN 192.168.77.0/24 with host L" exit_lan || { mesh_dump_logs; t_done; }

check "c1 up (alice)" mesh_up c1 alice
check "policy: alice may use the internet and e's LAN" mesh_policy <<<'{"acls": [
	{"action": "accept", "src": ["*"], "dst": ["*:*"]},
	{"action": "accept", "src": ["alice"], "dst": ["autogroup:internet:*", "192.168.77.0/24:*"]}]}'
up_exit() {
	local key
	key=$(mesh_key admin) || return 1
	rnn e up --server "$MESH_URL" --auth-key "$key" --hostname e --advertise-exit-node \
		--advertise-routes 192.168.77.0/24
}
check "e up, advertising an exit node and 192.168.77.0/24" up_exit
approve() { ctl exit approve e && ctl routes approve e 192.168.77.0/24; }
check "admin approves e as exit and its LAN" approve

mapping() { mesh_json "$1" 'j["nat"]["mappings"]["ipv4"]'; }
mapped() { [ "$(mapping "$1")" = "$2" ]; }
# mapped_elsewhere X ADDR: X's mapping is at ADDR on another port than its WireGuard port.
mapped_elsewhere() {
	local m
	m=$(mapping "$1") && echo "$1's mapping: $m" && [ "${m%:*}" = "$2" ] && [ "${m##*:}" != "$WG_PORT" ]
}
if [ "$EXIT_NAT_PATH" = relay ]; then
	check "e's mapping is re's address on a port re chose" wait_for 10 mapped_elsewhere e "$E_UL4"
	check "c1's mapping is rc's address on a port rc chose" wait_for 10 mapped_elsewhere c1 "$C_NAT"
else
	check "e's mapping is re's address, port kept: $E_UL4:$WG_PORT" wait_for 10 mapped e "$E_UL4:$WG_PORT"
	check "c1's mapping is rc's: $C_NAT:$WG_PORT" wait_for 10 mapped c1 "$C_NAT:$WG_PORT"
fi

exit_listen inet tcp 443
exit_listen inet udp 5353
exit_listen inet udp 53
exit_listen l tcp 443
check "without an exit, I sees c1's NAT address $C_NAT" wait_for 10 seen_as "$C_NAT"

select_e() {
	wait_for 5 sh -c "'$RNCLI' --socket '${MESH_SOCK[c1]}' exit-node list | grep -qw e" &&
		rnn c1 exit-node select e
}
check "c1 selects e" select_e
check "c1 -> I leaves through e, behind re: I sees re's address $E_UL4" wait_for 30 seen_as "$E_UL4"

# path_of X Y: X's endpoint for peer Y, the path's kind and relay, and whether it works,
# "ENDPOINT KIND RELAY WORKING".
path_of() {
	rnn "$1" status --json | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin)["peers"] if p.get("name") == sys.argv[1]][0]
print(p["endpoint"], p["path"]["kind"], p["path"].get("relay"), p["path"]["working"])' "$2"
}
direct_at() { local p; p=$(path_of "$1" "$2") && echo "$1 -> $2: $p" && [ "$p" = "$3 direct None True" ]; }
relayed() { local p; p=$(path_of "$1" "$2") && echo "$1 -> $2: $p" && [ "${p#* }" = "relay control True" ]; }
# on_path X Y ENDPOINT: X's path to Y is the kind this run is about (direct: at ENDPOINT).
on_path() {
	if [ "$EXIT_NAT_PATH" = relay ]; then relayed "$1" "$2"; else direct_at "$1" "$2" "$3"; fi
}
if [ "$EXIT_NAT_PATH" = relay ]; then
	check "c1 reaches e through the control server's relay" wait_for 20 relayed c1 e
	check "e reaches c1 through the relay" wait_for 20 relayed e c1
else
	check "c1 reaches e directly at re's public address" wait_for 5 direct_at c1 e "$E_UL4:$WG_PORT"
	check "e reaches c1 directly at rc's public address" wait_for 5 direct_at e c1 "$C_NAT:$WG_PORT"
fi

# ---------------------------------------------------------------- LAN toggle
check "control: L's tcp/443 answers e itself" exit_reaches e tcp "$L_ADDR" 443
check "LAN-off: c1 cannot reach L through e" exit_blocked c1 tcp "$L_ADDR" 443
check "lan-access on" rnn c1 lan-access on
check "LAN-on: c1 reaches L through e" wait_for 5 exit_reaches c1 tcp "$L_ADDR" 443
check "lan-access off" rnn c1 lan-access off
check "LAN-off again: c1 cannot reach L" wait_for 5 exit_blocked c1 tcp "$L_ADDR" 443

# ---------------------------------------------------------------- DNS
# dns_via_e: c1's Magic DNS answers a public name, with nothing on port 53/853 on c1's underlay
# while the query leaves re from its address (through the tunnel and e, behind its NAT).
dns_via_e() {
	local c1cap recap ans n up
	capture_start "${MESH_NS[c1]}" e0 && c1cap=$CAPTURE_FILE &&
		capture_start "${NAT_NS[re]}" e0 udp and dst port 53 && recap=$CAPTURE_FILE || return 1
	ans=$(nsx "${MESH_NS[c1]}" dig +time=3 +tries=1 +short @100.100.100.100 www.example.test) || true
	capture_stop "$c1cap"
	capture_stop "$recap"
	n=$(capture_count "$c1cap" "port 53 or port 853") &&
		up=$(capture_count "$recap" "src host $E_UL4 and dst host $MESH_UPSTREAM_IP") || return 1
	echo "answer '$ans'; port 53/853 on c1's underlay: $n; queries leaving re for the resolver: $up"
	[ "$ans" = 192.0.2.80 ] && [ "$n" = 0 ] && [ "$up" -gt 0 ]
}
check "admin: dns upstreams set $MESH_UPSTREAM_IP" ctl dns upstreams set "$MESH_UPSTREAM_IP"
check "DNS for a public name goes through the tunnel and leaves behind re" wait_for 10 dns_via_e

# ---------------------------------------------------------------- kill switch on the NAT path
check "status: kill switch active, not blocking" wait_for 5 ks_state True False
leak_traffic_start
check "path working: c1's underlay has WireGuard to re, nothing leaked in 3 s" \
	leak_none_for 3 "e working"
# block ROUTER RULE...: ROUTER drops what it forwards matching any RULE (nft matches).
block() {
	local r=$1 rule
	shift
	{
		echo "table ip exitnat { chain wg { type filter hook forward priority -10;"
		for rule in "$@"; do echo "$rule drop;"; done
		printf '}\n}\n'
	} | nsx "${NAT_NS[$r]}" nft -f -
}
if [ "$EXIT_NAT_PATH" = relay ]; then
	BLOCKED_AT=rc
	check "rc drops the relay connection (UDP 3479, TCP 443, both ways)" block rc \
		"ip daddr $CTL_UL4 udp dport 3479" "ip saddr $CTL_UL4 udp sport 3479" \
		"ip daddr $CTL_UL4 tcp dport 443" "ip saddr $CTL_UL4 tcp sport 443"
	check "path blocked at rc: no leak in 6 s, relay attempts still seen" \
		leak_none_for 6 "relay dropped at rc"
else
	BLOCKED_AT=re
	check "re drops WireGuard UDP (both ways)" block re "udp dport $WG_PORT" "udp sport $WG_PORT"
	check "path blocked at re: no leak in 6 s, WireGuard attempts still seen" \
		leak_none_for 6 "WireGuard dropped at re"
fi
nsx "${NAT_NS[$BLOCKED_AT]}" nft delete table ip exitnat || true
check "unblocked: c1 -> I through e again" wait_for 30 seen_as "$E_UL4"
check "and the path is the same kind again" wait_for 10 on_path c1 e "$E_UL4:$WG_PORT"
kill -KILL "${MESH_PID[e]}" 2>/dev/null || true
check "e's rustynetd killed: no leak in 4 s, WireGuard attempts still seen" \
	leak_none_for 4 "exit dead"

check "exit-node off" rnn c1 exit-node off
check "control: after exit-node off the loop's packets to I show in a capture" leak_seen_for 3
leak_traffic_stop
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
