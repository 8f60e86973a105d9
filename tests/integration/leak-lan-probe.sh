#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# leak-lan-probe (CVE-2019-14899 style): an attacker on the client's LAN sends packets for the
# client's mesh addresses and its Magic DNS addresses to the client's underlay MAC, as if the
# client were their router, and looks for answers (which would show the mesh address, open
# ports and the names Magic DNS knows, and let it inject into tunnelled connections).
#
#   c1 (alice)  e0 .10, 2001:db8:1::10         atk 192.168.77.66/24, 2001:db8:1::66
#      + 192.168.77.10/24 (a private LAN,        routes 100.64.0.0/10, 100.100.100.100,
#        which the kill switch lets out)           MESH6/48, MAGIC6 via c1 [capture on a0]
#      mesh 100.64.x.y, Magic DNS 100.100.100.100 on lo, tcp/8080 open on all addresses
#   ------------------------- br0 198.51.100.0/24 -+------ e (exit) .11, ctl .1, isp .254 ...
#
# Linux is a weak-host system: an address on the tunnel or on lo answers on any interface, and
# with arp_ignore 0 ARP for it is answered on any interface too. rustynetd's table inet
# rustynet-guard (journal group "guard", while logged in) drops packets for the node's mesh and
# Magic DNS addresses that come in by an interface other than the tunnel and lo; its twin in
# family arp drops ARP requests for the IPv4 ones. Probes: ping, TCP SYN to an open and a
# closed port, DNS to Magic DNS (IPv4 and IPv6), ARP who-has (IPv4), without an exit and with
# one selected. A capture on the attacker's interface must hold no packet from c1's MAC but
# ND, link-local multicast and ARP replies for c1's LAN address. Control: both tables deleted
# by hand, the same probes are answered, ARP included (the capture sees the answers).
set -eu
TEST_TAG=leakprobe
# shellcheck source=tests/leak-lib.sh
. "$(dirname "$0")/../leak-lib.sh"
plan 11
leak_preamble dig
setup() {
	EXIT_NODES="c1 e" exit_topology || return 1
	mesh_up c1 alice || return 1
	printf '%s\n' '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]},
		{"action": "accept", "src": ["alice"], "dst": ["autogroup:internet:*"]}]}' |
		mesh_policy || return 1
	rnn e up --server "$MESH_URL" --auth-key "$(mesh_key admin)" --hostname e \
		--advertise-exit-node && ctl exit approve e || return 1
	exit_listen inet tcp 443
}
if ! check_ok "topology: c1 (logged in, no exit yet), exit e" setup; then
	mesh_dump_logs
	t_done
fi
C1=${MESH_NS[c1]}
M4=$(mesh_ip4 c1)
M6=$(mesh_ip6 c1)
MAGIC4=100.100.100.100
MAGIC6=$(ip -n "$C1" -6 addr show dev lo | awk '/inet6 f/ {sub("/.*", "", $2); print $2; exit}')
MESH6_NET=$(python3 -c 'import ipaddress,sys; print(ipaddress.ip_network(sys.argv[1] + "/48", strict=False))' "$M6")
note "c1: mesh $M4 $M6, Magic DNS $MAGIC4 $MAGIC6"
attacker() {
	[ -n "$M4" ] && [ -n "$M6" ] && [ -n "$MAGIC6" ] || return 1
	exit_host atk &&
		veth_add "${EXIT_NS[atk]}" a0 "$MESH_SW" "s$$-at" &&
		ip -n "$MESH_SW" link set "s$$-at" master br0 &&
		addr_add "${EXIT_NS[atk]}" a0 192.168.77.66/24 &&
		addr_add "${EXIT_NS[atk]}" a0 2001:db8:1::66/64 &&
		addr_add "$C1" e0 192.168.77.10/24 || return 1
	ip -n "${EXIT_NS[atk]}" route add 100.64.0.0/10 via 192.168.77.10 &&
		ip -n "${EXIT_NS[atk]}" route add "$MAGIC4/32" via 192.168.77.10 &&
		ip -n "${EXIT_NS[atk]}" -6 route add "$MESH6_NET" via 2001:db8:1::10 &&
		ip -n "${EXIT_NS[atk]}" -6 route add "$MAGIC6/128" via 2001:db8:1::10
}
check "an attacker on c1's LAN routes the mesh and Magic DNS addresses via c1" attacker
nsx "$C1" socat TCP6-LISTEN:8080,reuseaddr,fork SYSTEM:'echo open' >/dev/null 2>&1 </dev/null &
T_BG+=("$!")
wait_for 10 listening "$C1" tcp :: 8080

