#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/handshakes.sh BUILD_DIR: handshakes per second under a flood of valid initiations from
# many peers, for rustynet-wg (BUILD_DIR/src/rustynet-wg/rustynet-wg), Debian's wireguard-go
# and the modern wireguard-go (bench/wggo-modern.sh finds it; skipped if none), interleaved in
# one run. Issue 15's target: at least the modern wireguard-go's, using both cores.
#
#   ns D (device under test)                      ns G (generator)
#   +--------------------------------+            +-----------------------------------+
#   | IF  (one implementation at a   |            | BUILD_DIR/bench/handshake-flood   |
#   |      time, N peers, port 51820)|            |  N peers' private keys; sources   |
#   | vd  198.51.100.1/24 -----------+----veth----+- vg 198.51.100.2/24               |
#   | route 198.18.0.0/15 via G      |            |  local route 198.18.0.0/15 (lo)   |
#   +--------------------------------+            +-----------------------------------+
#
# The generator (bench/handshake_flood.c) makes its initiations with the data plane's own noise
# and cookie code, ahead of the run (a pool of K per peer, reused by every run: each run has a
# fresh daemon). Each peer keeps one initiation in flight and sends its next 25 ms after the
# previous one (the per-peer flood guard is 20 ms), from ADDRS source addresses in turn (the
# per-address rate limiter allows 20 a second), over SOCKS source ports. A cookie reply (the
# device under load) is consumed and the initiation sent again with its mac2, as a real peer
# does. A response counts when it arrives in the SECONDS after WARMUP; up to VERIFY responses
# per run are then checked with the initiator's side of the handshake (any that fails is an
# error). Both processes share the machine's cores: the generator's CPU is printed too.
#
# Output, `name value` lines: per run IMPL_hs_per_s_runR, IMPL_cpu_pct_runR (the daemon's CPU
# time in % of one core: over 100 means it used more than one), IMPL_hs_per_cpu_s_runR (the
# rate over the daemon's CPU time: steadier when others load the machine), IMPL_gen_cpu_pct_runR,
# IMPL_cookies_runR, IMPL_timeouts_runR; then medians IMPL_hs_per_s, IMPL_cpu_pct, ...;
# hs_ratio_vs_wireguard_go[_modern] X.XX (rustynet-wg over it); target_handshakes met|not_met|n/a
# (rustynet-wg's median at least the modern one's, and its CPU over 100 %); a markdown table
# as "# " lines. IMPL: rustynet_wg, wireguard_go, wireguard_go_modern.
# Exit status 1 when a daemon does not start, dies, logs a sanitizer report or panic, or a
# response does not verify.
# Smoke test: NPEERS=200 K=130 SECONDS_RUN=2 REPS=1 bench/handshakes.sh build
# Env: NPEERS (1000), SECONDS_RUN (5), WARMUP (1), REPS (3), K (initiations per peer in the
# pool, 60: caps the rate at NPEERS x K / (WARMUP + SECONDS_RUN), 10,000 a second by default; a
# run that reaches it says so), ADDRS (4), SOCKS (16), VERIFY (2000 per run; 0: all), RUSTYNET_WG,
# WIREGUARD_GO_MODERN, IMPLS (default "rustynet_wg wireguard_go wireguard_go_modern";
# rustynet_wg_hs1 adds rustynet-wg with one handshake worker, RUSTYNET_WG_HS_WORKERS=1),
# RN_ENV (extra VAR=VALUE words for rustynet-wg, e.g. RUSTYNET_WG_HS_WORKERS=1).
set -eu
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '3,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	exit 2
fi
BUILD=$1
NPEERS=${NPEERS:-1000}
SECONDS_RUN=${SECONDS_RUN:-5}
WARMUP=${WARMUP:-1}
REPS=${REPS:-3}
K=${K:-60}
ADDRS=${ADDRS:-4}
SOCKS=${SOCKS:-16}
VERIFY=${VERIFY:-2000}
CHUNK=1000
IMPLS=${IMPLS:-rustynet_wg wireguard_go wireguard_go_modern}
IMPLS=${IMPLS//,/ }
RN_ENV=${RN_ENV:-}
TEST_TAG=hsb
RUSTYNET_WG=${RUSTYNET_WG:-$BUILD/src/rustynet-wg/rustynet-wg}
GEN=$(realpath -m "$BUILD/bench/handshake-flood")
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib.sh
. "$REPO/tests/lib.sh"
# shellcheck source=bench/wggo-modern.sh
. "$REPO/bench/wggo-modern.sh"
if [ "$(id -u)" != 0 ]; then
	echo "handshakes: needs root (network namespaces, TUN devices)" >&2
	exit 1
fi
case $NPEERS$SECONDS_RUN$WARMUP$REPS$K$ADDRS$SOCKS$VERIFY in *[!0-9]*)
	echo "handshakes: NPEERS, SECONDS_RUN, WARMUP, REPS, K, ADDRS, SOCKS, VERIFY are whole numbers" >&2
	exit 2
	;;
