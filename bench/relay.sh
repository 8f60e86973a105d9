#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/relay.sh BUILD_DIR: what the relay costs: TCP throughput and ping latency between two
# nodes through the relay, and between two nodes with a direct path, in the same run.
#
#   ns sw: bridge br0 (tests/mesh-lib.sh)
#     |-- ctl .1   rustynet-control serve: STUN, and the relay on UDP 3479 / TLS 8444
#     |-- d1 .10, d2 .11         on the switch: a direct path
#     |-- ra .40 -- r1 10.41.0.2 behind a fully-random NAT (tests/nat-lib.sh)
#     `-- rb .42 -- r2 10.42.0.2 behind another: only the relay joins them
#
# iperf3 TCP, one stream, T (5) s, REPS (3) rounds, the two pairs interleaved; ping 50 x 20 ms.
# The relay runs in the control server's process, on the same 2 cores as everything else.
# Output, `name value` lines: direct_tcp_gbps, relay_tcp_gbps, relay_vs_direct (the ratio),
# direct_ping_ms, relay_ping_ms (medians).
set -eu
TEST_TAG=brelay
BENCH_NAME=relay
# shellcheck source=bench/mesh-bench-lib.sh
. "$(dirname "$0")/mesh-bench-lib.sh" "$@"
# shellcheck source=tests/nat-lib.sh
. "$(dirname "$0")/../tests/nat-lib.sh"
T=${T:-5}
REPS=${REPS:-3}
command -v iperf3 >/dev/null || { echo "relay bench: iperf3 is missing" >&2; exit 1; }

MESH_CTL_ARGS=(--stun-listen 198.51.100.1 --relay-udp 198.51.100.1:3479 --relay-tls 198.51.100.1:8444)
mesh_init >/dev/null
nat_router ra 40 41 random && nat_router rb 42 42 random
mesh_node d1 >/dev/null && mesh_node d2 >/dev/null
mesh_node r1 nat_link ra >/dev/null && mesh_node r2 nat_link rb >/dev/null
for n in d1 d2 r1 r2; do mesh_up "$n" bench >/dev/null; done
declare -A IP4
for n in d1 d2 r1 r2; do IP4[$n]=$(mesh_ip4 "$n"); done

kind_of() { # kind_of A B: A's path kind to peer B
	rnn "$1" status --json | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin)["peers"] if p.get("name") == sys.argv[1]][0]
print(p["path"]["kind"])' "$2"
}
wait_for 60 mesh_ping r1 "${IP4[r2]}" || { echo "relay bench: r1 cannot reach r2" >&2; exit 1; }
wait_for 10 mesh_ping d1 "${IP4[d2]}" || { echo "relay bench: d1 cannot reach d2" >&2; exit 1; }
[ "$(kind_of r1 r2)" = relay ] || { echo "relay bench: r1 -> r2 is $(kind_of r1 r2), not relay" >&2; exit 1; }
[ "$(kind_of d1 d2)" = direct ] || { echo "relay bench: d1 -> d2 is not direct" >&2; exit 1; }

for n in d2 r2; do
	nsx "${MESH_NS[$n]}" iperf3 -s -B "${IP4[$n]}" >/dev/null 2>&1 &
	T_BG+=("$!")
done
sleep 0.5
# gbps A B: one iperf3 run from A to B's mesh address.
gbps() {
	nsx "${MESH_NS[$1]}" iperf3 -c "${IP4[$2]}" -t "$T" -J |
		python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}
# ping_ms A B: the median RTT of 50 pings from A to B.
ping_ms() {
	nsx "${MESH_NS[$1]}" ping -n -c 50 -i 0.02 "${IP4[$2]}" |
		awk -F'time=' '/time=/ {split($2, a, " "); print a[1]}' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
: >"$T_DIR/direct" && : >"$T_DIR/relay"
for _ in $(seq "$REPS"); do
	gbps d1 d2 >>"$T_DIR/direct"
	gbps r1 r2 >>"$T_DIR/relay"
done
D=$(median <"$T_DIR/direct")
R=$(median <"$T_DIR/relay")
echo "direct_tcp_gbps $D"
echo "relay_tcp_gbps $R"
echo "relay_vs_direct $(python3 -c "print('%.2f' % ($R / $D))")"
echo "direct_ping_ms $(ping_ms d1 d2)"
echo "relay_ping_ms $(ping_ms r1 r2)"
[ "$(kind_of r1 r2)" = relay ] || echo "relay bench: warning: r1 -> r2 left the relay during the run" >&2
