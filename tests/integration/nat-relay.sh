#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# nat-relay: the relayed path (docs/nat-traversal.md, "The relayed path").
#
#            ns sw: bridge br0 (198.51.100.0/24), the "internet"
#     +-------------+--------------+--------------+--------------+
#   ctl .1        relay .50      ra .40         rb .42         rc .44
#   control,      rustynet-relay random NAT     random NAT     preserve NAT, UDP out dropped
#   STUN :3478    UDP :3478      10.41.0.0/24   10.42.0.0/24   10.44.0.0/24
#                 TLS :443       a 10.41.0.2    b 10.42.0.2    c 10.44.0.2
#
# a and b sit behind fully-random NATs: no direct path exists, so each ends on the relay (the
# last candidate; the relay and credential come from RUSTYNETD_TEST_RELAY until the control
# server lists them). An iperf3 TCP transfer inside the tunnel keeps running while a's NAT
# switches to port-preserving with endpoint-independent filtering (`cone`; b's stays random, and
# a port-restricted NAT facing a random one would never open): a's next STUN check reports its
# new mapping, b's probe initiation to it gets through from whatever port rb chose, a answers
# there, and the session roams off the relay without a new one; the relay stops forwarding.
# c's router drops all UDP out: its relay client falls back to TLS and a reaches c through it.
set -eu
TEST_TAG=natrelay
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
# shellcheck source=tests/nat-lib.sh
. "$(dirname "$0")/../nat-lib.sh"
plan 20
need_root
need_cmds python3 nft conntrack openssl iperf3

RELAY=$BUILD_DIR/src/rustynet-relay/rustynet-relay
if ! mesh_have_bins || [ ! -x "$RELAY" ]; then
	skip_n 20 "nat-relay" "rustynetd, rustynet, rustynet-control or rustynet-relay missing in $BUILD_DIR"
	t_done
fi

MESH_CTL_ARGS=(--stun-listen 198.51.100.1)
mesh_init_or_end

S=$T_DIR/relay.secret STATS=$T_DIR/relay-stats.json RLOG=$T_DIR/relay.log NS_R=$T_ID-relay
relay_start() {
	"$RELAY" genkey --secret "$S" &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$T_DIR/rkey.pem" -out "$T_DIR/rcert.pem" -days 1 -subj /CN=relay.test \
			2>/dev/null &&
		PIN=$("$RELAY" spki --cert "$T_DIR/rcert.pem") || return 1
	ns_add "$NS_R" && mesh_link "$NS_R" e0 50 || return 1
	# not through nsx (a function): $! must be the relay itself
	ip netns exec "$NS_R" "$RELAY" serve --secret "$S" --udp 198.51.100.50:3478 \
		--tls 198.51.100.50:443 --cert "$T_DIR/rcert.pem" --key "$T_DIR/rkey.pem" \
		--stats-file "$STATS" 2>"$RLOG" &
	RELAY_PID=$!
	T_BG+=("$RELAY_PID")
	wait_for 5 test -s "$STATS"
}
check_ok "relay serving on the switch" relay_start || { mesh_dump_logs; t_done; }

routers() {
	nat_router ra 40 41 random && nat_router rb 42 42 random && nat_router rc 44 44 preserve &&
		nsx "${NAT_NS[rc]}" nft -f - <<-EOF
			table ip rnt_block {
				chain out {
					type filter hook forward priority 0
					oifname e0 meta l4proto udp drop
				}
			}
		EOF
}
check_ok "NAT routers (c's drops all UDP out)" routers || { mesh_dump_logs; t_done; }

