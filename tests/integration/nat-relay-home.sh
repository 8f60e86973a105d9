#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# nat-relay-home: the home relay (docs/nat-traversal.md, "The home relay"): of the map's relays
# a node uses the one with the lowest latency, and moves when it dies.
#
#            ns sw: bridge br0 (198.51.100.0/24), the "internet"
#     +-------------+--------------+--------------+--------------+--------------+
#   ctl .1        r1 .50         delay .51      r2 .52         ra .40         rb .42
#   control,      rustynet-relay udp-delay.py   rustynet-relay random NAT     random NAT
#   STUN :3478    UDP :3478      :3478 -> .50   UDP :3478      a 10.41.0.2    b 10.42.0.2
#                                +40 ms each way
#
# The map lists r1 first (reached through the delaying forwarder, so about 80 ms away) and r2
# (direct, under a millisecond). a and b sit behind fully-random NATs: no direct path, so they
# talk through a relay. netcheck shows both relays' latencies and r2 preferred; status shows
# r2 as the home and the path a -> b through it. Then r2 is killed: the home moves to r1 and
# pings go through it again, within 30 s (the time taken is printed).
set -eu
TEST_TAG=relayhome
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
# shellcheck source=tests/nat-lib.sh
. "$(dirname "$0")/../nat-lib.sh"
plan 25
need_root
need_cmds python3 nft conntrack

RELAY=$BUILD_DIR/src/rustynet-relay/rustynet-relay
DELAY=$(dirname "$0")/../tools/udp-delay.py
DELAY_MS=40
if ! mesh_have_bins || [ ! -x "$RELAY" ]; then
	skip_n 25 "nat-relay-home" "rustynetd, rustynet, rustynet-control or rustynet-relay missing in $BUILD_DIR"
	t_done
fi

MESH_CTL_ARGS=(--stun-listen 198.51.100.1)
mesh_init_or_end

S=$T_DIR/relay.secret
declare -A RPID=()
# relay_ns NAME OCTET CMD...: CMD in a new namespace at 198.51.100.OCTET, its pid in RPID[NAME].
relay_ns() {
	local n=$1 o=$2 ns="$T_ID-$1"
	shift 2
	ns_add "$ns" && mesh_link "$ns" e0 "$o" || return 1
	# not through nsx (a function): $! must be the process itself
	ip netns exec "$ns" "$@" 2>"$T_DIR/$n.log" &
	RPID[$n]=$!
	T_BG+=("$!")
}
relays_start() {
	ctl relay secret --out "$S" >/dev/null || return 1
	relay_ns r1 50 "$RELAY" serve --secret "$S" --udp 198.51.100.50:3478 \
		--stats-file "$T_DIR/r1.json" &&
		relay_ns delay 51 python3 "$DELAY" 198.51.100.51:3478 198.51.100.50:3478 "$DELAY_MS" &&
		relay_ns r2 52 "$RELAY" serve --secret "$S" --udp 198.51.100.52:3478 \
			--stats-file "$T_DIR/r2.json" || return 1
	wait_for 5 test -s "$T_DIR/r1.json" && wait_for 5 test -s "$T_DIR/r2.json"
}
check_ok "relays r1 (behind a ${DELAY_MS} ms delay each way) and r2 serving" relays_start ||
	{ mesh_dump_logs; t_done; }
check_ok "the maps list r1 (through the delay) first, then r2" eval \
	'ctl relay add r1 --udp 198.51.100.51:3478 --secret-file "$S" &&
	ctl relay add r2 --udp 198.51.100.52:3478 --secret-file "$S"' || { mesh_dump_logs; t_done; }
check_ok "NAT routers (fully random)" eval 'nat_router ra 40 41 random && nat_router rb 42 42 random' ||
	{ mesh_dump_logs; t_done; }

declare -A IP4
join() {
	check_ok "rustynetd $1 behind r$1" mesh_node "$1" nat_link "r$1" || { mesh_dump_logs; t_done; }
	mesh_up "$1" alice >/dev/null || { echo "# $1: up failed"; mesh_dump_logs; t_done; }
	IP4[$1]=$(mesh_ip4 "$1" 2>/dev/null || echo none)
}
join a
join b

