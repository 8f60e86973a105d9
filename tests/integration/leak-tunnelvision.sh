#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# leak-tunnelvision (CVE-2024-3661): a rogue DHCP server on the client's LAN pushes classless
# static routes (option 121) 0.0.0.0/1 and 128.0.0.0/1 via a rogue gateway, and the client's
# DHCP client installs them.
#
#   c1 (alice, exit e selected)  e (exit)  ctl   rogue .66: dnsmasq DHCP server (option 121
#      .10 + DHCP lease            .11      .1     |   0.0.0.0/1, 128.0.0.0/1 via .66), and the
#      [capture on e0]                             |   gateway those routes name (forwards)
#   ------------------------- br0 198.51.100.0/24 -+----------- isp .254 --- inet I 203.0.113.10
#
# The DHCP client is busybox udhcpc (package udhcpc) in c1's namespace with a script of ours
# doing what a client's hook does with a lease: the address, and each route of $staticroutes
# (udhcpc's parsed option 121) in the main table. Those /1 routes are more specific than any
# default route, but rustynetd lets main answer unmarked traffic only inside the local ranges
# (RFC 1918, link-local, the mesh), so `ip route get 203.0.113.10` names the tunnel (table
# 5150) and c1's traffic to I goes through the exit: I answers c1's tcp/443 and sees it from
# e's uplink 192.0.2.1, and a capture of c1's underlay has WireGuard to e, no packet to any
# internet address and no leak (the kill switch, by destination, would also drop it). Control:
# the routing c1 had before (main without its /0 routes for every destination) and no kill
# switch: the same traffic goes to the rogue gateway in plaintext (seen in the capture).
set -eu
TEST_TAG=leaktv
# shellcheck source=tests/leak-lib.sh
. "$(dirname "$0")/../leak-lib.sh"
plan 11
leak_preamble dnsmasq udhcpc
leak_setup_or_end
ROGUE=198.51.100.66
rogue() {
	exit_host rogue &&
		veth_add "${EXIT_NS[rogue]}" r0 "$MESH_SW" "s$$-rg" &&
		ip -n "$MESH_SW" link set "s$$-rg" master br0 &&
		addr_add "${EXIT_NS[rogue]}" r0 "$ROGUE/24" &&
		ip -n "${EXIT_NS[rogue]}" route add default via 198.51.100.254 &&
		nsx "${EXIT_NS[rogue]}" sysctl -qw net.ipv4.ip_forward=1 || return 1
	nsx "${EXIT_NS[rogue]}" dnsmasq --no-daemon --port=0 --bind-interfaces --interface=r0 \
		--dhcp-range=198.51.100.100,198.51.100.150,255.255.255.0,2m \
		--dhcp-option=3,"$ROGUE" \
		--dhcp-option=121,0.0.0.0/1,"$ROGUE",128.0.0.0/1,"$ROGUE" \
		--dhcp-leasefile="$T_DIR/rogue.leases" --log-dhcp \
		>>"$T_DIR/dnsmasq-rogue.log" 2>&1 </dev/null &
	T_BG+=("$!")
}
check "a rogue DHCP server and gateway ($ROGUE) on c1's LAN" rogue

# What a DHCP client's hook does with the lease; the default route (option 3) is left alone
# as a client already having one would, the classless routes are installed.
cat >"$T_DIR/udhcpc.script" <<'EOF'
#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
echo "lease: ip=$ip mask=$mask router=$router staticroutes=$staticroutes" >>"$LEASE_LOG"
ip addr replace "$ip/$mask" dev "$interface"
set -- $staticroutes
while [ $# -ge 2 ]; do
	ip route replace "$1" via "$2" dev "$interface"
	shift 2
done
EOF
chmod +x "$T_DIR/udhcpc.script"
dhcp() {
	nsx "${MESH_NS[c1]}" timeout 20 udhcpc -f -q -n -t 5 -T 1 \
		-i e0 -O staticroutes -s "$T_DIR/udhcpc.script" || { cat "$T_DIR/dnsmasq-rogue.log"; return 1; }
	cat "$T_DIR/lease.log"
	grep -q "staticroutes=0.0.0.0/1 $ROGUE 128.0.0.0/1 $ROGUE" "$T_DIR/lease.log"
}
export LEASE_LOG="$T_DIR/lease.log"
check "udhcpc in c1 (kill switch on) gets a lease with option 121 0.0.0.0/1 + 128.0.0.0/1" dhcp
routes_in() { ip -n "${MESH_NS[c1]}" route show 0.0.0.0/1 | grep -q "via $ROGUE dev e0"; }
check "c1's main table holds the rogue /1 routes" routes_in
note "ip route get $I_ADDR mark 0x80000 (main) on c1: $(ip -n "${MESH_NS[c1]}" route get "$I_ADDR" mark 0x80000 2>&1 | head -n 1)"
check "... main would send $I_ADDR via $ROGUE on e0 (TunnelVision; rustynetd's marked packets use main)" \
	sh -c "ip -n '${MESH_NS[c1]}' route get $I_ADDR mark 0x80000 | grep -q 'via $ROGUE dev e0'"
ROUTE_GET=$(ip -n "${MESH_NS[c1]}" route get "$I_ADDR" 2>&1 | head -n 1)
note "ip route get $I_ADDR on c1: $ROUTE_GET"
check "... but ip route get $I_ADDR names the tunnel ${MESH_IF[c1]} (table 5150)" \
	sh -c "echo '$ROUTE_GET' | grep -q 'dev ${MESH_IF[c1]} table 5150'"
check "c1's tcp/443 to $I_ADDR reaches I through the exit: I sees $E_UPLINK, the answer comes back" \
	wait_for 10 seen_as "$E_UPLINK"
check "c1's ping to $I_ADDR is answered (through the exit)" \
	nsx "${MESH_NS[c1]}" ping -n -c 1 -W 3 "$I_ADDR"

leak_traffic_start
TO_INTERNET="ip and not dst net 198.51.100.0/24 and not dst net 224.0.0.0/4 and not dst host 255.255.255.255"
check "4 s capture: WireGuard to e, nothing to internet addresses, nothing leaked on the underlay" \
	leak_check PROTECTED 4 "$TO_INTERNET"

nsx "${MESH_NS[c1]}" nft delete table inet rustynet-killswitch
old_routing on
check "control: with the old routing and no kill switch the traffic to $I_ADDR goes to $ROGUE in plaintext" \
	leak_check CONTROL 3 "$TO_INTERNET"
old_routing off
leak_traffic_stop
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
