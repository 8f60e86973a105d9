#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/throughput.sh BUILD_DIR: the data plane's traffic shapes over a plain veth, over
# wireguard-go (Debian's, and a modern one when found) and over rustynet-wg
# (BUILD_DIR/src/rustynet-wg/rustynet-wg), interleaved in one run, so the figures can be
# compared with each other (never with another machine's). Issue 15's targets are checked.
#
#   ns A (one pair of namespaces per path,                   ns B
#         all set up at the start)
#   +-------------------------------+            +-------------------------------+
#   | IF_A  100.64.0.1/24  MTU 1420 |  tunnel    |  IF_B  100.64.0.2/24          |
#   |  (the path's implementation)  |<==========>|   (same implementation as A)  |
#   | va    198.51.100.1/24 --------+----veth----+------ vb 198.51.100.2/24      |
#   +-------------------------------+            +-------------------------------+
#   iperf3 and ping clients in A, servers in B (veth: to 198.51.100.2, tunnels: 100.64.0.2).
#   Every process shares the machine's cores.
#
# Paths: veth, wireguard_go (Debian's /usr/bin/wireguard-go), wireguard_go_modern
# (WIREGUARD_GO_MODERN, else the newest ../shared/anchors/bin/wireguard-go-* beside the main
# checkout; skipped if none), rustynet_wg. Rounds: REPS times, each shape runs on every path
# back to back, the paths' order rotating each round.
# Shapes (SHAPES, space or comma separated):
#   tcp1, tcp4     iperf3 TCP, 1 / 4 streams (Gbit/s received)
#   bidir          iperf3 TCP --bidir, 1 stream each way (Gbit/s, both directions summed)
#   mss536         iperf3 TCP, 1 stream, -M 536 (tcp1_mss536 is the same)
#   udpN           iperf3 UDP -b 0 -l N: the sender at full speed; the receiver's Mbit/s,
#                  packets/s and loss %. udp1392 fills the tunnel MTU (1392 + 28 = 1420);
#                  a larger N fragments inside the tunnel.
#   ping           idle latency: PING_N (200) pings, 10 ms apart; median and p99 ms, loss %
#   pingload       the same during an iperf3 TCP 1-stream transfer: 90 x T pings from 1 s in
# TCP shapes also give the whole machine's busy % (cpu_pct) and, on tunnels, the CPU time of
# both daemons (/proc/PID/stat) in % of one core (daemon_cpu_pct) and per Gbit/s
# (cpu_per_gbps: lower is better; the table shows tcp1's).
# Exit status 1 when a path could not be set up, a run failed or a daemon died or logged a
# sanitizer report or panic (after the whole report); a missing path (not built, no modern
# wireguard-go) is only a note.
# Output: `PATH_SHAPE_METRIC_runR value` as each run ends, then `PATH_SHAPE_METRIC value`
# medians, `ratio_SHAPE_vs_wireguard_go[_modern] X.XX` (rustynet-wg over the other, each
# shape's main metric), `target_SHAPE met|not_met|n/a`, a markdown table as "# " lines
# (`sed -n 's/^# |/|/p'`), notes starting with "#"; last line `ratio_vs_wireguard_go X.XX`
# (tcp1).
# Env: T (seconds per iperf3 run, 10), REPS (3), SHAPES (all above, udp1392 and udp64), PATHS
# (default all four), PING_N (200), RUSTYNET_WG (the binary), WIREGUARD_GO_MODERN (path).
# Smoke test of every shape and path: T=1 REPS=1 PING_N=20 bench/throughput.sh build
set -eu
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '3,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	exit 2
fi
BUILD=$1
T=${T:-10}
REPS=${REPS:-3}
PING_N=${PING_N:-200}
SHAPES=${SHAPES:-tcp1 tcp4 bidir mss536 udp1392 udp64 ping pingload}
SHAPES=${SHAPES//,/ }
PATHS=${PATHS:-veth wireguard_go wireguard_go_modern rustynet_wg}
PATHS=${PATHS//,/ }
TEST_TAG=bench
RUSTYNET_WG=${RUSTYNET_WG:-$BUILD/src/rustynet-wg/rustynet-wg}
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib.sh
. "$REPO/tests/lib.sh"
# shellcheck source=bench/wggo-modern.sh
. "$REPO/bench/wggo-modern.sh"
if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (network namespaces, TUN devices)" >&2
	exit 1
fi
for c in wg wireguard-go ip ping iperf3 python3 nstat; do
	command -v "$c" >/dev/null || { echo "bench: $c is missing (./scripts/install-deps.sh)" >&2; exit 1; }
done
case $T$REPS$PING_N in *[!0-9]*) echo "bench: T, REPS and PING_N are whole numbers" >&2; exit 2 ;; esac
if [ "$T" -lt 1 ] || [ "$REPS" -lt 1 ] || [ "$PING_N" -lt 1 ]; then
	echo "bench: T, REPS and PING_N are at least 1" >&2
	exit 2
fi

WIREGUARD_GO_MODERN=$(wggo_modern "$REPO" || true)

# shape_kind SHAPE: tcp, udp, ping or pingload; fails on an unknown shape.
shape_kind() {
	case $1 in
	tcp1 | tcp4 | bidir | mss536) echo tcp ;;
	udp[0-9]*)
		case ${1#udp} in *[!0-9]*) return 1 ;; esac
		[ "${1#udp}" -ge 16 ] && [ "${1#udp}" -le 65507 ] && echo udp
		;;
	ping) echo ping ;;
	pingload) echo pingload ;;
	*) return 1 ;;
	esac
}

