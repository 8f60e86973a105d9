#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# mesh-latency: among a peer's direct candidates the one with the lowest round trip wins, not the
# map's first (docs/nat-traversal.md, "Choosing a path"): every initiation also goes to the other
# direct candidates, the peer answers the copy that reaches it first, and roaming moves the
# session to the path of that answer.
#
#            ns sw: bridge br0 (198.51.100.0/24, 2001:db8:1::/64)
#     +-------------+-------------+------------------+
#   ctl .1        n1 .10        n2 (IPv6 only:      r .254: forwards through tests/tools/
#                 ::10          2001:db8:1::11)     tun-delay.py, 40 ms each way
#                                                    |
#                               n2 e1 203.0.113.11 --+ 203.0.113.1
#
# n2 reports its IPv4 candidate (80 ms away) first and its IPv6 one (on the switch, under 1 ms)
# second. Checks: the slow path works and is slow (a plain ping over it), the map's order,
# n1 and n2 each end on the other's IPv6 endpoint, and pings through the tunnel take less than
# the slow path's round trip.
set -eu
TEST_TAG=latency
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 13
need_root
need_cmds python3

if ! mesh_have_bins; then
	skip "mesh-latency: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi

DELAY_MS=40
R_NS=$T_ID-r
N2_SLOW=203.0.113.11
mesh_init_or_end

# slow_router: r on the switch, routing 203.0.113.0/24 through a TUN that delays each packet.
slow_router() {
	ns_add "$R_NS" && mesh_link "$R_NS" e0 254 || return 1
	nsx "$R_NS" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 || return 1
	nsx "$R_NS" python3 "$(dirname "$0")/../tools/tun-delay.py" dl0 "$DELAY_MS" \
		>"$T_DIR/tun-delay.out" 2>&1 </dev/null &
	T_BG+=("$!")
	wait_for 5 grep -qx ready "$T_DIR/tun-delay.out" || return 1
	ip -n "$R_NS" link set dl0 up &&
		nsx "$R_NS" sysctl -qw net.ipv4.conf.dl0.rp_filter=0 &&
		ip -n "$R_NS" rule add iif e0 lookup 100 pref 100 &&
		ip -n "$R_NS" route add default dev dl0 table 100 &&
		ip -n "$MESH_CTL_NS" route add 203.0.113.0/24 via 198.51.100.254
}
# n2_links NS: IPv6 on the switch, IPv4 only behind r.
n2_links() {
	mesh_link "$1" e0 11 && ip -n "$1" addr del 198.51.100.11/24 dev e0 || return 1
	veth_add "$1" e1 "$R_NS" n2 && addr_add "$1" e1 "$N2_SLOW/24" &&
		addr_add "$R_NS" n2 203.0.113.1/24 && ip -n "$1" route add default via 203.0.113.1 &&
		ip -n "$R_NS" rule add iif n2 lookup 100 pref 101
}
check_ok "router r delays what it forwards to 203.0.113.0/24 by $DELAY_MS ms each way" slow_router ||
	{ mesh_dump_logs; t_done; }
check_ok "rustynetd n1 starts on the switch" mesh_node n1 || { mesh_dump_logs; t_done; }
ip -n "${MESH_NS[n1]}" route add 203.0.113.0/24 via 198.51.100.254
check_ok "rustynetd n2 starts: IPv6 on the switch, IPv4 behind r" mesh_node n2 n2_links ||
	{ mesh_dump_logs; t_done; }

# rtt_over NS ADDR MIN MAX: a plain ping's average round trip to ADDR is within [MIN, MAX) ms.
rtt_over() {
	local avg
	avg=$(nsx "$1" ping -n -c 3 -i 0.2 -W 2 "$2" | awk -F/ '/^rtt/ {print $5}') || return 1
	echo "average round trip to $2: ${avg:-none} ms"
	[ -n "$avg" ] && awk -v a="$avg" -v lo="$3" -v hi="$4" 'BEGIN {exit !(a >= lo && a < hi)}'
}
check "the slow path works and is slow: n1 pings $N2_SLOW in 80 ms or more" \
	rtt_over "${MESH_NS[n1]}" "$N2_SLOW" 80 1000
check "n1 up" mesh_up n1 alice
check "n2 up" mesh_up n2 alice
N2_4=$(mesh_ip4 n2 2>/dev/null || echo none)

# first_candidate: the first endpoint of n2 in n1's stored map.
first_candidate() {
	python3 - "${MESH_ST[n1]}/netmap.json" <<-'PY'
		import json, sys
		m = json.loads(json.load(open(sys.argv[1]))["map"])
		p = [p for p in m["peers"] if p["name"] == "n2"][0]
		print(p["endpoints"][0])
	PY
}
map_slow_first() { [ "$(first_candidate)" = "$N2_SLOW:41641" ]; }
check "n1's map lists n2's slow IPv4 candidate first" wait_for 5 map_slow_first
check "n1 pings n2 through the tunnel" wait_for 15 mesh_ping n1 "$N2_4"

# on X Y ENDPOINT: X's path to peer Y is direct, working, at ENDPOINT.
on() {
	local p
	p=$(rnn "$1" status --json | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin)["peers"] if p.get("name") == sys.argv[1]][0]
print(p["path"]["kind"], p["path"]["working"], p["endpoint"])' "$2") || return 1
	echo "$1 -> $2: $p"
	[ "$p" = "direct True $3" ]
}
check "n1's path to n2 is n2's fast IPv6 endpoint, not the map's first" \
	wait_for 10 on n1 n2 '[2001:db8:1::11]:41641'
check "n2's path to n1 is n1's IPv6 endpoint" wait_for 10 on n2 n1 '[2001:db8:1::10]:41641'
check "pings through the tunnel take under 40 ms (the slow path's round trip is 80)" \
	rtt_over "${MESH_NS[n1]}" "$N2_4" 0 40

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
