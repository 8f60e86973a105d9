# shellcheck shell=bash disable=SC2317 # functions run indirectly (check DESC FUNC...)
# SPDX-License-Identifier: MIT
# tests/exit-lib.sh: the exit-node topology on top of tests/mesh-lib.sh. Source after both.
#
#   ns sw: bridge br0 = the clients' local network and the internet's edge, 198.51.100.0/24
#     |-- ctl .1          rustynet-control serve
#     |-- c1 .10 (alice)  c2 .11 (bob)  c3 .12 (carol)  c4 .15 (dave)  clients, default via isp
#     |-- e .13           the exit node and subnet router (rustynetd, advertises exit + LANs)
#     |-- e2 .14          a second exit node (uplink: its underlay, via isp .254)
#     `-- isp .254        the ISP router: forwards between br0 and the internet
#   ns isp: i0 198.51.100.254/24 2001:db8:1::254/64 (on br0),
#           i1 203.0.113.1/24 2001:db8:113::1/64 ---- ns inet: 203.0.113.10 2001:db8:113::10 (I)
#   ns e: e0 198.51.100.13 (underlay; default via isp), up0 192.0.2.1/24 2001:db8:192::1/64
#         ---- isp up1 192.0.2.254 2001:db8:192::254
#         (E's uplink: traffic it forwards for clients leaves here, masqueraded to 192.0.2.1)
#         lan50 192.168.50.1/24 ---- ns l1: 192.168.50.10 (L1, authorized LAN)
#         lan60 192.168.60.1/24 ---- ns l2: 192.168.60.10 (L2, never granted)
#
# exit_topology         builds all of it and starts the nodes (not logged in); EXIT_NODES
#                       (default "c1 c2 c3 e e2 c4") limits the nodes, numbered in that order
# EXIT_NS[name]         namespace of isp, inet, l1, l2
# I_ADDR I6_ADDR L1_ADDR L2_ADDR E_UPLINK E6_UPLINK

I_ADDR=203.0.113.10
I6_ADDR=2001:db8:113::10
E6_UPLINK=2001:db8:192::1
L1_ADDR=192.168.50.10
L2_ADDR=192.168.60.10
E_UPLINK=192.0.2.1
declare -A EXIT_NS=()

# exit_host NAME: a plain namespace (no rustynetd).
exit_host() {
	EXIT_NS[$1]="$T_ID-$1"
	ns_add "${EXIT_NS[$1]}"
}

