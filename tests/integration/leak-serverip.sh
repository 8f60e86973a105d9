#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# leak-serverip (TunnelCrack ServerIP): the exit node's endpoint is changed to a victim address
# (as a spoofed DNS answer for the server's name would), here the internet host I itself, and
# the attacker on the path (the ISP router) relays the WireGuard packets to the real exit.
#
#   c1 (alice, exit e selected)  e (exit)   ctl      isp .254 --- inet I 203.0.113.10 (victim:
#      .10 [capture on e0]        .11        .1        |            e's endpoint now says I)
#   ------------------------- br0 198.51.100.0/24 -----+  isp: udp to I:41641 -> e:41641
#                                 e: up0 192.0.2.1 --- isp      (dnat + masquerade: the relay)
#
# `wg set` on c1 points e's peer at I:41641 while c1 keeps sending to I (ping, UDP, DNS, TCP).
# A client that adds a host route to its server via the physical gateway (the ServerIP bug)
# would now send that traffic to I in plaintext. rustynetd adds no such route, and main answers
# unmarked traffic only inside the local ranges, so c1's traffic to I goes through the tunnel:
# relayed to e, out of e's uplink, and I answers c1's tcp/443 seeing e's address 192.0.2.1.
# Checks on a capture of c1's underlay: the only packets to I are WireGuard UDP to port 41641
# (and some are, so the capture sees the new endpoint), nothing else leaks; `ip route show
# table all` (v4 and v6) holds no route to I. Control: the host route such a client would add,
# with the routing c1 had before (main for every destination) and no kill switch: the traffic
# to I leaves in plaintext, seen in the capture.
set -eu
TEST_TAG=leaksip
# shellcheck source=tests/leak-lib.sh
. "$(dirname "$0")/../leak-lib.sh"
plan 11
leak_preamble
leak_setup_or_end
C1=${MESH_NS[c1]}
IF=${MESH_IF[c1]}
E_KEY=$(nsx "$C1" wg show "$IF" peers | head -n 1)
leak_traffic_start
spoof() {
	nsx "$C1" wg set "$IF" peer "$E_KEY" endpoint "$I_ADDR:$WG_PORT" &&
		nsx "$C1" wg show "$IF" endpoints | grep -q "$I_ADDR:$WG_PORT"
}
relay() {
	nsx "${EXIT_NS[isp]}" nft -f - <<-NFT
	table ip serverip-relay {
		chain pre {
			type nat hook prerouting priority dstnat;
			ip daddr $I_ADDR udp dport $WG_PORT dnat to $E_UL4:$WG_PORT
		}
		chain post {
			type nat hook postrouting priority srcnat;
			ip daddr $E_UL4 udp dport $WG_PORT ct status dnat masquerade
		}
	}
	NFT
}
check "the attacker on the path (isp) relays udp to $I_ADDR:$WG_PORT to e" relay
# In the attack the exit is not on c1's link; here it is, and c1 would roam back to e's real
# address on e's first packet sent there directly. c1 hears e only through the relay.
check "c1 hears e only through the relay (e's direct UDP dropped at c1)" \
	nsx "$C1" nft add table inet serverip-test \; \
	add chain inet serverip-test in '{ type filter hook input priority -10; }' \; \
	add rule inet serverip-test in ip saddr "$E_UL4" udp sport "$WG_PORT" drop
check "wg set: e's endpoint on c1 is now the victim $I_ADDR:$WG_PORT" spoof
note "ip route get $I_ADDR on c1: $(ip -n "$C1" route get "$I_ADDR" 2>&1 | head -n 1)"
check "ip route get $I_ADDR (unmarked) on c1 names the tunnel $IF (table 5150)" \
	sh -c "ip -n '$C1' route get $I_ADDR | grep -q 'dev $IF table 5150'"
check "c1's tcp/443 to $I_ADDR reaches I through the exit: I sees $E_UPLINK, the answer comes back" \
	wait_for 15 seen_as "$E_UPLINK"

# Packets to I other than WireGuard to port 41641, and leaks other than that WireGuard.
NOT_WG_TO_I="not (udp and dst host $I_ADDR and dst port $WG_PORT)"
# serverip_counts SECONDS: a capture of c1's underlay; WG (WireGuard to the victim), PLAIN
# (anything else to it), OTHER (leaks other than that WireGuard). The protected step and the
# control count with this one function.
serverip_counts() {
	local lf
	underlay_for "$1" || return 1
	lf=$(leak_filter) || return 1
	WG=$(capture_count "$CAPTURE_FILE" "udp and dst host $I_ADDR and dst port $WG_PORT") &&
		PLAIN=$(capture_count "$CAPTURE_FILE" "dst host $I_ADDR and $NOT_WG_TO_I") &&
		OTHER=$(capture_count "$CAPTURE_FILE" "($lf) and $NOT_WG_TO_I") || return 1
	echo "c1's underlay: $WG WireGuard to $I_ADDR:$WG_PORT, $PLAIN other packets to it, $OTHER other leaks"
	leak_show "$CAPTURE_FILE" "($lf) and $NOT_WG_TO_I"
	c1_seen "$CAPTURE_FILE"
}
only_wg_to_victim() {
	serverip_counts "$1" || return 1
	nsx "$C1" wg show "$IF" endpoints
	[ "$WG" -gt 0 ] && [ "$PLAIN" = 0 ] && [ "$OTHER" = 0 ]
}
plaintext_to_victim() { serverip_counts "$1" && [ "$PLAIN" -gt 0 ] && [ "$OTHER" -gt 0 ]; }
check "6 s capture: only WireGuard UDP goes to $I_ADDR, no plaintext to it, no other leak" \
	only_wg_to_victim 6
no_host_route() {
	local r
	r=$( { ip -n "$C1" route show table all; ip -n "$C1" -6 route show table all; } |
		grep -E "(^| )$I_ADDR( |/|$)" || true)
	[ -z "$r" ] || { echo "route to the victim: $r"; return 1; }
}
check "no route to $I_ADDR in any table (ip route show table all, v4 and v6)" no_host_route
note "c1's endpoint for e after the capture: $(nsx "$C1" wg show "$IF" endpoints | cut -f 2)"
note "c1's kill switch status: $(ks_json "")"

# Control: what a ServerIP-vulnerable client does (a host route to its server outside the
# tunnel), with the kill switch gone: the traffic to I leaves in plaintext.
check "control: the host route a ServerIP-vulnerable client adds" \
	ip -n "$C1" route add "$I_ADDR/32" via 198.51.100.254 dev e0
nsx "$C1" nft delete table inet rustynet-killswitch
old_routing on
check "control: ... with the old routing and no kill switch: plaintext to $I_ADDR seen on e0" \
	plaintext_to_victim 3
old_routing off
ip -n "$C1" route del "$I_ADDR/32" 2>/dev/null || true
leak_traffic_stop
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
