#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/rss.sh BUILD_DIR: resident memory of rustynet-wg (BUILD_DIR/src/rustynet-wg/rustynet-wg)
# and of wireguard-go, idle and with NPEERS (1000) peers configured by one `wg setconf`.
#
#   ns R: one daemon at a time, interface IF (no traffic, no underlay link)
#   config: a fresh private key, listen port 51820, NPEERS peers with random public keys, one
#   IPv4 /32 and one IPv6 /128 allowed IP each, and an endpoint in 203.0.113.0/24.
#
# Output (`name value`, VmRSS from /proc/PID/status of every process in the namespace, in KiB,
# read SETTLE (2) s after the config is applied):
#   rss_kib_0_peers N, rss_kib_1000_peers N                            rustynet-wg
#   wireguard_go_rss_kib_0_peers N, wireguard_go_rss_kib_1000_peers N  wireguard-go
# Env: NPEERS (1000), SETTLE (2), RUSTYNET_WG (overrides the binary path).
set -eu
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '3,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	exit 2
fi
BUILD=$1
NPEERS=${NPEERS:-1000}
SETTLE=${SETTLE:-2}
TEST_TAG=rss
RUSTYNET_WG=${RUSTYNET_WG:-$BUILD/src/rustynet-wg/rustynet-wg}
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
if [ "$(id -u)" != 0 ]; then
	echo "rss: needs root (network namespaces, TUN devices)" >&2
	exit 1
fi

# make_conf FILE: the wg(8) config with NPEERS random peers.
make_conf() {
	umask 077
	wg genkey >"$T_DIR/rss.key"
	python3 - "$NPEERS" "$(cat "$T_DIR/rss.key")" >"$1" <<-'EOF'
		import base64, os, sys
		n, key = int(sys.argv[1]), sys.argv[2]
		print("[Interface]\nPrivateKey = %s\nListenPort = 51820\n" % key)
		for i in range(n):
		    print("[Peer]")
		    print("PublicKey = %s" % base64.b64encode(os.urandom(32)).decode())
		    print("AllowedIPs = 100.%d.%d.%d/32, fd00:64::%x:%x/128" % (64 + (i >> 16), (i >> 8) & 255, i & 255, i >> 16, i & 0xFFFF))
		    print("Endpoint = 203.0.113.%d:%d\n" % (i % 250 + 1, 20000 + i))
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

# measure PREFIX IMPL
measure() {
	local prefix=$1 impl=$2 ifn n
	T_WGN=$((T_WGN + 1))
	ifn="rn$$${T_WGN}r"
	if ! wg_start "$NS" "$ifn" "$impl" 2>"$T_DIR/start.err"; then
		echo "# $(impl_name "$impl") did not start:"
		sed 's/^/#   /' "$T_DIR/start.err"
		return 0
	fi
	sleep "$SETTLE"
	echo "${prefix}rss_kib_0_peers $(rss_kib "$NS")"
	if ! nsx "$NS" wg setconf "$ifn" "$CONF" 2>"$T_DIR/setconf.err"; then
		echo "# $(impl_name "$impl"): wg setconf failed: $(tr '\n' ' ' <"$T_DIR/setconf.err")"
	fi
	n=$(nsx "$NS" wg show "$ifn" peers | wc -l)
	[ "$n" = "$NPEERS" ] || echo "# $(impl_name "$impl"): $n peers configured, not $NPEERS"
	sleep "$SETTLE"
	echo "${prefix}rss_kib_${NPEERS}_peers $(rss_kib "$NS")"
	wg_stop "$ifn"
}

NS="$T_ID-r"
ns_add "$NS"
CONF="$T_DIR/peers.conf"
make_conf "$CONF"
echo "# $NPEERS peers, $(wc -c <"$CONF") bytes of config; VmRSS in KiB, ${SETTLE}s after start and after setconf"
if rn_available; then
	echo "# rustynet-wg: $RUSTYNET_WG"
	measure "" "$RUSTYNET_WG"
else
	echo "# note: rustynet-wg not built ($RUSTYNET_WG missing): its lines are skipped"
fi
measure wireguard_go_ wireguard-go