# arp_ask TARGET: one ARP request "who has TARGET, tell 192.168.77.66" broadcast from a0.
arp_ask() {
	nsx "${EXIT_NS[atk]}" python3 -c 'import socket,sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("a0", 0))
mac = open("/sys/class/net/a0/address").read().strip()
me = bytes.fromhex(mac.replace(":", ""))
arp = bytes.fromhex("0001080006040001") + me + socket.inet_aton("192.168.77.66") + bytes(6) + socket.inet_aton(sys.argv[1])
s.send(b"\xff" * 6 + me + b"\x08\x06" + arp + bytes(18))' "$1"
}
# The hex of an IPv4 address, for a pcap filter on the ARP sender address (arp[14:4]).
hex4() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	printf '0x%02x%02x%02x%02x' "$a" "$b" "$c" "$d"
}

# probe: every probe once from the attacker, under a capture of its interface; ANSWERS is the
# number of packets from c1's MAC other than neighbor discovery, link-local multicast (MLD
# reports) and ARP replies for c1's LAN address.
ANSWERS=0 ARP_ANSWERS=0
probe() {
	local a=${EXIT_NS[atk]} mac f sent
	mac=$(leak_mac) || return 1
	capture_start "$a" a0 || return 1
	for x in "$M4" "$M6" "$MAGIC4" "$MAGIC6"; do
		nsx "$a" ping -n -c 1 -W 1 "$x" >/dev/null 2>&1 || true
		case $x in *:*) x="[$x]" ;; esac
		echo hi | timeout 2 ip netns exec "$a" socat -T 1 - "TCP:$x:8080,connect-timeout=1" \
			>/dev/null 2>&1 || true
		echo hi | timeout 2 ip netns exec "$a" socat -T 1 - "TCP:$x:8081,connect-timeout=1" \
			>/dev/null 2>&1 || true
	done
	nsx "$a" dig +time=1 +tries=1 @"$MAGIC4" c1.rustynet A >/dev/null 2>&1 || true
	nsx "$a" dig +time=1 +tries=1 @"$MAGIC6" c1.rustynet A >/dev/null 2>&1 || true
	arp_ask "$M4" && arp_ask "$MAGIC4" || return 1
	sleep 0.3
	capture_stop
	# ARP replies count when they are for the mesh or Magic DNS address (those for c1's own
	# LAN address are the attacker resolving its next hop).
	f="ether src $mac and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137) and
		not (ip6 and dst net ff02::/16) and
		(not arp or arp[14:4] = $(hex4 "$M4") or arp[14:4] = $(hex4 "$MAGIC4"))"
	ANSWERS=$(capture_count "$CAPTURE_FILE" "$f") &&
		ARP_ANSWERS=$(capture_count "$CAPTURE_FILE" "arp and ether src $mac and arp[14:4] = $(hex4 "$M4")") &&
		sent=$(capture_count "$CAPTURE_FILE" "ether src $(nsx "$a" cat /sys/class/net/a0/address)") ||
		return 1
	echo "attacker's capture: $(capture_count "$CAPTURE_FILE") packets, $sent probes sent, $ANSWERS from c1 (answers)"
	tcpdump -r "$CAPTURE_FILE" -n "$f" 2>/dev/null | head -n 5
	[ "$sent" -gt 0 ]
}
unanswered() { probe && [ "$ANSWERS" = 0 ]; }
answered() { probe && [ "$ANSWERS" -gt 0 ] && [ "$ARP_ANSWERS" -gt 0 ]; }

check "no exit: probes for c1's mesh and Magic DNS addresses from the LAN get no answer" unanswered
check "c1 selects e" rnn c1 exit-node select e
check "... and uses it (I sees e's uplink address)" wait_for 10 seen_as "$E_UPLINK"
check "exit selected: the same probes get no answer" unanswered
check "c1: exit-node off" rnn c1 exit-node off

# Control: the guard removed by hand, the weak host model answers and the capture sees it.
check "control: nft delete table inet rustynet-guard" nsx "$C1" nft delete table inet rustynet-guard
check "control: nft delete table arp rustynet-guard" nsx "$C1" nft delete table arp rustynet-guard
check "control: without them c1 answers the probes, ARP for $M4 too" answered
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
