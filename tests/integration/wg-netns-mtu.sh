#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_impl FUNC)
# wg-netns-mtu: the container pattern of wg-netns-basic with the outer transport over IPv6
# ([::1] endpoints), then a big tunnel MTU set with `ip link set mtu` in B and C after the
# move (34816 - 1500 + 1420 = 34736, as WireGuard's own netns.sh does), over both outer
# families.
#
#   ns A: IMPL for IF_B (udp 51821), IMPL for IF_C (udp 51822), lo ::1 and 127.0.0.1
#   ns B: IF_B 100.64.0.1/24 fd00:64::1/64  <== WireGuard ==>  ns C: IF_C 100.64.0.2/24 fd00:64::2/64
#   (tests/wgns-lib.sh draws it whole)
#
# Each round (rustynet-wg at both ends, then wireguard-go to show the script right):
#   1. endpoints [::1]:PORT, MTU 1420: wg show in A gives them; ping -f both ways over IPv4 and
#      IPv6; iperf3 both ways at once, TCP over IPv4 and UDP (-b 0) over IPv6, each with the
#      interface counters' check (tests/wgns-lib.sh: counters_ok).
#   2. MTU 34736 in B and C: 34736-byte pings with DF both ways (IPv4 B->C, IPv6 C->B) arrive,
#      each as one 34768-byte WireGuard message (16-byte header, the packet, 16-byte tag) in
#      an unfragmented datagram on A's loopback (a capture there). rustynet-wg only: a
#      32652-byte packet is padded as the kernel driver pads it under the new MTU (to a
#      multiple of 16: a 32688-byte message), which shows its data plane took the MTU from
#      the moved interface. wireguard-go keeps the MTU it read before the move (its netlink
#      listener stays in A) and pads that packet by its old one, so it is not asked to.
#   3. endpoints 127.0.0.1:PORT (set in A), still MTU 34736: the big pings the other way round,
#      unfragmented IPv4 datagrams, then the floods of 1 and iperf3 the other way round: TCP
#      over IPv6, UDP over IPv4.
# Sizes: as in wg-netns-basic, rustynet-wg's iperf3 runs move 1 GB each way (RN_ARGS=-n1G),
# wireguard-go's are time-bounded (-t 1; TCP_ARGS, UDP_ARGS override); each part runs half of
# wg-netns-basic's four (so that together they run all four).
# Env: IMPL (wireguard-go or a path: one round with it), RUSTYNET_WG.
set -eu
TEST_TAG=nsmtu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/wgns-lib.sh
. "$(dirname "$0")/../wgns-lib.sh"
N_RN=1
if [ -n "${IMPL:-}" ] && is_wggo "$IMPL"; then N_RN=0; elif [ -z "${IMPL:-}" ] && ! rn_available; then N_RN=0; fi
plan_impls 30 "$N_RN"
need_root
need_cmds wg wireguard-go ip ping iperf3 tcpdump jq ss timeout

RN_ARGS=${RN_ARGS:--n1G}
TCP_ARGS=${TCP_ARGS:--t1}
UDP_ARGS=${UDP_ARGS:--t1}
BIG_MTU=$((34816 - 1500 + 1420))
BIG_MSG=$((BIG_MTU + 32))
PAD_PKT=32652 # padded to 32656 under MTU 34736; by 1420's rule to 32660 (22 * 1420 + 1420)

# endpoints_are OUTER: wg show in A gives each side the other's port on A's loopback.
endpoints_are() {
	endpoint_is "$NS_A" "$IF_B" "$(wgns_ep "$1" "$WPORT_C")" &&
		endpoint_is "$NS_A" "$IF_C" "$(wgns_ep "$1" "$WPORT_B")"
}

set_mtu() { ip -n "$NS_B" link set "$IF_B" mtu "$1" && ip -n "$NS_C" link set "$IF_C" mtu "$1"; }

# big_ping NS DST FAMILY: 3 packets of BIG_MTU bytes with DF; the data plane reads the MTU
# about once a second, so the first may find the old one: poll up to 5 s for one answer.
big_ping() {
	local s=$((BIG_MTU - 28))
	[ "$3" = 4 ] || s=$((BIG_MTU - 48))
	wait_for 5 nsx "$1" ping -n -c 1 -W 1 -M "do" -s "$s" "$2" && ping_ok "$1" "$2" -M "do" -s "$s"
}

# udp_len_filter OUTER LEN: a capture filter for the UDP datagrams of length LEN (header
# included) to or from the daemons' ports (no IPv6 extension headers here: the UDP header
# follows the 40-byte IPv6 header).
udp_len_filter() {
	if [ "$1" = 6 ]; then
		echo "ip6 and ip6[6] == 17 and ip6[44:2] == $2"
	else
		echo "ip and udp and udp[4:2] == $2"
	fi
}