tcp_opts() {
	case $1 in
	tcp1) echo "-P 1" ;;
	tcp4) echo "-P 4" ;;
	bidir) echo "-P 1 --bidir" ;;
	mss536) echo "-P 1 -M 536" ;;
	esac
}

busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
median() {
	sort -g | awk '{a[NR] = $1}
		END {
			if (NR == 0) print "n/a"
			else if (NR % 2) print a[(NR + 1) / 2]
			else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2
		}'
}
now_s() { echo "$EPOCHREALTIME"; }
CLK_TCK=$(getconf CLK_TCK)

# proc_ticks PID...: utime + stime of the processes (all their threads), in clock ticks.
proc_ticks() {
	local pid s=0 v
	for pid in "$@"; do
		# fields after "PID (comm) ": utime and stime are the 12th and 13th
		v=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$pid/stat" 2>/dev/null) || v=0
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

# bgwait CMD...: CMD in the background, waited for: a signal to this script (Ctrl-C) then runs
# the trap (cleanup) at once; bash delays it until a foreground command ends.
bgwait() {
	"$@" &
	wait $!
}

# iperf_start PATH: a one-test iperf3 server in the path's B on a fresh port, $PORT.
iperf_start() {
	T_IPERF_PORT=$((T_IPERF_PORT + 1))
	PORT=$T_IPERF_PORT
	nsx "${P_NSB[$1]}" iperf3 -s -1 -D -p "$PORT" >/dev/null 2>&1 || return 1
	wait_for 10 iperf_listening "${P_NSB[$1]}" "$PORT"
}

# iperf_result JSON KIND: tcp: Gbit/s received (both directions for --bidir);
# udp LEN: "Mbit/s packets/s loss%" as the receiver counted them.
iperf_result() {
	python3 - "$@" <<-'EOF'
		import json, sys
		try:
		    e = json.load(open(sys.argv[1]))["end"]
		    r = e["sum_received"]
		except (ValueError, KeyError) as x:
		    sys.exit("# no result in %s: %s %s" % (sys.argv[1], type(x).__name__, x))
		if sys.argv[2] == "tcp":
		    b = r["bits_per_second"] + e.get("sum_received_bidir_reverse", {}).get("bits_per_second", 0)
		    print("%.3f" % (b / 1e9))
		else:
		    got = r["packets"] - r["lost_packets"]
		    print("%.1f %.0f %.2f" % (r["bits_per_second"] / 1e6, got / r["seconds"], r["lost_percent"]))
	EOF
}

# iperf_client PATH PORT JSON OPTS...: the client in the path's A for T s.
iperf_client() {
	local p=$1 port=$2 json=$3
	shift 3
	# stderr aside: iperf3 warns that a UDP payload over the control connection's MSS may
	# fragment (udp1392 does not: the tunnel's MTU is what counts)
	bgwait nsx "${P_NSA[$p]}" timeout $((T + 30)) iperf3 -c "${P_DST[$p]}" -p "$port" -t "$T" -J "$@" >"$json" 2>"$json.err" || {
		echo "# $p: iperf3 $* failed: $(grep -h '"error"' "$json" | head -n 1) $(tail -n 2 "$json.err" | tr '\n' ' ')" >&2
		return 1
	}
}

# put PATH SHAPE METRIC R VALUE: one sample, printed and kept for the median.
put() {
	echo "$5" >>"$T_DIR/res/$1.$2.$3"
	echo "${1}_${2}_${3}_run$4 $5"
}

rcvbuf_drops() { nsx "$1" nstat -az UdpRcvbufErrors | awk '/UdpRcvbufErrors/ {print $2}'; }

# run_tcp PATH SHAPE R
run_tcp() {
	local p=$1 sh=$2 r=$3 port json c0 c1 d0 d1 t0 t1 k0 k1 g dc opts
	iperf_start "$p" || return 1
	port=$PORT
	json="$T_DIR/iperf.$port.json"
	read -r -a opts <<<"$(tcp_opts "$sh")"
	[ -z "${P_PIDS[$p]}" ] || d0=$(rcvbuf_drops "${P_NSB[$p]}")
	# shellcheck disable=SC2086 # pids are words
	k0=$(proc_ticks ${P_PIDS[$p]})
	t0=$(now_s)
	c0=$(busy)
	iperf_client "$p" "$port" "$json" "${opts[@]}" || return 1
	c1=$(busy)
	t1=$(now_s)
	# shellcheck disable=SC2086
	k1=$(proc_ticks ${P_PIDS[$p]})
	g=$(iperf_result "$json" tcp) || return 1
	put "$p" "$sh" gbps "$r" "$g"
	put "$p" "$sh" cpu_pct "$r" "$(echo "$c0 $c1" | awk '{printf "%.0f", 100 * ($3 - $1) / ($4 - $2)}')"
	if [ -n "${P_PIDS[$p]}" ]; then
		d1=$(rcvbuf_drops "${P_NSB[$p]}")
		P_DROPS[$p]=$((P_DROPS[$p] + d1 - d0))
		dc=$(awk -v k=$((k1 - k0)) -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.0f", 100 * k / hz / (t1 - t0)}')
		put "$p" "$sh" daemon_cpu_pct "$r" "$dc"
		put "$p" "$sh" cpu_per_gbps "$r" "$(awk -v c="$dc" -v g="$g" 'BEGIN {if (g > 0) printf "%.1f", c / g; else print "n/a"}')"
	fi
}

# run_udp PATH SHAPE R: iperf3 UDP at full speed, payload udpN bytes.
run_udp() {
	local p=$1 sh=$2 r=$3 port json mbps pps loss
	iperf_start "$p" || return 1
	port=$PORT
	json="$T_DIR/iperf.$port.json"
	iperf_client "$p" "$port" "$json" -u -b 0 -l "${sh#udp}" || return 1
	read -r mbps pps loss <<<"$(iperf_result "$json" udp)" || return 1
	[ -n "$loss" ] || return 1
	put "$p" "$sh" mbps "$r" "$mbps"
	put "$p" "$sh" pps "$r" "$pps"
	put "$p" "$sh" loss_pct "$r" "$loss"
}

# ping_stats COUNT FILE: "median p99 loss%" of ping's per-reply lines in FILE.
ping_stats() {
	grep -o 'time=[0-9.]*' "$2" | cut -d= -f2 | sort -g | awk -v sent="$1" '{a[NR] = $1}
		END {
			if (NR == 0) exit 1
			m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			i = int(0.99 * NR); if (i < 0.99 * NR) i++
			printf "%.3f %.3f %.1f\n", m, a[i], 100 * (sent - NR) / sent
		}'
}

# run_ping PATH SHAPE R [COUNT]: COUNT pings 10 ms apart.
run_ping() {
	local p=$1 sh=$2 r=$3 n=${4:-$PING_N} out ms p99 loss
	out="$T_DIR/ping.$p.$sh.$r"
	bgwait nsx "${P_NSA[$p]}" ping -n -c "$n" -i 0.01 -W 1 "${P_DST[$p]}" >"$out" 2>&1 || true
	read -r ms p99 loss <<<"$(ping_stats "$n" "$out")" || true
	if [ -z "${loss:-}" ]; then
		echo "# $p: ping got no reply: $(tail -n 2 "$out" | tr '\n' ' ')" >&2
		return 1
	fi
	put "$p" "$sh" ms "$r" "$ms"
	put "$p" "$sh" p99_ms "$r" "$p99"
	put "$p" "$sh" loss_pct "$r" "$loss"
}

# run_pingload PATH SHAPE R: 0.9 x T s of pings (from 1 s in) during a T + 2 s TCP 1-stream
# transfer.
run_pingload() {
	local p=$1 sh=$2 r=$3 port json lpid ok=0
	iperf_start "$p" || return 1
	port=$PORT
	json="$T_DIR/iperf.$port.json"
	nsx "${P_NSA[$p]}" timeout $((T + 32)) iperf3 -c "${P_DST[$p]}" -p "$port" -t $((T + 2)) -J >"$json" 2>&1 &
	lpid=$!
	sleep 1
	run_ping "$p" "$sh" "$r" $((T * 90)) || ok=1
	if ! wait "$lpid"; then
		echo "# $p: the load's iperf3 failed: $(tail -n 3 "$json" | tr '\n' ' ')" >&2
		return 1
	fi
	put "$p" "$sh" load_gbps "$r" "$(iperf_result "$json" tcp)"
	return $ok
}

# both_alive_pids "PID PID"
both_alive_pids() {
	local pid
	for pid in $1; do kill -0 "$pid" 2>/dev/null || return 1; done
}

# run_shape PATH SHAPE R
run_shape() {
	local p=$1 sh=$2 kind
	kind=$(shape_kind "$sh")
	if [ -n "${P_PIDS[$p]}" ] && ! both_alive_pids "${P_PIDS[$p]}"; then
		echo "${p}_${sh}_run$3 error"
		echo "# $p: a tunnel daemon is gone: $sh not run" >&2
		P_ERRORS=$((P_ERRORS + 1))
		return 0
	fi
	# wakes a tunnel whose keys expired while other paths ran (a handshake, not measured)
	ping_until "${P_NSA[$p]}" "${P_DST[$p]}" 10 >/dev/null 2>&1 || echo "# $p: no ping reply before $sh" >&2
	if ! "run_$kind" "$p" "$sh" "$3"; then
		echo "${p}_${sh}_run$3 error"
		P_ERRORS=$((P_ERRORS + 1))
	fi
}

# path_up PATH IMPL: namespaces (and for a tunnel, both daemons and peers) for PATH.
path_up() {
	local p=$1 impl=${2:-}
	pair_netns || return 1
	P_NSA[$p]=$NS_A
	P_NSB[$p]=$NS_B
	P_PIDS[$p]=
	P_DROPS[$p]=0
	P_IFS[$p]=
	if [ -z "$impl" ]; then
		P_DST[$p]=$U4_B
		return 0
	fi
	P_DST[$p]=$T4_B
	if ! pair_wg "$impl" "$impl" >"$T_DIR/setup.log" 2>&1 || ! pair_peers >>"$T_DIR/setup.log" 2>&1 ||
		! ping_until "$NS_A" "$T4_B" 15 >>"$T_DIR/setup.log" 2>&1; then
		echo "# $p: tunnel setup failed:"
		sed 's/^/#   /' "$T_DIR/setup.log"
		P_ERRORS=$((P_ERRORS + 1))
		wg_stop "$IF_A"
		wg_stop "$IF_B"
		return 1
	fi
	P_IFS[$p]="$IF_A $IF_B"
	P_PIDS[$p]="${WG_PID[$IF_A]} ${WG_PID[$IF_B]}"
}

# path_down PATH: stop the daemons; report sanitizer reports or panics in their logs.
path_down() {
	local p=$1 ifn
	[ -n "${P_PIDS[$p]}" ] || return 0
	echo "${p}_udp_rcvbuf_drops ${P_DROPS[$p]}"
	for ifn in ${P_IFS[$p]}; do
		if ! kill -0 "${WG_PID[$ifn]}" 2>/dev/null; then
			echo "# $p: the daemon of $ifn died during the run"
			P_ERRORS=$((P_ERRORS + 1))
		fi
		wg_stop "$ifn"
		if ! wg_log_clean "$ifn" 2>/dev/null; then
			echo "# $p: sanitizer report or panic in $ifn's log (KEEP_TMP=1 keeps $T_DIR)"
			P_ERRORS=$((P_ERRORS + 1))
		fi
	done
}

# med PATH SHAPE METRIC: the median of the samples, or n/a.
med() {
	local f="$T_DIR/res/$1.$2.$3"
	if [ -s "$f" ]; then median <"$f"; else echo n/a; fi
}

# ratio A B: A / B, or n/a.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a + 0 > 0 && b + 0 > 0) printf "%.2f\n", a / b; else print "n/a"}'; }

# main_metric SHAPE: the metric a shape's ratio and target are about.
main_metric() {
	case $(shape_kind "$1") in
	tcp) echo gbps ;;
	udp) echo pps ;;
	*) echo ms ;;
	esac
}

