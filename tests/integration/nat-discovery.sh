#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# nat-discovery: a node behind a masquerading NAT learns its public mapping from STUN servers,
# asked from its WireGuard socket, reports it to the control server, keeps it open with
# persistent keepalive, and notices a NAT rebinding; a node on the switch is not behind NAT.
#
#            ns sw: bridge br0 (198.51.100.0/24)
#     +-------------+--------------+------------------+
#   ctl .1       stun .3 .4      pub .10           rt wan .20 (nft masquerade)
#   control      turnserver      rustynetd            lan 10.77.0.1/24
#                --stun-only                              |
#                                                     nat 10.77.0.2 (default via .1)
#                                                     rustynetd
#
# The STUN servers reach the nodes through RUSTYNETD_TEST_STUN (a test-hooks build's stand-in
# for the map's "stun" member, which the control server will fill). Checks: nat's status shows
# the mapping 198.51.100.20:41641 (masquerade keeps the port), behind NAT, both servers agree
# (no "hard" NAT); the control server lists that endpoint for nat after its host one; nat's
# peer has persistent keepalive 25 s, pub's has none (pub's mapping is its own address: no
# NAT); nat checks its IPv4 mapping between rounds, pub (no NAT) checks nothing; the nodes ping
# each other (pub reaches nat at the mapping nat's keepalive opened); `netcheck --json` agrees.
# Then the NAT rebinds (masquerade to ports 20000-20100, conntrack flushed): a check (every
# 4 s) sees it, and pub's map has the new mapping within 8 s of the flush (when nat saw it and
# when pub got it are printed); the control server lists it, nat's log says the mapping
# changed, and the tunnel still works.
# Then a network change: a second uplink to the router (rt lan2 10.78.0.1 - nat e1 10.78.0.2),
# whose address starts a round, then the default route moved to it, which starts one too (the
# route watch): pub's map has the mapping of the new uplink within 3 s. Then the NAT
# maps each destination to its own port (fully-random): netcheck, which starts a round at once,
# and status say the mapping varies by destination.
set -eu
TEST_TAG=natd
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 29
need_root
need_cmds python3 nft conntrack turnserver

if ! mesh_have_bins; then
	skip_n 29 "nat-discovery" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
if ! rn_has_test_hooks "$RND"; then
	skip_n 29 "nat-discovery" "needs a -Dtest_hooks=true build (RUSTYNETD_TEST_STUN)"
	t_done
fi

RT_NS="$T_ID-rt"
STUN_NS="$T_ID-stun"
WAN=198.51.100.20
export RUSTYNETD_TEST_STUN=198.51.100.3:3478,198.51.100.4:3478

# A STUN-only turnserver on .3 and .4 (two addresses: a NAT that maps per destination shows).
stun_start() {
	ns_add "$STUN_NS" && mesh_link "$STUN_NS" e0 3 && addr_add "$STUN_NS" e0 198.51.100.4/24 ||
		return 1
	nsx "$STUN_NS" turnserver -n --stun-only --no-auth --no-cli --no-tls --no-dtls \
		-L 198.51.100.3 -L 198.51.100.4 -p 3478 --log-file "$T_DIR/turnserver.log" \
		--simple-log --pidfile "$T_DIR/turnserver.pid" --userdb "$T_DIR/turndb" \
		--no-software-attribute >/dev/null 2>&1 </dev/null &
	T_BG+=("$!")
	wait_for 10 listening "$STUN_NS" udp 198.51.100.4 3478
}

# The NAT router: WAN on the switch, LAN 10.77.0.1/24, masquerade out of the WAN.
router_start() {
	ns_add "$RT_NS" && mesh_link "$RT_NS" wan 20 || return 1
	nsx "$RT_NS" sysctl -qw net.ipv4.ip_forward=1 || return 1
	nat_rule "masquerade"
}
# nat_rule UDP-RULE: the router's masquerade out of the WAN, UDP by UDP-RULE (which may choose
# ports), the rest plainly; replaces the old table.
nat_rule() {
	nsx "$RT_NS" nft -f - <<-EOF
		table ip nat
		delete table ip nat
		table ip nat {
			chain postrouting {
				type nat hook postrouting priority 100;
				oifname "wan" meta l4proto udp $1
				oifname "wan" masquerade
			}
		}
	EOF
}

# nat_node NAME: as mesh_node, but behind the router (10.77.0.2, no IPv6).
nat_node() {
	local n=$1
	MESH_NS[$n]="$T_ID-$n"
	MESH_IF[$n]="rm$$nat"
	MESH_IF[$n]=${MESH_IF[$n]:0:15}
	MESH_ST[$n]=$T_DIR/$n
	MESH_SOCK[$n]=$T_DIR/$n.sock
	MESH_LOG[$n]=$T_DIR/$n.log
	MESH_RESOLV[$n]=$T_DIR/$n.resolv.conf
	printf 'nameserver 192.0.2.53\n' >"${MESH_RESOLV[$n]}"
	T_SOCKS+=("$UAPI_DIR/${MESH_IF[$n]}.sock")
	ns_add "${MESH_NS[$n]}" && veth_add "$RT_NS" lan "${MESH_NS[$n]}" e0 || return 1
	addr_add "$RT_NS" lan 10.77.0.1/24 && addr_add "${MESH_NS[$n]}" e0 10.77.0.2/24 || return 1
	ip -n "${MESH_NS[$n]}" route add default via 10.77.0.1 || return 1
	mesh_node_start "$n"
}

