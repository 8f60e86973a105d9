#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/throughput.sh BUILD_DIR: TCP throughput, CPU and latency over a plain veth, over
# wireguard-go (Debian's, and a modern one if given), and over rustynet-wg
# (BUILD_DIR/src/rustynet-wg/rustynet-wg), in one run on one topology, so the figures can be
# compared with each other (never with another machine's).
#
#   ns A                                          ns B
#   +-------------------------------+            +-------------------------------+
#   | IF_A  100.64.0.1/24  MTU 1420 |  tunnel    |  IF_B  100.64.0.2/24          |
#   |  (wireguard-go, then          |<==========>|   (same implementation as A)  |
#   |   rustynet-wg)                |            |                               |
#   | va    198.51.100.1/24 --------+----veth----+------ vb 198.51.100.2/24      |
#   +-------------------------------+            +-------------------------------+
#   iperf3 client in A, server in B. Both namespaces and every process share the machine's cores.
#
# For each of veth, wireguard_go, wireguard_go_modern (if WIREGUARD_GO_MODERN is set),
# rustynet_wg and each shape in SHAPES: iperf3 TCP for T s, REPS times; the whole-machine busy %
# during each iperf3 run (from /proc/stat); ping latency (50 x 10 ms); for the tunnels, the UDP
# receive-buffer drops in B over the runs. Shapes: tcp1 (1 stream), tcp4 (4 streams),
# tcp1_mss536 (1 stream, iperf3 -M 536: 64 KiB TSO super-packets of 123 segments).
# Output: `name value` lines, each run and then the median; notes start with "#"; then for every
# shape `ratio_<shape>_vs_wireguard_go X.XX` (and `_vs_wireguard_go_modern`): rustynet-wg's
# median Gbit/s over that competitor's. The last line is `ratio_vs_wireguard_go X.XX` (tcp1).
# Env: T (seconds per iperf3 run, 10), REPS (3), SHAPES ("tcp1 tcp4 tcp1_mss536"),
# RUSTYNET_WG (overrides the binary path), WIREGUARD_GO_MODERN (path of a wireguard-go with
# TUN offloads, e.g. 0.0.20250522; Debian's 0.0.20220316 has none), PATHS (which of
# "veth wireguard_go wireguard_go_modern rustynet_wg" to run; default all available).
set -eu
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '3,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	exit 2
fi
BUILD=$1
T=${T:-10}
REPS=${REPS:-3}
SHAPES=${SHAPES:-tcp1 tcp4 tcp1_mss536}
PATHS=${PATHS:-veth wireguard_go wireguard_go_modern rustynet_wg}
WIREGUARD_GO_MODERN=${WIREGUARD_GO_MODERN:-}
TEST_TAG=bench
RUSTYNET_WG=${RUSTYNET_WG:-$BUILD/src/rustynet-wg/rustynet-wg}
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (network namespaces, TUN devices)" >&2
	exit 1
fi
for c in wg wireguard-go ip ping iperf3 python3 nstat; do
	command -v "$c" >/dev/null || { echo "bench: $c is missing (./scripts/install-deps.sh)" >&2; exit 1; }
done

busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# shape_opts SHAPE: the iperf3 client options of a shape.
shape_opts() {
	case $1 in
	tcp1) echo "-P 1" ;;
	tcp4) echo "-P 4" ;;
	tcp1_mss536) echo "-P 1 -M 536" ;;
	*) echo "bench: unknown shape $1 (tcp1, tcp4, tcp1_mss536)" >&2; return 1 ;;
	esac
}