esac
if [ "$NPEERS" -lt 1 ] || [ $((NPEERS * ADDRS)) -gt 130000 ] || [ "$SECONDS_RUN" -lt 1 ]; then
	echo "handshakes: NPEERS x ADDRS must fit 198.18.0.0/15, SECONDS_RUN at least 1" >&2
	exit 2
fi
[ -x "$GEN" ] || { echo "handshakes: $GEN is not built (ninja -C $BUILD)" >&2; exit 1; }
WIREGUARD_GO_MODERN=$(wggo_modern "$REPO" || true)
CLK_TCK=$(getconf CLK_TCK)
FAILED=0

median() {
	sort -g | awk '{a[NR] = $1}
		END {
			if (NR == 0) print "n/a"
			else if (NR % 2) print a[(NR + 1) / 2]
			else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2
		}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a + 0 > 0 && b + 0 > 0) printf "%.2f\n", a / b; else print "n/a"}'; }
proc_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0; }
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }

impl_bin_of() {
	case $1 in
	rustynet_wg | rustynet_wg_hs1) echo "$RUSTYNET_WG" ;;
	wireguard_go) echo wireguard-go ;;
	wireguard_go_modern) echo "$WIREGUARD_GO_MODERN" ;;
	esac
}

# make_conf PREFIX: the device's config in files PREFIX.0 (the interface and the first CHUNK
# peers), PREFIX.1, ... from the generator's public keys.
make_conf() {
	python3 - "$1" "$CHUNK" "$(cat "$T_DIR/dev.key")" "$T_DIR/peers.pub" <<-'EOF'
		import sys
		prefix, chunk, key, pubs = sys.argv[1], int(sys.argv[2]), sys.argv[3], open(sys.argv[4]).read().split()
		f = open(prefix + ".0", "w")
		f.write("[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n" % key)
		for i, pub in enumerate(pubs):
		    if i and i % chunk == 0:
		        f.close()
		        f = open("%s.%d" % (prefix, i // chunk), "w")
		    f.write("[Peer]\nPublicKey = %s\nAllowedIPs = 100.%d.%d.%d/32\n\n" % (pub, 64 + (i >> 16), (i >> 8) & 255, i & 255))
		f.close()
	EOF
}

# run_one IMPL R: a fresh daemon with the N peers, one generator run, the daemon stopped.
run_one() {
	local impl=$1 r=$2 bin ifn f op got k0 k1 t0 t1 c0 c1 c0b c1b m out pid sampler env=()
	bin=$(impl_bin_of "$impl")
	T_WGN=$((T_WGN + 1))
	ifn="rn$$${T_WGN}h"
	[ "$impl" != rustynet_wg ] || read -r -a env <<<"$RN_ENV"
	[ "$impl" != rustynet_wg_hs1 ] || env=(RUSTYNET_WG_HS_WORKERS=1)
	if ! wg_start "$NS_D" "$ifn" "$bin" ${env[@]+"${env[@]}"} 2>"$T_DIR/start.err"; then
		echo "# $impl did not start:"
		sed 's/^/#   /' "$T_DIR/start.err"
		FAILED=1
		return 0
	fi
	for f in "$T_DIR/conf".*; do
		case $f in *.0) op=setconf ;; *) op=addconf ;; esac
		if ! nsx "$NS_D" wg "$op" "$ifn" "$f" 2>"$T_DIR/setconf.err"; then
			echo "# $impl: wg $op failed: $(tr '\n' ' ' <"$T_DIR/setconf.err")"
			FAILED=1
		fi
	done
	ip -n "$NS_D" addr add 100.64.255.254/16 dev "$ifn"
	ip -n "$NS_D" link set "$ifn" up
	got=$(nsx "$NS_D" wg show "$ifn" peers | wc -l)
	if [ "$got" != "$NPEERS" ]; then
		echo "# $impl: $got peers configured, not $NPEERS"
		FAILED=1
	fi
	pid=${WG_PID[$ifn]}
	out="$T_DIR/gen.$impl.$r"
	# the daemon's CPU over the counted window only: sampled WARMUP s after the start
	(
		sleep "$WARMUP"
		echo "$(proc_ticks "$pid") $EPOCHREALTIME $(busy)" >"$out.cpu0"
		sleep "$SECONDS_RUN"
		echo "$(proc_ticks "$pid") $EPOCHREALTIME $(busy)" >"$out.cpu1"
	) &
	sampler=$!
	if ! nsx "$NS_G" "$GEN" run "$T_DIR/peers.keys" "$T_DIR/pool" 198.51.100.1 51820 198.18.0.0 \
		"$ADDRS" "$SOCKS" $((WARMUP * 1000)) "$SECONDS_RUN" "$VERIFY" >"$out" 2>&1; then
		echo "# $impl: the generator failed: $(tr '\n' ' ' <"$out")"
		FAILED=1
	fi
	wait "$sampler" || true
	read -r k0 t0 c0 c1 <"$out.cpu0" || true
	read -r k1 t1 c0b c1b <"$out.cpu1" || true
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "# $impl: the daemon died during the run"
		FAILED=1
	fi
	wg_stop "$ifn"
	if ! wg_log_clean "$ifn" 2>"$T_DIR/log.err"; then
		echo "# $impl: report or panic in its log:"
		sed 's/^/#   /' "$T_DIR/log.err"
		FAILED=1
	fi
	put "$impl" hs_per_s "$r" "$(awk '$1 == "hs_per_s" {print $2}' "$out")"
	put "$impl" cpu_pct "$r" "$(awk -v k="$((k1 - k0))" -v hz="$CLK_TCK" -v a="$t0" -v b="$t1" 'BEGIN {if (b > a) printf "%.0f", 100 * k / hz / (b - a); else print "n/a"}')"
	# handshakes per CPU-second of the daemon: steadier than the rate when others load the machine
	put "$impl" hs_per_cpu_s "$r" "$(awk -v h="$(awk '$1 == "hs_per_s" {print $2}' "$out")" -v k="$((k1 - k0))" -v hz="$CLK_TCK" -v a="$t0" -v b="$t1" 'BEGIN {if (k > 0 && h > 0 && b > a) printf "%.0f", h * (b - a) / (k / hz); else print "n/a"}')"
	put "$impl" machine_busy_pct "$r" "$(echo "$c0 $c1 $c0b $c1b" | awk '{if ($4 > $2) printf "%.0f", 100 * ($3 - $1) / ($4 - $2); else print "n/a"}')"
	for m in gen_cpu_pct cookies timeouts exhausted verified verify_failed; do
		put "$impl" "$m" "$r" "$(awk -v m="$m" '$1 == m {print $2}' "$out")"
	done
	if [ "$(awk '$1 == "exhausted" {print $2}' "$out")" != 0 ]; then
		echo "# $impl: some peers ran out of their pool of $K initiations: the rate is capped; raise K"
	fi
	if [ "$(awk '$1 == "verify_failed" {print $2}' "$out")" != 0 ]; then
		echo "# $impl: responses that do not verify"
		FAILED=1
	fi
}

