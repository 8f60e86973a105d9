#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# leak-ipv6-ra: the client's LAN advertises a global IPv6 prefix and a default route (router
# advertisements from dnsmasq --enable-ra), the client autoconfigures an address from it.
#
#   c1 (alice, exit e selected)  e (exit)  ctl   ra .66 2001:db8:1::66, 2001:db8:66::1/64:
#      .10 2001:db8:1::10          .11      .1     |   dnsmasq --enable-ra, prefix
#      + SLAAC 2001:db8:66::/64                    |   2001:db8:66::/64, itself as default router
#      [capture on e0]                             |
#   ------------------------- br0 198.51.100.0/24 -+----------- isp .254 --- inet I 203.0.113.10
#                                                                          2001:db8:113::10
#
# c1's static IPv6 default route is removed first, so the one the RA gives is its only one.
# While c1 sends ping6, UDP and TCP to I's IPv6 address (and the IPv4 leak loop runs), a
# capture of c1's underlay holds no IPv6 packet but neighbor/router discovery, link-local
# multicast and the marked WireGuard/control traffic (leak_count), and none to I at all.
# Control: `exit-node off` (protected mode off, kill switch gone) and the same IPv6 traffic
# leaves e0 towards the RA's router in plaintext.
set -eu
TEST_TAG=leakra
# shellcheck source=tests/leak-lib.sh
. "$(dirname "$0")/../leak-lib.sh"
plan 9
leak_preamble dnsmasq
leak_setup_or_end
C1=${MESH_NS[c1]}
ra() {
	exit_host ra &&
		veth_add "${EXIT_NS[ra]}" r0 "$MESH_SW" "s$$-ra" &&
		ip -n "$MESH_SW" link set "s$$-ra" master br0 &&
		addr_add "${EXIT_NS[ra]}" r0 198.51.100.66/24 &&
		addr_add "${EXIT_NS[ra]}" r0 2001:db8:1::66/64 &&
		addr_add "${EXIT_NS[ra]}" r0 2001:db8:66::1/64 &&
		nsx "${EXIT_NS[ra]}" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	# The client takes RAs (it does not forward) and has no other IPv6 default route.
	nsx "$C1" sysctl -qw net.ipv6.conf.e0.accept_ra=2 net.ipv6.conf.e0.autoconf=1 &&
		ip -n "$C1" -6 route del default || return 1
	nsx "${EXIT_NS[ra]}" dnsmasq --no-daemon --port=0 --bind-interfaces --interface=r0 \
		--enable-ra --dhcp-range=2001:db8:66::,ra-only,64,2m --ra-param=r0,3,600 \
		>>"$T_DIR/dnsmasq-ra.log" 2>&1 </dev/null &
	T_BG+=("$!")
}
check "a router on c1's LAN advertises 2001:db8:66::/64 (dnsmasq --enable-ra)" ra
slaac() { ip -n "$C1" -6 addr show dev e0 scope global | grep -q 'inet6 2001:db8:66:'; }
check "c1 autoconfigures a 2001:db8:66::/64 address (within 15 s)" wait_for 15 slaac
ra_default() { ip -n "$C1" -6 route show default | grep -q 'proto ra'; }
check "... and a default route from the RA" wait_for 5 ra_default
note "c1: $(ip -n "$C1" -6 addr show dev e0 scope global | grep -o 'inet6 [^ ]*' | tr '\n' ' ')"
note "c1: $(ip -n "$C1" -6 route show default | head -n 1)"
note "ip -6 route get $I6_ADDR on c1: $(ip -n "$C1" -6 route get "$I6_ADDR" 2>&1 | head -n 1)"

v6_traffic_start() {
	nsx "$C1" bash -c "while :; do
		ping -n -c 1 -W 1 $I6_ADDR
		echo x | timeout 1 socat - UDP6:[$I6_ADDR]:5353
		echo x | timeout 1 socat - UDP6:[$I6_ADDR]:53
		echo x | timeout 1 socat - TCP6:[$I6_ADDR]:443,connect-timeout=1
		sleep 0.2
	done" >/dev/null 2>&1 </dev/null &
	T_BG+=("$!")
	V6_LOOP=$!
}
leak_traffic_start
v6_traffic_start
TO_I6="ip6 and dst host $I6_ADDR"
check "protected: no IPv6 but ND/RS and link-local multicast, nothing leaked, in 4 s" \
	leak_check PROTECTED 4 "$TO_I6"
# socat prints the peer expanded and in brackets.
still_tunnel() {
	exit_probe c1 tcp6 "$I6_ADDR" 443 | python3 -c 'import ipaddress,sys
s = sys.stdin.read().strip()
sys.exit(0 if s.startswith("from ") and ipaddress.ip_address(s[5:].strip("[]")) == ipaddress.ip_address(sys.argv[1]) else 1)' "$E6_UPLINK"
}
exit_listen inet tcp6 443
check "protected: tcp6 to I still goes through e (I sees $E6_UPLINK)" wait_for 5 still_tunnel

check "control: c1 exit-node off" rnn c1 exit-node off
check "control: without protected mode IPv6 to $I6_ADDR leaves e0 in plaintext" \
	leak_check CONTROL 3 "$TO_I6"
kill "$V6_LOOP" 2>/dev/null || true
leak_traffic_stop
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