# target SHAPE: "vs_modern vs_veth better" (issue 15; better is hi or lo; "-" for none).
target() {
	case $1 in
	tcp1 | tcp4) echo "2 0.3 hi" ;;
	udp64) echo "1.5 - hi" ;;
	ping | pingload | cpu) echo "1 - lo" ;;
	*) echo "1 - hi" ;;
	esac
}

# verdict SHAPE RN MODERN VETH: met, not_met or n/a.
verdict() {
	local want_m want_v better
	read -r want_m want_v better <<<"$(target "$1")"
	awk -v r="$2" -v m="$3" -v v="$4" -v wm="$want_m" -v wv="$want_v" -v b="$better" 'BEGIN {
		if (r + 0 <= 0 || m + 0 <= 0) { print "n/a"; exit }
		ok = (b == "hi") ? (wm == 1 ? r > m : r >= wm * m) : r < m
		if (wv != "-") { if (v + 0 <= 0) { print "n/a"; exit } ok = ok && r >= wv * v }
		print ok ? "met" : "not_met"
	}'
}

target_text() {
	case $1 in
	tcp1 | tcp4) echo "≥ 2x 2025, ≥ 0.3 veth" ;;
	udp64) echo "≥ 1.5x 2025" ;;
	ping | pingload | cpu) echo "< 2025" ;;
	*) echo "> 2025" ;;
	esac
}