# put IMPL METRIC R VALUE
put() {
	echo "${1}_${2}_run$3 ${4:-n/a}"
	[ -z "${4:-}" ] || [ "$4" = n/a ] || echo "$4" >>"$T_DIR/res.$1.$2"
}
med() { if [ -f "$T_DIR/res.$1.$2" ]; then median <"$T_DIR/res.$1.$2"; else echo n/a; fi; }

NS_D="$T_ID-d"
NS_G="$T_ID-g"
ns_add "$NS_D"
ns_add "$NS_G"
veth_add "$NS_D" vd "$NS_G" vg
addr_add "$NS_D" vd 198.51.100.1/24
addr_add "$NS_G" vg 198.51.100.2/24
ip -n "$NS_D" route add 198.18.0.0/15 via 198.51.100.2
ip -n "$NS_G" route add local 198.18.0.0/15 dev lo

(umask 077 && wg genkey >"$T_DIR/dev.key")
"$GEN" keys "$NPEERS" "$T_DIR/peers.keys" >"$T_DIR/peers.pub"
make_conf "$T_DIR/conf"
commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')
git -C "$REPO" diff --quiet HEAD 2>/dev/null || commit="$commit+changes"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) commit $commit; $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# NPEERS=$NPEERS SECONDS_RUN=$SECONDS_RUN WARMUP=$WARMUP REPS=$REPS K=$K ADDRS=$ADDRS SOCKS=$SOCKS${RN_ENV:+ RN_ENV=\"$RN_ENV\"}"
t0=$EPOCHREALTIME
"$GEN" pool "$T_DIR/peers.keys" "$(wg pubkey <"$T_DIR/dev.key")" "$K" "$T_DIR/pool"
echo "# pool of $((NPEERS * K)) initiations made in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}') s"

