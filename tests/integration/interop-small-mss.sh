#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_pair FUNC)
# interop-small-mss: a TCP flow with a small MSS crosses the tunnel at a sane rate both ways.
#
#   ns A                                          ns B
#   +-------------------------------+            +-------------------------------+
#   | IF_A  100.64.0.1/24  MTU 1420 |  WireGuard | IF_B  100.64.0.2/24  MTU 1420 |
#   |       IMPL_A, udp 51820       |<==========>|       IMPL_B, udp 51821       |
#   | va    198.51.100.1/24 --------+----veth----+------- vb 198.51.100.2/24      |
#   +-------------------------------+            +-------------------------------+
#
# With TSO on the TUN device the kernel hands over 64 KiB super-packets; at MSS 536 one holds
# up to 123 segments, more than one transmit batch (64). rustynet-wg used to drop such a read
# whole as malformed, and TCP crawled at ~15 Mbit/s on retransmissions. Here iperf3 -M 536
# sends XFER bytes A->B and then B->A, each within XFER_TIMEOUT seconds: a functional bound
# (about 40 Mbit/s at the defaults), far below what a working build does even under ASan on a
# loaded machine (0.3 Gbit/s and more), above what the dropping build did (25 Mbit/s, so 32 s).
#
# Pairs: rustynet-wg ($RUSTYNET_WG) against wireguard-go both ways, or IMPL_A/IMPL_B.
# Env: XFER (iperf3 -n, default 100M), XFER_TIMEOUT (seconds, default 20), MSS (default 536).
set -eu
TEST_TAG=mss
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan_pairs 7
need_root
need_cmds wg wireguard-go ip ping iperf3 python3 ss timeout

XFER=${XFER:-100M}
XFER_TIMEOUT=${XFER_TIMEOUT:-20}
MSS=${MSS:-536}

# mss_xfer NS_CLIENT NS_SERVER DST: iperf3 -M $MSS -n $XFER completes (every byte sent and the
# server's report back) within $XFER_TIMEOUT s.
mss_xfer() {
	local nc=$1 ns=$2 dst=$3 port json
	T_IPERF_PORT=$((T_IPERF_PORT + 1))
	port=$T_IPERF_PORT
	nsx "$ns" iperf3 -s -1 -D -p "$port" >/dev/null 2>&1 || return 1
	wait_for 10 iperf_listening "$ns" "$port" || return 1
	json="$T_DIR/mss.$port.json"
	if ! nsx "$nc" timeout "$XFER_TIMEOUT" iperf3 -c "$dst" -p "$port" -M "$MSS" -n "$XFER" -J >"$json"; then
		echo "iperf3 -M $MSS -n $XFER did not complete within ${XFER_TIMEOUT}s"
		tail -n 5 "$json"
		return 1
	fi
	python3 - "$json" "$XFER" <<-'EOF'
		import json, sys
		d = json.load(open(sys.argv[1]))
		want = sys.argv[2]
		mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(want[-1].upper(), 1)
		want = int(want.rstrip("KMGkmg")) * mult
		s, r = d["end"]["sum_sent"], d["end"]["sum_received"]
		print("sent %d bytes, received %d in %.1f s: %.3f Gbit/s" % (s["bytes"], r["bytes"], r["seconds"], r["bits_per_second"] / 1e9))
		sys.exit(0 if s["bytes"] >= want and r["bytes"] > 0 else 1)
	EOF
}

scenario() {
	local L
	L="mss [$(pair_label "$1" "$2")]"
	if ! check_ok "$L: set up namespaces, daemons and peers" pair_setup "$1" "$2"; then
		pair_down "$L"
		return 0
	fi
	check "$L: tunnel up (ping A->B)" ping_until "$NS_A" "$T4_B" 15
	check "$L: iperf3 -M $MSS -n $XFER A->B completes within ${XFER_TIMEOUT}s" mss_xfer "$NS_A" "$NS_B" "$T4_B"
	check "$L: iperf3 -M $MSS -n $XFER B->A completes within ${XFER_TIMEOUT}s" mss_xfer "$NS_B" "$NS_A" "$T4_A"
	check "$L: both daemons still running" both_alive
	pair_down "$L"
}

for_each_pair scenario
t_done