row_label() {
	case $1 in
	tcp1) echo "TCP, 1 stream (Gbit/s)" ;;
	tcp4) echo "TCP, 4 streams (Gbit/s)" ;;
	bidir) echo "TCP, --bidir, both ways summed (Gbit/s)" ;;
	mss536) echo "TCP, 1 stream, -M 536 (Gbit/s)" ;;
	udp*) echo "UDP ${1#udp} B at full speed, received (kpps; Mbit/s; loss %)" ;;
	ping) echo "ping idle (median ms; p99)" ;;
	pingload) echo "ping under TCP load (median ms; p99)" ;;
	cpu) echo "CPU per Gbit/s, both daemons, tcp1 (% of a core)" ;;
	esac
}

# cell PATH SHAPE: the table cell of one path.
cell() {
	local p=$1 sh=$2 a b c
	case $sh in
	udp*)
		a=$(med "$p" "$sh" pps)
		b=$(med "$p" "$sh" mbps)
		c=$(med "$p" "$sh" loss_pct)
		if [ "$a" = n/a ]; then
			echo n/a
		else
			awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {printf "%.0f; %.0f; %.1f %%\n", a / 1000, b, c}'
		fi
		;;
	ping | pingload)
		a=$(med "$p" "$sh" ms)
		[ "$a" = n/a ] || a="$a; $(med "$p" "$sh" p99_ms)"
		echo "$a"
		;;
	cpu) med "$p" tcp1 cpu_per_gbps | awk '$1 != "n/a" {printf "%.0f\n", $1; next} {print}' ;;
	*) med "$p" "$sh" gbps ;;
	esac
}