# relay_node NAME: NAME behind rNAME, restarted with the relay and its own credential (the
# credential names the node's key, which exists once rustynetd first ran).
relay_node() {
	local n=$1 key cred
	mesh_node "$n" nat_link "r$n" || return 1
	key=$(mesh_json "$n" 'j["public_key"]') &&
		cred=$("$RELAY" issue --secret "$S" --node-key "$key") || return 1
	mesh_stop_pid "rustynetd $n" "${MESH_PID[$n]}" "$RND" >/dev/null
	mesh_node_start "$n" \
		"RUSTYNETD_TEST_RELAY=r1;198.51.100.50:3478;198.51.100.50:443;$PIN;$cred"
}
declare -A IP4
# join NAME: relay_node NAME (a check), then up; a failure ends the script.
join() {
	check_ok "rustynetd $1 behind r$1 with relay r1" relay_node "$1" || { mesh_dump_logs; t_done; }
	mesh_up "$1" alice >/dev/null || { echo "# $1: up failed"; mesh_dump_logs; t_done; }
	IP4[$1]=$(mesh_ip4 "$1" 2>/dev/null || echo none)
}
join a
join b

# relay_is NAME TRANSPORT: NAME's relay r1 is registered over TRANSPORT.
relay_is() {
	[ "$(mesh_json "$1" '[(r["transport"], r["registered"]) for r in j["relays"] if r["name"] == "r1"]')" = "[('$2', True)]" ]
}
# fwd: the relay's forwarded packet count.
fwd() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fwd_packets"])' "$STATS"; }

check "a and b register with the relay over UDP" wait_for 10 eval 'relay_is a udp && relay_is b udp'
check "a pings b through the relay" wait_for 30 mesh_ping a "${IP4[b]}"
check "a's path to b is the relay r1, working" wait_for 10 nat_path_is a b "relay r1 True"
check "b's path to a is the relay r1" wait_for 10 nat_path_is b a "relay r1 True"
check "the relay forwarded packets" wait_for 3 eval '[ "$(fwd)" -gt 0 ]'
check "rustynet ping says via relay r1" eval 'rnx a ping -c 1 "${IP4[b]}" | grep -q "via relay r1"'

# Relay -> direct under load: one NAT goes easy while iperf3 runs through the tunnel.
nsx "${MESH_NS[b]}" iperf3 -s -1 -B "${IP4[b]}" >/dev/null 2>&1 &
T_BG+=("$!")
wait_for 5 eval 'nsx "${MESH_NS[b]}" ss -ltn | grep -q ":5201 "' || echo "# no iperf3 server"
nsx "${MESH_NS[a]}" iperf3 -c "${IP4[b]}" -t 38 -i 1 -b 20M -J >"$T_DIR/iperf.json" 2>&1 &
IPERF=$!
T_BG+=("$IPERF")
sleep 3
# Only the WireGuard sockets' mappings go (new flows get the new mode); the relay clients' stay,
# so the relayed path carries the transfer until the direct one takes over.
nat_mode ra cone -p udp --orig-port-src 41641 || echo "# nat_mode failed"
T0=$SECONDS
check "a's path to b moves to direct" wait_for 40 nat_path_is a b "direct None True"
echo "# direct $((SECONDS - T0)) s after ra changed"
check "b's path to a is direct" wait_for 10 nat_path_is b a "direct None True"
F1=$(fwd)
sleep 3
check "the relay's forwarded counter stopped growing" eval '[ "$(fwd)" -le $((F1 + 2)) ]'
iperf_ok() {
	wait "$IPERF" || { cat "$T_DIR/iperf.json"; return 1; }
	python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
iv = j["intervals"]
print("intervals", len(iv), "last", iv[-1]["sum"]["bytes"], "total", j["end"]["sum_received"]["bytes"])
sys.exit(0 if len(iv) >= 36 and iv[-1]["sum"]["bytes"] > 0 else 1)' "$T_DIR/iperf.json"
}
check "the iperf3 transfer ran through the switch to its end" iperf_ok

# c joins only now: its traffic (all relayed) would have kept the counter above growing.
join c
check "c registers with the relay over TLS (its UDP is blocked)" wait_for 15 relay_is c tls
check "a pings c through the TLS relay" wait_for 20 mesh_ping a "${IP4[c]}"
check "a's path to c is the relay r1" wait_for 5 nat_path_is a c "relay r1 True"

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || { mesh_dump_logs; cat "$RLOG"; }
t_done