# bench_iperf DST SHAPE: one run; prints "GBPS CPU_PCT", CPU measured around the client only.
bench_iperf() {
	local dst=$1 opts port json c0 c1 g
	opts=$(shape_opts "$2") || return 1
	T_IPERF_PORT=$((T_IPERF_PORT + 1))
	port=$T_IPERF_PORT
	nsx "$NS_B" iperf3 -s -1 -D -p "$port" >/dev/null 2>&1 || return 1
	wait_for 10 iperf_listening "$NS_B" "$port" || return 1
	json="$T_DIR/iperf.$port.json"
	c0=$(busy)
	# shellcheck disable=SC2086 # opts are words
	nsx "$NS_A" timeout $((T + 30)) iperf3 -c "$dst" -p "$port" -t "$T" $opts -J >"$json" || {
		echo "# iperf3 to $dst failed: $(tail -n 3 "$json" | tr '\n' ' ')" >&2
		return 1
	}
	c1=$(busy)
	g=$(python3 -c 'import json, sys; print("%.3f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$json") || return 1
	echo "$g $(echo "$c0 $c1" | awk '{printf "%.0f", 100 * ($3 - $1) / ($4 - $2)}')"
}

rcvbuf_drops() { nsx "$NS_B" nstat -az UdpRcvbufErrors | awk '/UdpRcvbufErrors/ {print $2}'; }

# measure NAME DST: all the runs for one path; medians in MED_<NAME>_<SHAPE>
measure() {
	local name=$1 dst=$2 sh r out g cpu gs cs
	for sh in $SHAPES; do
		gs="$T_DIR/$name.$sh.gbps"
		cs="$T_DIR/$name.$sh.cpu"
		: >"$gs"
		: >"$cs"
		for r in $(seq "$REPS"); do
			if out=$(bench_iperf "$dst" "$sh"); then
				read -r g cpu <<<"$out"
				echo "$g" >>"$gs"
				echo "$cpu" >>"$cs"
			else
				g=error cpu=error
			fi
			echo "${name}_${sh}_gbps_run$r $g"
			echo "${name}_${sh}_cpu_pct_run$r $cpu"
		done
		echo "${name}_${sh}_gbps $(median <"$gs")"
		echo "${name}_${sh}_cpu_pct $(median <"$cs")"
		printf -v "MED_${name}_${sh}" '%s' "$(median <"$gs")"
	done
	nsx "$NS_A" ping -n -q -c 50 -i 0.01 "$dst" | awk -F'[/ ]' -v n="$name" '
		/packets transmitted/ {print n "_ping_loss_pct " $6 + 0}
		/^rtt/ {print n "_rtt_avg_ms " $8; print n "_rtt_max_ms " $9; print n "_rtt_mdev_ms " $10}'
}

# ratio SHAPE COMPETITOR: rustynet-wg's median over COMPETITOR's for SHAPE, or n/a.
ratio() {
	local r w
	r=$(eval echo "\${MED_rustynet_wg_$1:-n/a}")
	w=$(eval echo "\${MED_$2_$1:-n/a}")
	awk -v r="$r" -v w="$w" 'BEGIN {if (r + 0 > 0 && w + 0 > 0) printf "%.2f\n", r / w; else print "n/a"}'
}

wants() { case " $PATHS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# tunnel NAME IMPL: both sides run IMPL; measure over the tunnel, then stop it.
tunnel() {
	local name=$1 impl=$2 d0
	if ! pair_wg "$impl" "$impl" >"$T_DIR/setup.log" 2>&1 || ! pair_peers >>"$T_DIR/setup.log" 2>&1 ||
		! ping_until "$NS_A" "$T4_B" 15 >>"$T_DIR/setup.log" 2>&1; then
		echo "# $name: tunnel setup failed:"
		sed 's/^/#   /' "$T_DIR/setup.log"
		wg_stop "$IF_A"
		wg_stop "$IF_B"
		return 0
	fi
	d0=$(rcvbuf_drops)
	measure "$name" "$T4_B"
	echo "${name}_udp_rcvbuf_drops $(($(rcvbuf_drops) - d0))"
	wg_stop "$IF_A"
	wg_stop "$IF_B"
	if ! wg_log_clean "$IF_A" 2>/dev/null || ! wg_log_clean "$IF_B" 2>/dev/null; then
		echo "# $name: sanitizer report or panic in a daemon log (KEEP_TMP=1 keeps $T_DIR)"
	fi
}

for sh in $SHAPES; do shape_opts "$sh" >/dev/null || exit 2; done
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -r), $(nproc) CPUs, T=${T}s REPS=$REPS SHAPES=\"$SHAPES\"; wireguard-go $(dpkg-query -W -f='${Version}' wireguard-go 2>/dev/null || echo '?')"
pair_netns
if wants veth; then measure veth "$U4_B"; fi
if wants wireguard_go; then tunnel wireguard_go wireguard-go; fi
if wants wireguard_go_modern; then
	if [ -n "$WIREGUARD_GO_MODERN" ] && [ -x "$WIREGUARD_GO_MODERN" ]; then
		echo "# wireguard_go_modern: $WIREGUARD_GO_MODERN ($("$WIREGUARD_GO_MODERN" --version 2>/dev/null | head -n 1))"
		tunnel wireguard_go_modern "$WIREGUARD_GO_MODERN"
	else
		echo "# note: WIREGUARD_GO_MODERN not set or not executable: wireguard_go_modern is skipped"
	fi
fi
if wants rustynet_wg; then
	if rn_available; then
		echo "# rustynet-wg: $RUSTYNET_WG"
		tunnel rustynet_wg "$RUSTYNET_WG"
	else
		echo "# note: rustynet-wg not built ($RUSTYNET_WG missing): its lines are skipped"
	fi
fi
for sh in $SHAPES; do
	echo "ratio_${sh}_vs_wireguard_go $(ratio "$sh" wireguard_go)"
	echo "ratio_${sh}_vs_wireguard_go_modern $(ratio "$sh" wireguard_go_modern)"
done
echo "ratio_vs_wireguard_go $(ratio tcp1 wireguard_go)"