# whole_msgs PCAP OUTER: the big pings went as BIG_MSG-byte messages (at least 6 each way: 3
# requests, 3 replies, 2 pings) and the capture holds no fragment.
whole_msgs() {
	local frag
	if [ "$2" = 6 ]; then frag="ip6 and ip6[6] == 44"; else frag="ip and ip[6:2] & 0x3fff != 0"; fi
	capture_has "$1" 12 "$(udp_len_filter "$2" $((BIG_MSG + 8)))" || return 1
	[ "$(capture_count "$1" "$frag")" = 0 ] || { echo "fragments on A's loopback:"; tcpdump -r "$1" -n "$frag" | head; return 1; }
}

# padded_as_kernel OUTER: a PAD_PKT-byte ping goes as a message of 32 + PAD_PKT rounded up to
# 16 (the kernel's padding under MTU BIG_MTU), none of another size.
padded_as_kernel() {
	local want=$((32 + (PAD_PKT + 15) / 16 * 16)) cap n
	capture_start "$NS_A" lo udp || return 1
	cap=$CAPTURE_FILE
	ping_ok "$NS_B" "$WT4_C" -M "do" -s $((PAD_PKT - 28))
	capture_stop "$cap"
	tcpdump -r "$cap" -n 2>/dev/null | tail -n 4
	capture_has "$cap" 6 "$(udp_len_filter "$1" $((want + 8)))" || return 1
	n=$(capture_count "$cap" "greater 30000 and not ($(udp_len_filter "$1" $((want + 8))))") || return 1
	echo "$n big datagram(s) of another size (want 0; message $want B)"
	[ "$n" = 0 ]
}

# set_endpoints OUTER: both peers' endpoints on A's loopback of that family, set in A.
set_endpoints() {
	nsx "$NS_A" wg set "$IF_B" peer "$PUB_c" endpoint "$(wgns_ep "$1" "$WPORT_C")" &&
		nsx "$NS_A" wg set "$IF_C" peer "$PUB_b" endpoint "$(wgns_ep "$1" "$WPORT_B")"
}

# big_pings OUTER: the big pings (IPv4 one way, IPv6 the other; OUTER 4 swaps them) with a
# capture of A's loopback in BIG_CAP.
big_pings() {
	local L=$1 outer=$2 b4=$NS_B c4=$WT4_C c6=$NS_C b6=$WT6_B
	if [ "$outer" = 4 ]; then b4=$NS_C c4=$WT4_B c6=$NS_B b6=$WT6_C; fi
	capture_start "$NS_A" lo udp
	BIG_CAP=$CAPTURE_FILE
	check "$L: ping IPv4 $([ "$b4" = "$NS_B" ] && echo B-\>C || echo C-\>B), $BIG_MTU-byte packets with DF" big_ping "$b4" "$c4" 4
	check "$L: ping IPv6 $([ "$c6" = "$NS_C" ] && echo C-\>B || echo B-\>C), $BIG_MTU-byte packets" big_ping "$c6" "$b6" 6
	capture_stop "$BIG_CAP"
	check "$L: each went as one $BIG_MSG-byte message, no fragment on A's loopback" whole_msgs "$BIG_CAP" "$outer"
}

round() {
	local impl=$1 L tcp=$TCP_ARGS udp=$UDP_ARGS
	L="nsmtu [$(impl_name "$impl")]"
	is_wggo "$impl" || tcp=$RN_ARGS udp=$RN_ARGS
	if ! check_ok "$L: daemons started in A, interfaces moved to B and C, endpoints on [::1]" \
		wgns_setup "$impl" 6; then
		skip_pair_rest "$L" "set-up failed"
		wgns_down "$L"
		return 0
	fi
	check "$L: ping B->C IPv4 over [::1] (first handshake) within 10 s" ping_until "$NS_B" "$WT4_C" 10
	check "$L: wg show in A: the endpoints are [::1]" endpoints_are 6
	wgns_traffic "$L, outer IPv6" "$tcp" "$udp" "tcp 4 B" "udp 6 C"

	check "$L: MTU $BIG_MTU set in B and C (ip link set mtu)" set_mtu "$BIG_MTU"
	big_pings "$L, outer IPv6" 6
	if ! is_wggo "$impl"; then
		check "$L: a $PAD_PKT-byte packet is padded as the kernel pads it under MTU $BIG_MTU" padded_as_kernel 6
	fi

	check "$L: endpoints moved to 127.0.0.1 from A; ping C->B within 10 s" \
		eval "set_endpoints 4 && ping_until $NS_C $WT4_B 10"
	big_pings "$L, outer IPv4" 4
	wgns_traffic "$L, MTU $BIG_MTU, outer IPv4" "$tcp" "$udp" "tcp 6 C" "udp 4 B"
	check "$L: both daemons still run" wgns_alive
	wgns_down "$L"
}

for_each_impl round
t_done
