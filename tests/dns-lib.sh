# shellcheck shell=bash disable=SC2317 # functions run indirectly (check DESC FUNC...)
# SPDX-License-Identifier: MIT
# tests/dns-lib.sh: the protected-mode DNS scenarios' common part (dns-protected.sh,
# dns-resolved.sh). Source after tests/lib.sh and tests/mesh-lib.sh.
#
#   ns sw: bridge br0 = the client's local network, 198.51.100.0/24
#     |-- ctl .1     rustynet-control serve
#     |-- c   .10    the client (alice); default via isp
#     |-- e   .11    the exit node (underlay only; its uplink is up0)
#     |-- lan .53    dnsmasq, the client's local resolver: www.example.test = 198.51.100.99
#     `-- isp .254   the ISP router
#   ns isp: i1 203.0.113.1/24 ---- ns inet: 203.0.113.10, dnsmasq (the network's upstream):
#                                  www.example.test = 203.0.113.80
#           up1 192.0.2.254/24 ---- ns e: up0 192.0.2.1 (E's uplink, default route)
#
# dns_topology        all of the above, with c and e's rustynetd running (not logged in)
# dns_exit_checks     c up as alice, e up as an approved exit, a policy letting alice use the
#                     internet (four checks); then E_IP is e's mesh IPv4
# isp_drop            the ISP drops DNS to the upstream 203.0.113.10
# on_underlay CMD...  CMD runs while tcpdump watches c's underlay; then DNS53 holds the number
#                     of port 53/853 packets seen, WG those of UDP to and from e's endpoint;
#                     fails if the capture did not see c's canary (capture_canary)
# is WANT CMD...      CMD prints exactly WANT

ISP_NS="$T_ID-isp"
INET_NS="$T_ID-inet"
LAN_NS="$T_ID-lan"
I_ADDR=203.0.113.10
LAN_DNS=198.51.100.53
# WireGuard with e: c's only peer, at whichever of e's candidates the path chooser has it (a
# check after one-way traffic, a DNS query the upstream never answers, may move it to another).
DNS_WG_FILTER="udp and src port 41641 and dst port 41641"
E_IP=none
DNS53=0
WG=0

# dns_serve NS ADDR ANSWER: dnsmasq on ADDR answering www.example.test with ANSWER.
dns_serve() {
	nsx "$1" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address="$2" \
		--address=/www.example.test/"$3" >>"$T_DIR/dnsmasq-$1.log" 2>&1 </dev/null &
	T_BG+=("$!")
	wait_for 5 nsx "$1" dig +time=1 +tries=1 @"$2" www.example.test
}

dns_topology() {
	mesh_init || return 1
	ns_add "$ISP_NS" && ns_add "$INET_NS" && ns_add "$LAN_NS" || return 1
	mesh_link "$ISP_NS" i0 254 && mesh_link "$LAN_NS" e0 53 || return 1
	veth_add "$ISP_NS" i1 "$INET_NS" w0 && addr_add "$ISP_NS" i1 203.0.113.1/24 &&
		addr_add "$INET_NS" w0 "$I_ADDR/24" &&
		ip -n "$INET_NS" route add default via 203.0.113.1 || return 1
	nsx "$ISP_NS" sysctl -qw net.ipv4.ip_forward=1 || return 1
	mesh_node c && mesh_node e || return 1
	ip -n "${MESH_NS[c]}" route add default via 198.51.100.254 || return 1
	veth_add "${MESH_NS[e]}" up0 "$ISP_NS" up1 && addr_add "${MESH_NS[e]}" up0 192.0.2.1/24 &&
		addr_add "$ISP_NS" up1 192.0.2.254/24 &&
		ip -n "${MESH_NS[e]}" route replace default via 192.0.2.254 || return 1
	dns_serve "$INET_NS" "$I_ADDR" 203.0.113.80 && dns_serve "$LAN_NS" "$LAN_DNS" 198.51.100.99
}

dns_exit_checks() {
	check "c up (alice)" mesh_up c alice
	check "e up, advertising an exit node" \
		rnn e up --server "$MESH_URL" --auth-key "$(mesh_key admin)" --hostname e \
		--advertise-exit-node
	check "admin approves e as exit" ctl exit approve e
	# after the enrollments: a policy naming a user not enrolled yet is refused
	check "policy: alice may use the internet" mesh_policy <<-'EOF'
		{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]},
		          {"action": "accept", "src": ["alice"], "dst": ["autogroup:internet:*"]}]}
	EOF
	E_IP=$(mesh_ip4 e 2>/dev/null || echo none)
}

isp_drop() {
	nsx "$ISP_NS" nft -f - <<-EOF
		table inet $TEST_TAG {
			chain f {
				type filter hook forward priority 0;
				ip daddr $I_ADDR udp dport 53 drop
				ip daddr $I_ADDR tcp dport 53 drop
			}
		}
	EOF
}

on_underlay() {
	local rc=0 mac
	DNS53='' WG='' CANARY=''
	mac=$(nsx "${MESH_NS[c]}" cat /sys/class/net/e0/address) && [ -n "$mac" ] || return 1
	capture_start "${MESH_NS[c]}" e0 || return 1
	capture_canary "${MESH_NS[c]}" e0
	"$@" || rc=$?
	capture_stop
	DNS53=$(capture_count "$CAPTURE_FILE" "port 53 or port 853") &&
		WG=$(capture_count "$CAPTURE_FILE" "$DNS_WG_FILTER") &&
		CANARY=$(canary_count "$CAPTURE_FILE" "$mac") || return 1
	echo "on c's underlay: $DNS53 packet(s) on port 53/853, $WG WireGuard with e, $CANARY of c's canary"
	[ "$CANARY" -gt 0 ] || { echo "the capture did not see c's own canary packet"; return 1; }
	tcpdump -r "$CAPTURE_FILE" -n "port 53 or port 853" 2>/dev/null | head -n 5
	return "$rc"
}

is() {
	local want=$1 got
	shift
	got=$("$@")
	echo "got: $got"
	[ "$got" = "$want" ]
}