# shape_med PATH SHAPE: the median of a shape's main metric (cpu: tcp1's CPU per Gbit/s).
shape_med() {
	if [ "$2" = cpu ]; then med "$1" tcp1 cpu_per_gbps; else med "$1" "$2" "$(main_metric "$2")"; fi
}

report() {
	local sh m p k rn mo ve v vr met=0 all=0 rows=() cells=()
	local paths=(veth wireguard_go wireguard_go_modern rustynet_wg)
	for sh in $SHAPES; do
		for p in "${UP[@]}"; do
			for k in "$T_DIR/res/$p.$sh".*; do
				[ -e "$k" ] || continue
				m=${k##*.}
				echo "${p}_${sh}_${m} $(med "$p" "$sh" "$m")"
			done
		done
	done
	for p in "${UP[@]}"; do path_down "$p"; done
	for sh in $SHAPES; do
		echo "ratio_${sh}_vs_wireguard_go $(ratio "$(shape_med rustynet_wg "$sh")" "$(shape_med wireguard_go "$sh")")"
		echo "ratio_${sh}_vs_wireguard_go_modern $(ratio "$(shape_med rustynet_wg "$sh")" "$(shape_med wireguard_go_modern "$sh")")"
	done
	read -r -a rows <<<"$SHAPES"
	case " $SHAPES " in *" tcp1 "*) rows+=(cpu) ;; esac
	echo "#"
	echo "# | shape | veth | wireguard-go $WGGO_VER | wireguard-go $MODERN_VER | rustynet-wg | rn / 2025 | rn / veth | target | |"
	echo "# |---|---|---|---|---|---|---|---|---|"
	for sh in "${rows[@]}"; do
		rn=$(shape_med rustynet_wg "$sh")
		mo=$(shape_med wireguard_go_modern "$sh")
		ve=$(shape_med veth "$sh")
		v=$(verdict "$sh" "$rn" "$mo" "$ve")
		echo "target_$sh $v"
		all=$((all + 1))
		[ "$v" != met ] || met=$((met + 1))
		cells=()
		for p in "${paths[@]}"; do cells+=("$(cell "$p" "$sh")"); done
		vr=$(ratio "$rn" "$ve")
		if [ "$sh" = cpu ]; then
			cells[0]=-
			vr=-
		fi
		echo "# | $(row_label "$sh") | ${cells[0]} | ${cells[1]} | ${cells[2]} | ${cells[3]} | $(ratio "$rn" "$mo") | $vr | $(target_text "$sh") | ${v/_/ } |"
	done >"$T_DIR/table"
	grep -v '^#' "$T_DIR/table"
	grep '^#' "$T_DIR/table"
	echo "#"
	echo "# issue 15 targets met: $met of $all (n/a: a path is missing); failures (setup, runs, daemons): $P_ERRORS"
	echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "targets_met $met/$all"
	echo "ratio_vs_wireguard_go $(ratio "$(shape_med rustynet_wg tcp1)" "$(shape_med wireguard_go tcp1)")"
}

