#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/control.sh BUILD_DIR: the control plane's costs.
#
# 1. Netmap computation + signing, no data planes (BUILD_DIR/bench/control-bench): a store with
#    N nodes (100, 1,000, 10,000) under the starter policy (everyone reaches everyone, the
#    worst case: every map lists every node); the time to build and sign one node's map, and
#    all N maps after a policy change.
# 2. Propagation: a control server and DAEMONS (10) running rustynetd in namespaces (topology
#    of tests/mesh-lib.sh); `policy set` ROUNDS (5) times; the time until every daemon runs
#    the new map (read with `rustynet status --json` every 20 ms, so ~20-50 ms resolution).
# 3. rustynetd with 100 peers (the 9 other daemons plus 91 nodes added straight to the store):
#    resident memory and CPU over IDLE (10) s; then TRAFFIC (5) s of iperf3 TCP from d2 to d1
#    through the tunnel, IDLE s of rest, and the resident memory again (the data plane's
#    buffers touched by the traffic stay resident).
#
# Output, `name value` lines:
#   netmap_one_ms_N, netmap_all_ms_N, netmap_all_server_cpu_ms_N     (1)
#   policy_propagation_ms_median, policy_propagation_ms_max          (2)
#   rustynetd_rss_kib_100_peers, rustynetd_idle_cpu_percent          (3)
#   rustynetd_rss_kib_100_peers_after_traffic                         (3)
# Env: DAEMONS, ROUNDS, IDLE, TRAFFIC, NODES ("100 1000 10000"), PARTS ("1 2 3"; part 3 starts
# the daemons of part 2 without its policy rounds).
set -eu
TEST_TAG=bctl
BENCH_NAME=control
# shellcheck source=bench/mesh-bench-lib.sh
. "$(dirname "$0")/mesh-bench-lib.sh" "$@"
DAEMONS=${DAEMONS:-10}
ROUNDS=${ROUNDS:-5}
IDLE=${IDLE:-10}
TRAFFIC=${TRAFFIC:-5}
NODES=${NODES:-100 1000 10000}
PARTS=${PARTS:-1 2 3}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

# ---------------------------------------------------------------- 1. netmaps without data planes
if part 1; then
	for n in $NODES; do
		"$CB" mapper "$n"
	done
fi

# ---------------------------------------------------------------- 2. propagation
mesh_init >/dev/null
for i in $(seq "$DAEMONS"); do
	mesh_node "d$i" >/dev/null
	mesh_up "d$i" bench >/dev/null
done

if part 2; then
	# all_at V: every daemon runs a map of version >= V.
	all_at() {
		local i v
		for i in $(seq "$DAEMONS"); do
			v=$(mesh_version "d$i") || return 1
			[ "$v" -ge "$1" ] || return 1
		done
	}
	# applied_ms V: the latest time (ms of the day, from the daemons' logs) at which a daemon
	# applied its first map above version V: when the change had reached them all.
	applied_ms() {
		local i f t last=0
		for i in $(seq "$DAEMONS"); do
			f=${MESH_LOG[d$i]}
			t=$(awk -v v="$1" '/apply: netmap version/ {
				for (k = 1; k <= NF; k++) if ($k == "version") { n = $(k + 1); sub(/[^0-9].*/, "", n) }
				if (n + 0 > v + 0) { split($1, a, /[:.]/); print ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4]; exit }
			}' "$f")
			[ -n "$t" ] || return 1
			[ "$t" -gt "$last" ] && last=$t
		done
		echo "$last"
	}
	times=()
	for r in $(seq "$ROUNDS"); do
		v=$(mesh_version d1)
		for i in $(seq 2 "$DAEMONS"); do
			w=$(mesh_version "d$i")
			[ "$w" -gt "$v" ] && v=$w
		done
		printf '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]},\n' >"$T_DIR/p.hujson"
		printf ' {"action": "accept", "src": ["bench"], "proto": "tcp", "dst": ["*:%d"]}]}\n' \
			$((1000 + r)) >>"$T_DIR/p.hujson"
		t0=$(date +%H:%M:%S.%3N | awk '{split($1, a, /[:.]/); print ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4]}')
		ctl policy set "$T_DIR/p.hujson" >/dev/null 2>&1
		while ! all_at $((v + 1)); do sleep 0.05; done
		t1=$(applied_ms "$v") || { echo "control bench: no apply line in a daemon log" >&2; exit 1; }
		times+=($((t1 - t0)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {
		printf "policy_propagation_ms_median %d\npolicy_propagation_ms_max %d\n", a[int((NR+1)/2)], a[NR]}'
fi

# ---------------------------------------------------------------- 3. rustynetd with 100 peers
part 3 || exit 0
"$CB" populate "$MESH_CTL_ST" $((100 - (DAEMONS - 1))) >/dev/null
wait_for 10 sh -c "[ \"\$('$RNCLI' --socket '${MESH_SOCK[d1]}' status --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"peers\"]))')\" -ge 100 ]" ||
	echo "control bench: d1 did not get 100 peers" >&2
pid=${MESH_PID[d1]}
sleep 2
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
t0=$(ticks "$pid")
sleep "$IDLE"
t1=$(ticks "$pid")
hz=$(getconf CLK_TCK)
echo "rustynetd_rss_kib_100_peers $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")"
awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$IDLE" \
	'BEGIN {printf "rustynetd_idle_cpu_percent %.2f\n", 100 * d / hz / s}'
d1_ip=$("$RNCLI" --socket "${MESH_SOCK[d1]}" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["self"]["ipv4"])')
nsx "${MESH_NS[d1]}" iperf3 -s -1 -B "$d1_ip" >/dev/null 2>&1 &
wait_for 5 iperf_listening "${MESH_NS[d1]}" 5201 || true
nsx "${MESH_NS[d2]}" iperf3 -c "$d1_ip" -t "$TRAFFIC" >"$T_DIR/iperf.out" 2>&1 ||
	echo "control bench: iperf3 d2 -> d1 failed: $(tail -n 1 "$T_DIR/iperf.out")" >&2
sleep "$IDLE"
echo "rustynetd_rss_kib_100_peers_after_traffic $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")"
