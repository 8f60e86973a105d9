#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# nat-direct: nodes behind NATs reach each other directly (docs/nat-traversal.md).
#
#            ns sw: bridge br0 (198.51.100.0/24), the "internet"
#     +---------------+----------------+-----------------+
#   ctl .1          ra .40            rb .42            rc .44 (+ .45: c's public address)
#   control,        masquerade        masquerade        1:1 NAT (a cloud VM's)
#   STUN :3478      10.41.0.0/24      10.42.0.0/24      10.44.0.0/24
#                   a 10.41.0.2       b 10.42.0.2       c 10.44.0.2
#
# a and b are behind home-router NATs that keep the source port (an "easy" NAT); c sits behind a
# 1:1 NAT and only knows its private address. Each learns its public mapping from the control
# server's STUN responder (from its WireGuard socket) and reports it; peers try the host
# candidate, then the reflexive one, and both sides' handshakes open the NATs (persistent
# keepalive keeps them open). Checks: the mappings; a and b ping each other through the tunnel,
# directly at each other's NAT address; TCP across; a reaches c at c's public address; the
# relay, which the nodes registered with, forwarded none of their packets.
set -eu
TEST_TAG=natdirect
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
# shellcheck source=tests/nat-lib.sh
. "$(dirname "$0")/../nat-lib.sh"
plan 20
need_root
need_cmds python3 nft conntrack

if ! mesh_have_bins; then
	skip_n 20 "nat-direct" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi

STATS=$T_DIR/relay-stats.json
# the relay is there (every peer's last candidate) but must carry none of these packets
MESH_CTL_ARGS=(--stun-listen 198.51.100.1 --relay-udp 198.51.100.1:3479 --relay-stats-file "$STATS")
mesh_init_or_end
routers() {
	nat_router ra 40 41 preserve && nat_router rb 42 42 preserve && nat_router rc 44 44 oneone
}
check_ok "three NAT routers" routers || { mesh_dump_logs; t_done; }
for n in a b c; do
	check_ok "rustynetd $n starts behind r$n" mesh_node "$n" nat_link "r$n" || { mesh_dump_logs; t_done; }
done
for n in a b c; do
	check "$n up" mesh_up "$n" alice
done
declare -A IP4
for n in a b c; do IP4[$n]=$(mesh_ip4 "$n" 2>/dev/null || echo none); done

mapped() { [ "$(mesh_json "$1" 'j["nat"]["mappings"]["ipv4"]')" = "$2" ]; }
check "a's mapping is ra's address, port kept: 198.51.100.40:41641" wait_for 10 mapped a 198.51.100.40:41641
check "b's mapping is rb's: 198.51.100.42:41641" wait_for 10 mapped b 198.51.100.42:41641
check "c's mapping is its public address: 198.51.100.45:41641" wait_for 10 mapped c 198.51.100.45:41641

check "a pings b through the tunnel" wait_for 30 mesh_ping a "${IP4[b]}"
check "b pings a" wait_for 10 mesh_ping b "${IP4[a]}"
# path_of X Y: X's endpoint for peer Y and whether that path works, "ENDPOINT KIND WORKING".
path_of() {
	rnn "$1" status --json | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin)["peers"] if p.get("name") == sys.argv[1]][0]
print(p["endpoint"], p["path"]["kind"], p["path"]["working"])' "$2"
}
direct_at() { local p; p=$(path_of "$1" "$2") && echo "$1 -> $2: $p" && [ "$p" = "$3 direct True" ]; }
check "a reaches b directly at rb's public address" wait_for 5 direct_at a b 198.51.100.42:41641
check "b reaches a directly at ra's public address" wait_for 5 direct_at b a 198.51.100.40:41641

mesh_listen b tcp "${IP4[b]}" 8080
check "TCP from a to b" mesh_reach a tcp "${IP4[b]}" 8080

check "a pings c (1:1 NAT)" wait_for 30 mesh_ping a "${IP4[c]}"
check "a reaches c directly at c's public address" wait_for 5 direct_at a c 198.51.100.45:41641

# relay_idle: the relay's counters (rewritten every second) show nodes registered and nothing
# forwarded: every path above is direct.
relay_idle() {
	sleep 1.5
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j)
sys.exit(0 if j["registrations"] > 0 and j["fwd_packets"] == 0 else 1)' "$STATS"
}
check "the relay (registered with) carried none of their packets" relay_idle
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