exit_topology() {
	local n
	mesh_init || return 1
	exit_host isp && exit_host inet && exit_host l1 && exit_host l2 || return 1
	# the ISP router: on br0, towards the internet host, and E's uplink
	veth_add "${EXIT_NS[isp]}" i0 "$MESH_SW" "s$$-254" &&
		ip -n "$MESH_SW" link set "s$$-254" master br0 &&
		addr_add "${EXIT_NS[isp]}" i0 198.51.100.254/24 &&
		addr_add "${EXIT_NS[isp]}" i0 2001:db8:1::254/64 || return 1
	veth_add "${EXIT_NS[isp]}" i1 "${EXIT_NS[inet]}" w0 &&
		addr_add "${EXIT_NS[isp]}" i1 203.0.113.1/24 &&
		addr_add "${EXIT_NS[isp]}" i1 2001:db8:113::1/64 &&
		addr_add "${EXIT_NS[inet]}" w0 "$I_ADDR/24" &&
		addr_add "${EXIT_NS[inet]}" w0 "$I6_ADDR/64" &&
		ip -n "${EXIT_NS[inet]}" route add default via 203.0.113.1 &&
		ip -n "${EXIT_NS[inet]}" -6 route add default via 2001:db8:113::1 || return 1
	nsx "${EXIT_NS[isp]}" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ||
		return 1
	for n in ${EXIT_NODES:-c1 c2 c3 e e2 c4}; do
		mesh_node "$n" || return 1
		ip -n "${MESH_NS[$n]}" route add default via 198.51.100.254 &&
			ip -n "${MESH_NS[$n]}" -6 route add default via 2001:db8:1::254 || return 1
	done
	# E's uplink and LANs
	veth_add "${MESH_NS[e]}" up0 "${EXIT_NS[isp]}" up1 &&
		addr_add "${MESH_NS[e]}" up0 "$E_UPLINK/24" &&
		addr_add "${MESH_NS[e]}" up0 "$E6_UPLINK/64" &&
		addr_add "${EXIT_NS[isp]}" up1 192.0.2.254/24 &&
		addr_add "${EXIT_NS[isp]}" up1 2001:db8:192::254/64 || return 1
	ip -n "${MESH_NS[e]}" route replace default via 192.0.2.254 &&
		ip -n "${MESH_NS[e]}" -6 route replace default via 2001:db8:192::254 || return 1
	veth_add "${MESH_NS[e]}" lan50 "${EXIT_NS[l1]}" l0 &&
		addr_add "${MESH_NS[e]}" lan50 192.168.50.1/24 &&
		addr_add "${EXIT_NS[l1]}" l0 "$L1_ADDR/24" &&
		ip -n "${EXIT_NS[l1]}" route add default via 192.168.50.1 || return 1
	veth_add "${MESH_NS[e]}" lan60 "${EXIT_NS[l2]}" l0 &&
		addr_add "${MESH_NS[e]}" lan60 192.168.60.1/24 &&
		addr_add "${EXIT_NS[l2]}" l0 "$L2_ADDR/24" &&
		ip -n "${EXIT_NS[l2]}" route add default via 192.168.60.1 || return 1
}

# exit_listen NS PROTO PORT: in a plain namespace, a listener answering "from <peer address>";
# returns once it is bound.
exit_listen() {
	local ns=${EXIT_NS[$1]} any=0.0.0.0 p=$2
	case $2 in
	tcp) nsx "$ns" socat "TCP-LISTEN:$3,reuseaddr,fork" SYSTEM:'echo from $SOCAT_PEERADDR; cat >/dev/null' \
		>/dev/null 2>&1 </dev/null & ;;
	tcp6) nsx "$ns" socat "TCP6-LISTEN:$3,reuseaddr,fork,ipv6only=1" \
		SYSTEM:'echo from $SOCAT_PEERADDR' >/dev/null 2>&1 </dev/null & ;;
	udp) udp_serve "$ns" 0.0.0.0 "$3" from ;;
	esac
	[ "$p" = udp ] || T_BG+=("$!")
	[ "$p" != tcp6 ] || { p=tcp any=::; }
	wait_for 10 listening "$ns" "$p" "$any" "$3"
}

# exit_probe NODE PROTO ADDR PORT: what the listener says ("from ADDR"), empty if nothing came.
exit_probe() {
	case $2 in
	tcp | tcp6) tcp_get "${MESH_NS[$1]}" "$3" "$4" ;;
	udp) udp_get "${MESH_NS[$1]}" "$3" "$4" ;;
	icmp) ip netns exec "${MESH_NS[$1]}" ping -n -c 1 -W 2 "$3" >/dev/null 2>&1 && echo "from icmp" ;;
	esac
	return 0
}

# exit_reaches NODE PROTO ADDR PORT: something answered.
exit_reaches() { [ -n "$(exit_probe "$@")" ]; }
exit_blocked() { [ -z "$(exit_probe "$@")" ]; }

# exit_net_state NS: every rule, route and nft object of NS, for before/after comparisons.
exit_net_state() {
	{
		ip -n "$1" rule
		ip -n "$1" -6 rule
		ip -n "$1" route show table all | grep -v "^local\|^broadcast\|^multicast\|proto kernel"
		ip -n "$1" -6 route show table all | grep -v "^local\|^multicast\|^anycast\|proto kernel"
		nsx "$1" nft list ruleset
		nsx "$1" sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding
	} 2>&1
}