# ---------------------------------------------------------------- main

shapes=()
for sh in $SHAPES; do
	[ "$sh" != tcp1_mss536 ] || sh=mss536
	if ! shape_kind "$sh" >/dev/null; then
		echo "bench: unknown shape $sh (tcp1 tcp4 bidir mss536 udpN ping pingload)" >&2
		exit 2
	fi
	shapes+=("$sh")
done
SHAPES="${shapes[*]}"
for p in $PATHS; do
	case $p in veth | wireguard_go | wireguard_go_modern | rustynet_wg) ;; *)
		echo "bench: unknown path $p (veth wireguard_go wireguard_go_modern rustynet_wg)" >&2
		exit 2
		;;
	esac
done
wants() { case " $PATHS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

declare -A P_NSA=() P_NSB=() P_DST=() P_PIDS=() P_IFS=() P_DROPS=()
P_ERRORS=0
UP=()
mkdir -p "$T_DIR/res"
WGGO_VER=$(dpkg-query -W -f='${Version}' wireguard-go 2>/dev/null || echo '?')
MODERN_VER=n/a
commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')
git -C "$REPO" diff --quiet HEAD 2>/dev/null || commit="$commit+changes"
buildtype=$(python3 - "$(dirname "$(realpath -m "$RUSTYNET_WG")")/../../meson-info/intro-buildoptions.json" \
	2>/dev/null <<-'EOF' || echo '?'
		import json, sys
		o = {x["name"]: x["value"] for x in json.load(open(sys.argv[1]))}
		print(o["buildtype"], o["b_sanitize"])
	EOF
)
echo "# $(date -u +%Y-%m-%dT%H:%MZ) commit $commit, rustynet-wg build: $buildtype; $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# T=${T}s REPS=$REPS PING_N=$PING_N SHAPES=\"$SHAPES\"; wireguard-go $WGGO_VER"
if wants rustynet_wg && [ "$buildtype" != "release none" ]; then
	echo "# note: rustynet-wg is not a release build without sanitizers: its figures are not the product's"
fi
for sh in $SHAPES; do
	if [ "$(shape_kind "$sh")" = udp ] && [ $((${sh#udp} + 28)) -gt "$TUN_MTU" ]; then
		echo "# note: $sh: ${sh#udp} + 28 bytes exceed the tunnel MTU $TUN_MTU: each datagram is fragmented in the tunnels"
	fi
done

if wants veth && path_up veth; then UP+=(veth); fi
if wants wireguard_go && path_up wireguard_go wireguard-go; then UP+=(wireguard_go); fi
if wants wireguard_go_modern; then
	if [ -n "$WIREGUARD_GO_MODERN" ] && [ -x "$WIREGUARD_GO_MODERN" ]; then
		MODERN_VER=$(wggo_version "$WIREGUARD_GO_MODERN")
		echo "# wireguard_go_modern: $WIREGUARD_GO_MODERN ($MODERN_VER)"
		if path_up wireguard_go_modern "$WIREGUARD_GO_MODERN"; then UP+=(wireguard_go_modern); fi
	else
		echo "# note: no modern wireguard-go (WIREGUARD_GO_MODERN unset, none in ../shared/anchors/bin): skipped"
	fi
fi
if wants rustynet_wg; then
	if rn_available; then
		echo "# rustynet-wg: $RUSTYNET_WG"
		if path_up rustynet_wg "$RUSTYNET_WG"; then UP+=(rustynet_wg); fi
	else
		echo "# note: rustynet-wg not built ($RUSTYNET_WG missing): its lines are skipped"
	fi
fi
[ ${#UP[@]} -gt 0 ] || { echo "bench: no path could be set up" >&2; exit 1; }

for r in $(seq "$REPS"); do
	# rotate the order each round: no path always runs first (after the others' idle time)
	order=()
	for i in "${!UP[@]}"; do order+=("${UP[(i + r - 1) % ${#UP[@]}]}"); done
	echo "# round $r: ${order[*]}"
	for sh in $SHAPES; do
		for p in "${order[@]}"; do run_shape "$p" "$sh" "$r"; done
	done
done
report
# a failure is an error of the bench, not a figure: exit 1 after the whole report
[ "$P_ERRORS" = 0 ]
