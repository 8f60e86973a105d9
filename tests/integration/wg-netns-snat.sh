#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_impl FUNC)
# wg-netns-snat: through an SNAT router, persistent keepalive keeps both sides reaching each
# other after the router's conntrack UDP timeout has passed (WireGuard's netns.sh NAT test).
#
#   ns L (client)                  ns R (router)                          ns S (server)
#   +------------------------+     +----------------------------------+   +------------------------+
#   | IF_L 100.64.0.1/24     |     | vr  192.168.1.1/24               |   | IF_S 100.64.0.2/24     |
#   |      fd00:64::1/64     |     | vrs 198.51.100.1/24              |   |      fd00:64::2/64     |
#   | IMPL, udp 51821        |     | SNAT 192.168.1.0/24 -> .100.1    |   | IMPL, udp 51822        |
#   | vl 192.168.1.100/24 ---+-----+ vr        vrs -------------------+---+ vs 198.51.100.100/24   |
#   |  default via .1.1      |     | conntrack UDP timeouts 2 s       |   |                        |
#   +------------------------+     +----------------------------------+   +------------------------+
#
# L has S at 198.51.100.100:51822 with persistent keepalive 1 s; S has L without an endpoint.
# Each round (rustynet-wg at both ends, then wireguard-go to show the script right): L pings
# S (handshake), S pings L, S sees L at 198.51.100.1:51821 (the router's address); 3 s later,
# past nf_conntrack_udp_timeout and _stream (2 s in R), S still reaches L (IPv4) and L S
# (IPv6). Control: keepalive off, R's conntrack entry for the flow expires (polled) and S no
# longer reaches L; keepalive on again, S reaches L within 5 s.
# Env: IMPL (wireguard-go or a path: one round with it), RUSTYNET_WG.
set -eu
TEST_TAG=nssnat
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/wgns-lib.sh
. "$(dirname "$0")/../wgns-lib.sh"
plan_impls 13
need_root
need_cmds wg wireguard-go ip ping nft conntrack

LAN_L=192.168.1.100
LAN_R=192.168.1.1
PUB_R=198.51.100.1
PUB_S=198.51.100.100

# router: R forwards and SNATs the LAN, with 2 s UDP conntrack timeouts.
router() {
	veth_add "$NS_L" vl "$NS_R" vr && veth_add "$NS_R" vrs "$NS_S" vs || return 1
	addr_add "$NS_L" vl "$LAN_L/24" && addr_add "$NS_R" vr "$LAN_R/24" &&
		addr_add "$NS_R" vrs "$PUB_R/24" && addr_add "$NS_S" vs "$PUB_S/24" || return 1
	ip -n "$NS_L" route add default via "$LAN_R" || return 1
	nsx "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.netfilter.nf_conntrack_udp_timeout=2 \
		net.netfilter.nf_conntrack_udp_timeout_stream=2 || return 1
	nsx "$NS_R" nft -f - <<-EOF
		table ip wgnat {
			chain post {
				type nat hook postrouting priority srcnat;
				ip saddr 192.168.1.0/24 oifname "vrs" snat to $PUB_R
			}
		}
	EOF
}

# shellcheck disable=SC2154 # KEY_l, KEY_s, PUB_l, PUB_s are set by wg_keypair
setup() {
	local impl=$1
	T_ROUND=$((T_ROUND + 1))
	T_ROUND_FAIL=$T_FAIL
	T_WGN=$((T_WGN + 1))
	NS_L="$T_ID-${T_ROUND}l" NS_R="$T_ID-${T_ROUND}r" NS_S="$T_ID-${T_ROUND}s"
	IF_B="rn$$${T_WGN}l" IF_C="rn$$${T_WGN}s" # wgns_down stops IF_B and IF_C
	NS_A=$NS_L NS_B=$NS_R NS_C=$NS_S           # and deletes these
	ns_add "$NS_L" && ns_add "$NS_R" && ns_add "$NS_S" && router || return 1
	wg_keypair l && wg_keypair s || return 1
	wg_start "$NS_L" "$IF_B" "$impl" && wg_start "$NS_S" "$IF_C" "$impl" || return 1
	wgns_tun "$NS_L" "$IF_B" "$WT4_B" "$WT6_B" 1420 && wgns_tun "$NS_S" "$IF_C" "$WT4_C" "$WT6_C" 1420 ||
		return 1
	# S first: L's keepalive starts a handshake at once, which S must be ready to answer.
	nsx "$NS_S" wg set "$IF_C" private-key "$KEY_s" listen-port "$WPORT_C" peer "$PUB_l" \
		allowed-ips "$WT4_B/32,$WT6_B/128" || return 1
	nsx "$NS_L" wg set "$IF_B" private-key "$KEY_l" listen-port "$WPORT_B" peer "$PUB_s" \
		allowed-ips "$WT4_C/32,$WT6_C/128" endpoint "$PUB_S:$WPORT_C" persistent-keepalive 1
}

# flows: R's conntrack entries for the WireGuard flow (printed); fails when there are none.
flows() {
	local out
	out=$(nsx "$NS_R" conntrack -L -p udp --dport "$WPORT_C" 2>/dev/null) || true
	echo "${out:-no conntrack entry}"
	[ -n "$out" ]
}

keepalive() { nsx "$NS_L" wg set "$IF_B" peer "$PUB_s" persistent-keepalive "$1"; }

# expired_unreachable: with keepalive off, R's entry expires (within 6 s), then S's pings to
# L go unanswered.
expired_unreachable() {
	keepalive off || return 1
	wait_for 6 eval '! flows' || { echo "the conntrack entry stayed"; flows; return 1; }
	ping_fails "$NS_S" "$WT4_B"
}

round() {
	local impl=$1 L
	L="nssnat [$(impl_name "$impl")]"
	if ! check_ok "$L: client L behind SNAT router R, server S, daemons and peers" setup "$impl"; then
		skip_pair_rest "$L" "set-up failed"
		wgns_down "$L"
		return 0
	fi
	check "$L: ping L->S (first handshake) within 10 s" ping_until "$NS_L" "$WT4_C" 10
	check "$L: ping S->L" ping_ok "$NS_S" "$WT4_B"
	check "$L: S sees L at R's address $PUB_R:$WPORT_B" endpoint_is "$NS_S" "$IF_C" "$PUB_R:$WPORT_B"
	check "$L: R tracks the flow (conntrack)" flows
	sleep 3
	check "$L: 3 s later (UDP conntrack timeouts 2 s), S still reaches L (keepalive 1 s)" ping_ok "$NS_S" "$WT4_B"
	check "$L: ... and L reaches S over IPv6 inside" ping_ok "$NS_L" "$WT6_C"
	check "$L: R's entry for the flow is still there" flows
	check "$L: control: keepalive off, the entry expires and S's pings to L go unanswered" expired_unreachable
	check "$L: keepalive on again: S reaches L within 5 s" eval "keepalive 1 && ping_until $NS_S $WT4_B 5"
	check "$L: both daemons still run" wgns_alive
	wgns_down "$L"
}

for_each_impl round
t_done
