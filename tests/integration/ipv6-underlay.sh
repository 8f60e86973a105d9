#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# ipv6-underlay: the tunnel runs over IPv6 endpoints (the dual-stack UDP socket), between
# rustynet-wg and wireguard-go both ways and between two rustynet-wg; the last pair runs its
# crypto on two worker threads (RUSTYNET_WG_WORKERS=2; a 2-core machine defaults to inline) and
# moves bulk TCP both ways, so the worker path and its per-peer ordering are exercised too.
#
#   ns A                                          ns B
#   +-------------------------------+            +-------------------------------+
#   | IF_A  100.64.0.1/24           |            | IF_B  100.64.0.2/24           |
#   |       fd00:64::1/64           |  WireGuard |       fd00:64::2/64           |
#   |       IMPL_A, udp 51820       |<==========>|       IMPL_B, udp 51821       |
#   | va    fd00:198::1/64 ---------+----veth----+------- vb fd00:198::2/64       |
#   +-------------------------------+            +-------------------------------+
set -eu
TEST_TAG=v6u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# 7 checks a pair; with rustynet-wg and no IMPL_A/IMPL_B a third pair, rustynet-wg both sides, adds 4
plan_pairs 7 "$(rn_available && [ -z "${IMPL_A:-}${IMPL_B:-}" ] && echo 11 || echo 0)"
need_root
need_cmds wg wireguard-go ip ping tcpdump

U6_A=fd00:198::1
U6_B=fd00:198::2

only_v6_underlay() {
	local v4 v6
	v6=$(capture_count "$1" ip6 and udp) || return 1
	v4=$(capture_count "$1" ip and udp) || return 1
	echo "$v6 IPv6 UDP, $v4 IPv4 UDP datagrams on the underlay"
	[ "$v6" -ge 4 ] && [ "$v4" = 0 ]
}

endpoint_is_v6() {
	ip netns exec "$NS_A" wg show "$IF_A" endpoints | tee /dev/stderr | grep -q "\[$U6_B\]:$PORT_B"
}

scenario() {
	local L
	L="v6 underlay [$(pair_label "$1" "$2")]"
	if ! pair_netns || ! pair_wg "$1" "$2"; then
		not_ok "$L: set up"
		pair_down "$L"
		return
	fi
	addr_add "$NS_A" va "$U6_A/64"
	addr_add "$NS_B" vb "$U6_B/64"
	nsx "$NS_A" wg set "$IF_A" peer "$PUB_b" allowed-ips "$T4_B/32,$T6_B/128" \
		endpoint "[$U6_B]:$PORT_B"
	nsx "$NS_B" wg set "$IF_B" peer "$PUB_a" allowed-ips "$T4_A/32,$T6_A/128" \
		endpoint "[$U6_A]:$PORT_A"
	capture_start "$NS_A" va udp
	check "$L: ping 100.64.0.2 over an IPv6 underlay" ping_until "$NS_A" "$T4_B" 10
	check "$L: ping6 fd00:64::2 over an IPv6 underlay" ping_ok "$NS_A" "$T6_B"
	check "$L: ping back from B" ping_ok "$NS_B" "$T4_A"
	capture_stop
	check "$L: every datagram on the underlay is IPv6" only_v6_underlay "$CAPTURE_FILE"
	check "$L: wg show reports the IPv6 endpoint" endpoint_is_v6
	if [ -n "${BULK:-}" ]; then
		check "$L: both daemons run 2 crypto workers" \
			grep -q "crypto workers 2" "${WG_LOG[$IF_A]}" "${WG_LOG[$IF_B]}"
		check "$L: bulk TCP A->B" iperf_ok "$NS_A" "$NS_B" "$T4_B"
		check "$L: bulk TCP B->A over IPv6 inside" iperf_ok "$NS_B" "$NS_A" "$T6_A"
		check "$L: no TCP retransmission storm (reordering would cause one)" few_retrans
	fi
	pair_down "$L"
}

# iperf_ok NS_CLIENT NS_SERVER DST: a 3 s transfer moves data (throughput > 0).
iperf_ok() {
	local g
	g=$(iperf_run "$1" "$2" "$3" 3) || return 1
	echo "received $g Gbit/s"
	awk -v g="$g" 'BEGIN {exit !(g > 0)}'
}

# few_retrans: A's TCP retransmitted under 2 % of the segments it sent in the bulk runs.
few_retrans() {
	nsx "$NS_A" nstat -az TcpOutSegs TcpRetransSegs | awk '
		/TcpOutSegs/ {o = $2} /TcpRetransSegs/ {r = $2}
		END {printf "%d of %d segments retransmitted\n", r, o; exit !(o > 1000 && r * 50 < o)}'
}

if rn_available && [ -z "${IMPL_A:-}${IMPL_B:-}" ]; then
	scenario "$RUSTYNET_WG" wireguard-go
	scenario wireguard-go "$RUSTYNET_WG"
	# Arrays cannot be prefixed to a call: set them for this one scenario.
	ENV_A=(RUSTYNET_WG_WORKERS=2) ENV_B=(RUSTYNET_WG_WORKERS=2) BULK=1
	scenario "$RUSTYNET_WG" "$RUSTYNET_WG"
	unset ENV_A ENV_B BULK
else
	for_each_pair scenario
fi
t_done