# relays_json NAME PYEXPR: PYEXPR over NAME's status --json "relays" as {name: entry} (as r).
relays_json() {
	rnn "$1" status --json | python3 -c "import json,sys
r = {e['name']: e for e in json.load(sys.stdin)['relays']}
print($2)"
}
both_registered() {
	[ "$(relays_json "$1" 'sorted(n for n, e in r.items() if e["registered"])')" = "['r1', 'r2']" ]
}
check "a and b register with both relays" \
	wait_for 20 eval 'both_registered a && both_registered b'
home_is() { [ "$(relays_json "$1" '[n for n, e in r.items() if e["home"]]')" = "['$2']" ]; }
check "a's status: r2 is the home relay" wait_for 15 home_is a r2

# netcheck_ok NAME HOME: netcheck --json lists r1 (at least the delay both ways) and r2 (faster),
# each with its latency, and HOME preferred.
netcheck_ok() {
	rnn "$1" netcheck --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
r = {e["name"]: e for e in j["relays"]}
print("relays", r, "preferred", j["preferred_relay"])
l1, l2 = r["r1"]["latency_ms"], r["r2"]["latency_ms"]
sys.exit(0 if sorted(r) == ["r1", "r2"] and l1 >= 2 * int(sys.argv[1]) and l2 < l1 and
         j["preferred_relay"] == sys.argv[2] and r[sys.argv[2]]["home"] else 1)' "$DELAY_MS" "$2"
}
check "netcheck --json: both relays' latencies (r1 >= $((2 * DELAY_MS)) ms, r2 less), r2 preferred" \
	wait_for 20 netcheck_ok a r2
check "netcheck prints each relay's latency and the preferred relay" eval \
	'rnn a netcheck | tee "$T_DIR/netcheck.txt" | grep -q "^  relay r1: [0-9.]* ms$" &&
	grep -q "^  relay r2: [0-9.]* ms (home)$" "$T_DIR/netcheck.txt" &&
	grep -qx "preferred relay: r2" "$T_DIR/netcheck.txt"'

fwd() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fwd_packets"])' "$T_DIR/$1.json"; }

check "a pings b through a relay" wait_for 40 mesh_ping a "${IP4[b]}"
check "a's path to b is the home relay r2, working" wait_for 10 nat_path_is a b "relay r2 True"
check "b's path to a is r2 too" wait_for 10 nat_path_is b a "relay r2 True"
check "r2 forwarded the packets" eval '[ "$(fwd r2)" -gt 0 ]'
check "a's log names r2 its home relay" grep -q "relay r2: now the home relay" "${MESH_LOG[a]}"

# r2 dies: the home moves to r1, and the relayed path with it.
check "r2 is alive (it forwards a's ping now)" eval \
	'F=$(fwd r2); mesh_ping a "${IP4[b]}" && wait_for 3 eval "[ \$(fwd r2) -gt $F ]"'
kill "${RPID[r2]}" || true
wait "${RPID[r2]}" 2>/dev/null || true
T0=$(now_ms)
check "r2 is gone" eval '! kill -0 "${RPID[r2]}" 2>/dev/null'
check "a's home moves to r1 within 30 s" wait_for 30 home_is a r1
echo "# a's home moved $(($(now_ms) - T0)) ms after r2 died"
# ping_back: a reaches b, answered within 1 s, within 30 s of r2's death.
check "a pings b again within 30 s of r2's death" \
	wait_for "$(awk -v s="$T0" -v n="$(now_ms)" 'BEGIN{t = 30 - (n - s) / 1000; print (t > 0 ? t : 0)}')" \
	mesh_ping a "${IP4[b]}"
echo "# a pings b again $(($(now_ms) - T0)) ms after r2 died"
check "a's path to b is r1, working" wait_for 10 nat_path_is a b "relay r1 True"
check "b's home is r1 too" wait_for 10 home_is b r1
check "r1 forwards now" eval '[ "$(fwd r1)" -gt 0 ]'
check "netcheck --json: r1 preferred" wait_for 10 eval 'rnn a netcheck --json |
	python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)[\"preferred_relay\"] == \"r1\" else 1)"'
check "a's log says why: r2 not registered" \
	grep -q "relay r1: now the home relay (.*; r2: not registered)" "${MESH_LOG[a]}"

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || { mesh_dump_logs; tail -n 20 "$T_DIR"/r1.log "$T_DIR"/r2.log "$T_DIR"/delay.log; }
t_done