nat_json() { mesh_json "$1" "j[\"nat\"]$2"; }
mapping() { nat_json "$1" '["mappings"]["ipv4"]'; }
# mapped_is NAME REGEX: NAME's IPv4 mapping matches REGEX (anchored).
mapped_is() { mapping "$1" | tee /dev/stderr | grep -Eqx "$2"; }
# ctl_endpoints NAME: the endpoints the control server holds for NAME, one a line.
ctl_endpoints() {
	ctl nodes list --json | python3 -c "
import json, sys
for n in json.load(sys.stdin)['nodes']:
    if n['name'] == sys.argv[1]:
        print('\\n'.join(n.get('endpoints') or []))
" "$1"
}
# ctl_has_endpoint NAME EP: ...includes EP, after the host endpoint 10.77.0.2:PORT.
ctl_has_endpoint() {
	ctl_endpoints "$1" | tee /dev/stderr | tr '\n' ' ' | grep -q "^10\.77\.0\.2:[0-9]* $2 *$"
}
keepalive_of() { nsx "${MESH_NS[$1]}" wg show "${MESH_IF[$1]}" persistent-keepalive | cut -f 2; }

nat_state() { [ "$(nat_json nat '["behind_nat"], j["nat"]["hard_nat"], j["nat"]["udp"]')" = "True False ok" ]; }
keepalive_is() { [ "$(keepalive_of "$1")" = "$2" ]; }
pub_no_nat() {
	mapped_is pub "198.51.100.10:$PORT" && [ "$(nat_json pub '["behind_nat"]')" = False ] &&
		keepalive_is pub off
}
pub_only_own() {
	ctl_endpoints pub >"$T_DIR/pub.eps"
	cat "$T_DIR/pub.eps" >&2
	[ -s "$T_DIR/pub.eps" ] && ! grep -vqE '^(198\.51\.100\.10|\[2001:db8:1::10\]):' "$T_DIR/pub.eps"
}
# nat checks IPv4 and has sent some; pub checks nothing and has sent none.
checks_split() {
	local n p
	n=$(nat_json nat '["checks"]["ipv4"], j["nat"]["checks"]["sent"] > 0') || return 1
	p=$(nat_json pub '["checks"]["ipv4"], j["nat"]["checks"]["sent"]') || return 1
	echo "nat: $n; pub: $p" >&2
	[ "$n" = "True True" ] && [ "$p" = "False 0" ]
}
# pub_map_has EP: pub's stored netmap lists EP (nat's endpoint; quoted inside a JSON string).
pub_map_has() { grep -qF "\\\"$1\\\"" "${MESH_ST[pub]}/netmap.json"; }
# pub_map_new REGEX: nat's mapping matches REGEX and pub's map lists it.
pub_map_new() {
	local ep
	ep=$(mapping nat) && echo "$ep" | grep -Eqx "$1" && pub_map_has "$ep"
}
# log_ms NAME TEXT: when NAME's last log line with TEXT was written (ms since the epoch).
log_ms() {
	local t
	t=$(grep -F "$2" "${MESH_LOG[$1]}" | tail -n 1 | cut -d' ' -f1)
	[ -n "$t" ] && date -d "$t" +%s%3N
}
# since T0 NAME TEXT: ms from T0 to that log line ("?" if none).
since() { local t; t=$(log_ms "$2" "$3") && echo $((t - $1)) || echo "?"; }
# ctl_lists NAME EP: EP is among the endpoints the control server holds for NAME.
ctl_lists() { ctl_endpoints "$1" | tee /dev/stderr | grep -qxF "$2"; }
log_has() { grep -qF "$2" "${MESH_LOG[$1]}"; }
log_count() { grep -cF "$2" "${MESH_LOG[$1]}" || true; }

netcheck_json() {
	rnn nat netcheck --json | python3 -c "
import json, sys
j = json.load(sys.stdin)
print(j['mappings']['ipv4'], j['udp'], j['varies_by_destination']['ipv4'],
      all(s['latency_ms'] is not None for s in j['servers']), len(j['servers']))"
}
netcheck_is() { [ "$(netcheck_json | tee /dev/stderr)" = "$1" ]; }
netcheck_varies() { rnn nat netcheck | tee /dev/stderr | grep -qx "mapping varies by destination: $1"; }

