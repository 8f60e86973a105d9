#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/rss.sh BUILD_DIR: resident memory of rustynet-wg (BUILD_DIR/src/rustynet-wg/rustynet-wg),
# of Debian's wireguard-go and of the modern wireguard-go (bench/wggo-modern.sh finds it;
# skipped if none), idle and with each count in NPEERS (1000 and 10000) of peers configured by
# `wg setconf` and `wg addconf`s of CHUNK (1000) peers each. Issue 15's target: below the
# modern wireguard-go's at 1,000 and 10,000.
#
#   ns R: one daemon at a time, interface IF (no traffic, no underlay link); a fresh daemon
#   for every peer count
#   config: a fresh private key, listen port 51820, N peers with random public keys, one
#   IPv4 /32 and one IPv6 /128 allowed IP each, and an endpoint in 203.0.113.0/24; the same
#   files for every implementation
#
# Output (`name value`, VmRSS from /proc/PID/status of every process in the namespace, in KiB,
# read SETTLE (2) s after the daemon starts and after the config is applied):
#   rss_kib_0_peers N, rss_kib_1000_peers N, ...                       rustynet-wg
#   wireguard_go_rss_kib_0_peers N, wireguard_go_rss_kib_1000_peers N  Debian's wireguard-go
#   wireguard_go_modern_rss_kib_...                                    the modern one
#   rss_ratio_N_vs_wireguard_go[_modern] X.XX                          rustynet-wg over it
#   target_rss_N met|not_met|n/a                                       below the modern one's
# Exit status 1 when a daemon does not start or does not take the whole config.
# Env: NPEERS ("1000 10000", space or comma separated), SETTLE (2), CHUNK (1000), RUSTYNET_WG
# (overrides the binary path), WIREGUARD_GO_MODERN (path of the modern wireguard-go).
set -eu
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '3,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	exit 2
fi
BUILD=$1
NPEERS=${NPEERS:-1000 10000}
NPEERS=${NPEERS//,/ }
SETTLE=${SETTLE:-2}
# peers per UAPI request: rustynet-wg refuses a request over 1 MiB (RN_UAPI_MAX_REQUEST_BYTES),
# about 5,000 of these peers; 10,000 go in as one setconf and addconfs, the same for everyone
CHUNK=${CHUNK:-1000}
TEST_TAG=rss
RUSTYNET_WG=${RUSTYNET_WG:-$BUILD/src/rustynet-wg/rustynet-wg}
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib.sh
. "$REPO/tests/lib.sh"
# shellcheck source=bench/wggo-modern.sh
. "$REPO/bench/wggo-modern.sh"
if [ "$(id -u)" != 0 ]; then
	echo "rss: needs root (network namespaces, TUN devices)" >&2
	exit 1
fi
for n in $NPEERS; do
	case $n$CHUNK in '' | *[!0-9]*) echo "rss: NPEERS is a list of whole numbers: $NPEERS" >&2; exit 2 ;; esac
	[ "$n" -le 65535 ] || { echo "rss: at most 65535 peers (the addresses are made from the index)" >&2; exit 2; }
done
WIREGUARD_GO_MODERN=$(wggo_modern "$REPO" || true)
FAILED=0