UP=()
for impl in $IMPLS; do
	case $impl in
	rustynet_wg | rustynet_wg_hs1)
		if rn_available; then UP+=("$impl"); echo "# $impl: $RUSTYNET_WG"; else echo "# note: rustynet-wg not built: skipped"; fi
		;;
	wireguard_go)
		UP+=("$impl")
		echo "# wireguard_go: $(command -v wireguard-go) ($(wggo_version wireguard-go))"
		;;
	wireguard_go_modern)
		if [ -n "$WIREGUARD_GO_MODERN" ] && [ -x "$WIREGUARD_GO_MODERN" ]; then
			UP+=("$impl")
			echo "# wireguard_go_modern: $WIREGUARD_GO_MODERN ($(wggo_version "$WIREGUARD_GO_MODERN"))"
		else
			echo "# note: no modern wireguard-go: skipped"
		fi
		;;
	*) echo "handshakes: unknown implementation $impl" >&2; exit 2 ;;
	esac
done
[ ${#UP[@]} -gt 0 ] || { echo "handshakes: nothing to measure" >&2; exit 1; }

for r in $(seq "$REPS"); do
	order=()
	for i in "${!UP[@]}"; do order+=("${UP[(i + r - 1) % ${#UP[@]}]}"); done
	echo "# round $r: ${order[*]}"
	for impl in "${order[@]}"; do run_one "$impl" "$r"; done
done

for impl in "${UP[@]}"; do
	for m in hs_per_s cpu_pct hs_per_cpu_s machine_busy_pct gen_cpu_pct cookies timeouts; do
		echo "${impl}_$m $(med "$impl" "$m")"
	done
done
rn=$(med rustynet_wg hs_per_s)
wg=$(med wireguard_go hs_per_s)
wm=$(med wireguard_go_modern hs_per_s)
rc=$(med rustynet_wg cpu_pct)
echo "hs_ratio_vs_wireguard_go $(ratio "$rn" "$wg")"
echo "hs_ratio_vs_wireguard_go_modern $(ratio "$rn" "$wm")"
target=$(awk -v r="$rn" -v m="$wm" -v c="$rc" 'BEGIN {if (r + 0 <= 0 || m + 0 <= 0) print "n/a"; else print (r >= m && c > 100 ? "met" : "not_met")}')
echo "target_handshakes $target"
echo "#"
echo "# | implementation | handshakes/s (median) | daemon CPU, % of one core | handshakes per CPU-second | machine busy % | generator CPU % | cookie replies | rn / it |"
echo "# |---|---|---|---|---|---|---|---|"
for impl in "${UP[@]}"; do
	echo "# | $impl | $(med "$impl" hs_per_s) | $(med "$impl" cpu_pct) | $(med "$impl" hs_per_cpu_s) | $(med "$impl" machine_busy_pct) | $(med "$impl" gen_cpu_pct) | $(med "$impl" cookies) | $(ratio "$rn" "$(med "$impl" hs_per_s)") |"
done
echo "#"
echo "# target (at least the modern wireguard-go's, rustynet-wg over 100 % CPU): ${target/_/ }; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$FAILED" = 0 ]