PORT=41641
mesh_init_or_end
stun_and_router() { stun_start && router_start; }
check_ok "STUN server and NAT router start" stun_and_router || { mesh_dump_logs; t_done; }
mesh_nodes_or_end pub
check_ok "rustynetd nat starts behind the NAT" nat_node nat || { mesh_dump_logs; t_done; }
check "pub up" mesh_up pub alice
check "nat up" mesh_up nat alice

check "nat's status shows its mapping $WAN:$PORT" wait_for 15 mapped_is nat "$WAN:$PORT"
check "nat is behind NAT, not a hard one, UDP ok" nat_state
check "the control server lists $WAN:$PORT after nat's host endpoint" \
	wait_for 10 ctl_has_endpoint nat "$WAN:$PORT"
check "nat's peer has persistent keepalive 25 s" wait_for 5 keepalive_is nat 25
check "pub sees itself unmapped (no NAT) and keeps keepalive off" wait_for 10 pub_no_nat
check "pub's endpoints at the control server are only its own" pub_only_own
check "nat checks its IPv4 mapping between rounds; pub, not behind NAT, checks nothing" \
	wait_for 10 checks_split
NAT4=$(mesh_ip4 nat || echo none) PUB4=$(mesh_ip4 pub || echo none)
check "nat pings pub through the tunnel" wait_for 10 mesh_ping nat "$PUB4"
check "pub pings nat (at the mapping the keepalive holds open)" wait_for 10 mesh_ping pub "$NAT4"
check "netcheck --json: the mapping, UDP ok, not varying, both servers' latency" \
	netcheck_is "$WAN:$PORT ok False True 2"
check "netcheck says the mapping does not vary by destination" netcheck_varies no

# ---------------------------------------------------------------- NAT rebinding
nat_rule "masquerade to :20000-20100"
nsx "$RT_NS" conntrack -F >/dev/null 2>&1
T0=$(now_ms)
check "pub's map has nat's new mapping within 8 s of the rebinding (checks every 4 s)" \
	wait_for 8 pub_map_new "$WAN:20[01][0-9][0-9]"
NEWEP=$(mapping nat || echo none)
note "rebinding: seen by nat after $(since "$T0" nat "mapping changed from $WAN:$PORT") ms, in pub's map after $(since "$T0" pub "apply: netmap version") ms"
note "nat's checks: $(nat_json nat '["checks"]' || true)"
check "the control server lists it ($NEWEP) after nat's host endpoint" \
	wait_for 5 ctl_has_endpoint nat "$NEWEP"
check "nat's log says the mapping changed, seen by a check or a round" \
	log_has nat "IPv4 mapping changed from $WAN:$PORT to $NEWEP"
check "nat still pings pub" wait_for 10 mesh_ping nat "$PUB4"
check "pub pings nat again" wait_for 30 mesh_ping pub "$NAT4"

# ---------------------------------------------------------------- a network change
NATNS=${MESH_NS[nat]}
second_uplink() {
	veth_add "$RT_NS" lan2 "$NATNS" e1 && addr_add "$RT_NS" lan2 10.78.0.1/24 &&
		addr_add "$NATNS" e1 10.78.0.2/24
}
N_ADDR=$(log_count nat "this host's addresses changed")
check_ok "a second uplink (10.78.0.2 on nat's e1) comes up" second_uplink
addr_kicked() { [ "$(log_count nat "this host's addresses changed")" -gt "$N_ADDR" ]; }
check "its address starts a round at once (nat's log)" wait_for 3 addr_kicked
# Let that round end before the route moves.
round_over() { [ "$(nat_json nat '["in_round"]')" = False ]; }
wait_for 10 round_over || true
N_ROUTE=$(log_count nat "the default route changed")
T0=$(now_ms)
ip -n "$NATNS" route replace default via 10.78.0.1 dev e1
route_kicked() { [ "$(log_count nat "the default route changed")" -gt "$N_ROUTE" ]; }
# The NAT gives the new source address another port: the mapping changes once more.
moved() { pub_map_new "$WAN:20[01][0-9][0-9]" && ! pub_map_has "$NEWEP"; }
check "the default route moved to it: the route watch starts a round, pub's map has the new mapping within 3 s" \
	wait_for 3 eval 'route_kicked && moved'
note "route change: seen by nat after $(since "$T0" nat "mapping changed from $NEWEP") ms, in pub's map after $(since "$T0" pub "apply: netmap version") ms"
check "nat pings pub over the new uplink" wait_for 10 mesh_ping nat "$PUB4"

# ---------------------------------------------------------------- a NAT per destination
nat_rule "masquerade fully-random"
nsx "$RT_NS" conntrack -F >/dev/null 2>&1
hard() { [ "$(nat_json nat '["hard_nat"]')" = True ]; }
check "with fully-random ports, netcheck (a fresh round) says the mapping varies by destination" \
	netcheck_varies yes
check "... and so does status" wait_for 5 hard

check "daemons exit cleanly, no sanitizer reports" mesh_logs_clean
t_done
