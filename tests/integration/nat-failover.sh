#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# nat-failover: direct -> relay when the direct path dies, relay -> direct when it comes back
# (docs/nat-traversal.md, "Choosing a path": liveness checks and probe rounds).
#
#            ns sw: bridge br0 (198.51.100.0/24), the "internet"
#     +-----------------------+-----------------------+
#   ctl .1                  ra .40                  rb .42
#   control, STUN :3478     preserve NAT            preserve NAT
#   relay "control" :3479   10.41.0.0/24            10.42.0.0/24
#                           a 10.41.0.2             b 10.42.0.2
#
# a and b reach each other directly (two port-keeping NATs). While a ping (every 0.2 s) and an
# iperf3 TCP transfer run through the tunnel, ra drops all UDP to and from rb's address (the
# relay on ctl stays reachable): the data sent without answer starts a check, unanswered it
# moves the path to the relay; the ping's replies resume within 10 s (the longest gap between
# replies is measured). Then the drop goes: the probe rounds of the relayed path find the
# direct one again within 10 s, without a gap in the ping. The TCP transfer survives both. Then
# idle, the pair makes no handshake for 15 s.
set -eu
TEST_TAG=natfailover
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
# shellcheck source=tests/nat-lib.sh
. "$(dirname "$0")/../nat-lib.sh"
plan 20
need_root
need_cmds python3 nft conntrack iperf3

if ! mesh_have_bins; then
	skip_n 20 "nat-failover" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi

STATS=$T_DIR/relay-stats.json
export RUSTYNETD_DEBUG=main # the checks and probes in the logs, printed at the end
MESH_CTL_ARGS=(--stun-listen 198.51.100.1 --relay-udp 198.51.100.1:3479 --relay-stats-file "$STATS")
mesh_init_or_end
routers() { nat_router ra 40 41 preserve && nat_router rb 42 42 preserve; }
check_ok "two port-keeping NAT routers" routers || { mesh_dump_logs; t_done; }
for n in a b; do
	check_ok "rustynetd $n starts behind r$n" mesh_node "$n" nat_link "r$n" || { mesh_dump_logs; t_done; }
done
for n in a b; do
	check "$n up" mesh_up "$n" alice
done
declare -A IP4
for n in a b; do IP4[$n]=$(mesh_ip4 "$n" 2>/dev/null || echo none); done

fwd() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fwd_packets"])' "$STATS"; }

check "a pings b through the tunnel" wait_for 30 mesh_ping a "${IP4[b]}"
check "a's path to b is direct" wait_for 10 nat_path_is a b "direct None True"
check "b's path to a is direct" wait_for 10 nat_path_is b a "direct None True"
check "the relay (registered with) carried none of their packets yet" eval '[ "$(fwd)" = 0 ]'

# Traffic both ways across both changes: a ping every 0.2 s (timestamps: -D) and iperf3.
nsx "${MESH_NS[b]}" iperf3 -s -1 -B "${IP4[b]}" >/dev/null 2>&1 &
T_BG+=("$!")
wait_for 5 eval 'nsx "${MESH_NS[b]}" ss -ltn | grep -q ":5201 "' || echo "# no iperf3 server"
nsx "${MESH_NS[a]}" iperf3 -c "${IP4[b]}" -t 32 -i 1 -b 20M -J >"$T_DIR/iperf.json" 2>&1 &
IPERF=$!
T_BG+=("$IPERF")
nsx "${MESH_NS[a]}" ping -n -D -i 0.2 -w 36 "${IP4[b]}" >"$T_DIR/ping.out" 2>&1 &
PING=$!
T_BG+=("$PING")
sleep 3

BLOCK="table ip rnt_block {
	chain cut {
		type filter hook forward priority 0
		ip saddr 198.51.100.42 meta l4proto udp drop
		ip daddr 198.51.100.42 meta l4proto udp drop
	}
}"
T_BLOCK=$(now_ms)
echo "# direct path cut at $(date +%T.%N | cut -c1-12)"
nsx "${NAT_NS[ra]}" nft -f - <<<"$BLOCK" || echo "# could not block"
F0=$(fwd)
check "a's path to b shows the relay within 10 s" wait_for 10 nat_path_is a b "relay control True"
echo "# a -> b relayed $(($(now_ms) - T_BLOCK)) ms after the direct path was cut"
check "b's path to a is the relay" wait_for 5 nat_path_is b a "relay control True"
fwd_grew() { [ "$(fwd)" -gt "$F0" ]; }
check "the relay forwards their packets" wait_for 3 fwd_grew
sleep 3

T_UNBLOCK=$(now_ms)
echo "# direct path back at $(date +%T.%N | cut -c1-12)"
nsx "${NAT_NS[ra]}" nft delete table ip rnt_block || echo "# could not unblock"
check "a's path to b is direct again within 10 s" wait_for 10 nat_path_is a b "direct None True"
echo "# a -> b direct again $(($(now_ms) - T_UNBLOCK)) ms after the direct path came back"
check "b's path to a is direct again" wait_for 5 nat_path_is b a "direct None True"

# gap FROM_MS TO_MS: the longest time without a ping reply in [FROM, TO] (ms), from -D stamps.
gap() {
	python3 - "$T_DIR/ping.out" "$1" "$2" <<-'EOF'
		import re, sys
		lo, hi = int(sys.argv[2]) / 1000, int(sys.argv[3]) / 1000
		ts = [float(m.group(1)) for m in (re.match(r"\[(\d+\.\d+)\] \d+ bytes from", l)
		      for l in open(sys.argv[1])) if m]
		ts = [lo] + [t for t in ts if lo < t < hi] + [hi]
		print(int(max(b - a for a, b in zip(ts, ts[1:])) * 1000))
	EOF
}
wait "$PING" || true
G1=$(gap "$T_BLOCK" "$T_UNBLOCK")
G2=$(gap "$T_UNBLOCK" "$((T_UNBLOCK + 12000))")
echo "# longest gap between ping replies: ${G1} ms across the cut, ${G2} ms across the return"
check "ping replies resumed through the relay within 10 s (${G1} ms)" test "$G1" -le 10000
check "no gap over 1 s in the ping across the return to direct (${G2} ms)" test "$G2" -le 1000

iperf_ok() {
	wait "$IPERF" || { cat "$T_DIR/iperf.json"; return 1; }
	python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
iv = j["intervals"]
print("intervals", len(iv), "per second", [int(i["sum"]["bytes"]) // 1000 for i in iv], "kB")
sys.exit(0 if len(iv) >= 30 and iv[-1]["sum"]["bytes"] > 0 else 1)' "$T_DIR/iperf.json"
}
check "the iperf3 TCP transfer ran across both changes to its end" iperf_ok
sed 's/^/# /' "$T_DIR/check.out"

# idle_quiet: the pair idle on its direct path (ping and transfer over) makes no handshake in
# 15 s: checks and probe rounds need unanswered data or a relayed path. (A handshake there was.)
hs() { mesh_json a '[p["latest_handshake"] for p in j["peers"] if p.get("name") == "b"][0]'; }
idle_quiet() {
	local h1 h2
	h1=$(hs) && [ "$h1" -gt 0 ] || return 1
	sleep 15
	h2=$(hs)
	echo "latest handshake $h1, 15 s later $h2"
	[ "$h1" = "$h2" ]
}
check "an idle pair makes no handshake in 15 s" idle_quiet
for n in a b; do grep "path: " "${MESH_LOG[$n]}" | sed "s/^/# $n: /" | tail -n 30; done
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || { mesh_dump_logs; cat "$T_DIR/ping.out"; }
t_done