# make_conf PREFIX N: the wg(8) config with N random peers in files PREFIX.0 (the interface and
# the first CHUNK peers), PREFIX.1 (the next CHUNK peers), ...
make_conf() {
	python3 - "$1" "$2" "$CHUNK" "$(cat "$T_DIR/rss.key")" <<-'EOF'
		import base64, os, sys
		prefix, n, chunk, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
		f = open(prefix + ".0", "w")
		sys.stdout = f
		print("[Interface]\nPrivateKey = %s\nListenPort = 51820\n" % key)
		for i in range(n):
		    if i and i % chunk == 0:
		        f.close()
		        f = open("%s.%d" % (prefix, i // chunk), "w")
		        sys.stdout = f
		    print("[Peer]")
		    print("PublicKey = %s" % base64.b64encode(os.urandom(32)).decode())
		    print("AllowedIPs = 100.%d.%d.%d/32, fd00:64::%x:%x/128" % (64 + (i >> 16), (i >> 8) & 255, i & 255, i >> 16, i & 0xFFFF))
		    print("Endpoint = 203.0.113.%d:%d\n" % (i % 250 + 1, 20000 + i))
		f.close()
	EOF
}

# rss_kib NS: summed VmRSS of the processes in NS.
rss_kib() {
	local pid sum=0 v
	for pid in $(ip netns pids "$1"); do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# start IMPL: a fresh daemon in NS as $IFN; 1 (with a note) if it does not start.
start() {
	T_WGN=$((T_WGN + 1))
	IFN="rn$$${T_WGN}r"
	if ! wg_start "$NS" "$IFN" "$1" 2>"$T_DIR/start.err"; then
		echo "# $(impl_name "$1") did not start:"
		sed 's/^/#   /' "$T_DIR/start.err"
		FAILED=1
		return 1
	fi
}

# measure PREFIX IMPL: idle, then each peer count on a fresh daemon.
measure() {
	local prefix=$1 impl=$2 n got f op
	start "$impl" || return 0
	sleep "$SETTLE"
	echo "${prefix}rss_kib_0_peers $(rss_kib "$NS")"
	wg_stop "$IFN"
	for n in $NPEERS; do
		start "$impl" || return 0
		for f in "$T_DIR/peers.$n".*; do
			# setconf with the interface and the first chunk, addconf the others
			case $f in *.0) op=setconf ;; *) op=addconf ;; esac
			if ! nsx "$NS" wg "$op" "$IFN" "$f" 2>"$T_DIR/setconf.err"; then
				echo "# $(impl_name "$impl"): wg $op of $(basename "$f") failed: $(tr '\n' ' ' <"$T_DIR/setconf.err")"
				FAILED=1
			fi
		done
		got=$(nsx "$NS" wg show "$IFN" peers | wc -l)
		sleep "$SETTLE"
		if [ "$got" = "$n" ]; then
			printf -v "RSS_${prefix}$n" '%s' "$(rss_kib "$NS")"
			eval echo "${prefix}rss_kib_${n}_peers \$RSS_${prefix}$n"
		else
			echo "# $(impl_name "$impl"): $got peers configured, not $n"
			echo "${prefix}rss_kib_${n}_peers n/a"
			FAILED=1
		fi
		wg_stop "$IFN"
		if ! wg_log_clean "$IFN" 2>"$T_DIR/log.err"; then
			echo "# $(impl_name "$impl"): report or panic in its log:"
			sed 's/^/#   /' "$T_DIR/log.err"
			FAILED=1
		fi
	done
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a + 0 > 0 && b + 0 > 0) printf "%.2f\n", a / b; else print "n/a"}'; }

NS="$T_ID-r"
ns_add "$NS"
(umask 077 && wg genkey >"$T_DIR/rss.key")
for n in $NPEERS; do make_conf "$T_DIR/peers.$n" "$n"; done
echo "# $(date -u +%Y-%m-%dT%H:%MZ) commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# peers: $NPEERS ($CHUNK per request); VmRSS in KiB, ${SETTLE}s after start and after the config, a fresh daemon each"
if rn_available; then
	echo "# rustynet-wg: $RUSTYNET_WG"
	measure "" "$RUSTYNET_WG"
else
	echo "# note: rustynet-wg not built ($RUSTYNET_WG missing): its lines are skipped"
fi
echo "# wireguard-go: $(command -v wireguard-go) ($(wggo_version wireguard-go))"
measure wireguard_go_ wireguard-go
if [ -n "$WIREGUARD_GO_MODERN" ] && [ -x "$WIREGUARD_GO_MODERN" ]; then
	echo "# wireguard_go_modern: $WIREGUARD_GO_MODERN ($(wggo_version "$WIREGUARD_GO_MODERN"))"
	measure wireguard_go_modern_ "$WIREGUARD_GO_MODERN"
else
	echo "# note: no modern wireguard-go (WIREGUARD_GO_MODERN unset, none in ../shared/anchors/bin): skipped"
fi
for n in $NPEERS; do
	rn=$(eval echo "\${RSS_$n:-n/a}")
	wg=$(eval echo "\${RSS_wireguard_go_$n:-n/a}")
	wm=$(eval echo "\${RSS_wireguard_go_modern_$n:-n/a}")
	echo "rss_ratio_${n}_vs_wireguard_go $(ratio "$rn" "$wg")"
	echo "rss_ratio_${n}_vs_wireguard_go_modern $(ratio "$rn" "$wm")"
	echo "target_rss_$n $(awk -v r="$rn" -v m="$wm" 'BEGIN {if (r + 0 <= 0 || m + 0 <= 0) print "n/a"; else print (r < m ? "met" : "not_met")}')"
done
[ "$FAILED" = 0 ]
