# shellcheck shell=bash disable=SC2317 # functions run indirectly (check DESC FUNC...)
# SPDX-License-Identifier: MIT
# tests/leak-lib.sh: the leak scenarios' common part, on tests/exit-lib.sh's topology cut down
# to one client and one exit node. Sources lib.sh, mesh-lib.sh and exit-lib.sh itself: a
# scenario sets TEST_TAG, sources this file and calls leak_preamble.
#
#   c1 (alice) 198.51.100.10    e (exit) .11     ctl .1     isp .254 --- inet I 203.0.113.10
#   ------------------------- br0 198.51.100.0/24 -----------------+      2001:db8:113::10
#                               e: up0 192.0.2.1 --- isp (E's uplink, masqueraded)
#
# leak_setup            topology, alice on c1 and e as an approved exit, c1 selects e; a
#                       listener on I (tcp/443, udp/5353, udp/53 unless LEAK_NO_DNS_LISTENER)
# leak_traffic_start    c1 sends to I all along: ping, UDP, DNS to I as a resolver, TCP
# leak_count FILE       packets in a capture of c1's underlay sent by c1 that are neither
#                       WireGuard to E (any of its addresses), nor rustynetd's control
#                       connection, nor ARP, neighbor discovery or link-local multicast (nor
#                       LEAK_ALLOW, a pcap filter a scenario may set: what else its topology
#                       legitimately sends): leaks
# seen_as ADDR          c1's tcp/443 to I arrives from ADDR (and the answer comes back)
# wg_count FILE         WireGuard packets c1 sent to E (any of its addresses, leak_e_dst) in
#                       a capture (proof the capture saw the tunnel at work)
# leak_check PROTECTED|CONTROL SECONDS FILTER
#                       the protected step and its control, counted by one function: leaks
#                       and FILTER 0 with WireGuard and c1's canary seen, or both above 0
# leak_none_for / leak_seen_for SECONDS
#                       no leak (with WireGuard and the canary seen) / some leak
# old_routing on|off    the single rule c1 had before the local ranges (main without its /0
#                       routes for every destination), for the control steps

# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mesh-lib.sh"
# shellcheck source=tests/exit-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/exit-lib.sh"

# leak_preamble [CMD...]: root, the tools every scenario uses and its own CMDs, and the built
# binaries; a scenario that lacks them is skipped whole (or fails under CI=true).
leak_preamble() {
	need_root
	need_cmds python3 socat tcpdump nft wg "$@"
	if ! mesh_have_bins; then
		skip "$(basename "$0" .sh): all checks" "rustynetd, rustynet or rustynet-control missing"
		t_done
	fi
}

# leak_setup_or_end: leak_setup as a check; no script can go on without it.
leak_setup_or_end() {
	if ! check_ok "topology; c1 uses exit e; I sees e's uplink address" leak_setup; then
		mesh_dump_logs
		t_done
	fi
}

C_UL4=198.51.100.10
E_UL4=198.51.100.11
E_UL6=2001:db8:1::11
WG_PORT=41641
CTL_UL4=198.51.100.1

leak_setup() {
	local key
	EXIT_NODES="c1 e" exit_topology || return 1
	mesh_up c1 alice || return 1
	printf '%s\n' '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]},
		{"action": "accept", "src": ["alice"], "dst": ["autogroup:internet:*"]}]}' |
		mesh_policy || return 1
	key=$(mesh_key admin) || return 1
	rnn e up --server "$MESH_URL" --auth-key "$key" --hostname e --advertise-exit-node &&
		ctl exit approve e || return 1
	wait_for 5 sh -c "'$RNCLI' --socket '${MESH_SOCK[c1]}' exit-node list | grep -qw e" &&
		rnn c1 exit-node select e || return 1
	exit_listen inet tcp 443
	exit_listen inet udp 5353
	[ -n "${LEAK_NO_DNS_LISTENER:-}" ] || exit_listen inet udp 53
	wait_for 10 seen_as "$E_UPLINK"
}

seen_as() { [ "$(exit_probe c1 tcp "$I_ADDR" 443)" = "from $1" ]; }

# leak_traffic_start [NS]: a loop in NS (c1's namespace) that keeps trying to reach I by every
# path a leak could take; leak_traffic_stop ends it.
leak_traffic_start() {
	nsx "${1:-${MESH_NS[c1]}}" bash -c "while :; do
		ping -n -c 1 -W 1 $I_ADDR; ping -n -c 1 -W 1 $I6_ADDR
		echo x | timeout 1 socat - UDP:$I_ADDR:5353
		echo x | timeout 1 socat - UDP:$I_ADDR:53
		echo x | timeout 1 socat - TCP:$I_ADDR:443,connect-timeout=1
		sleep 0.2
	done" >/dev/null 2>&1 </dev/null &
	T_BG+=("$!")
	LEAK_LOOP=$!
}
leak_traffic_stop() { kill "$LEAK_LOOP" 2>/dev/null || true; }

# leak_mac: c1's MAC on e0; fails when it cannot be read ("ether src  and ..." would match
# nothing).
leak_mac() {
	local mac
	mac=$(nsx "${MESH_NS[c1]}" cat /sys/class/net/e0/address) || return 1
	case $mac in
	??:??:??:??:??:??) echo "$mac" ;;
	*) echo "leak_mac: no MAC address for c1's e0 (got '$mac')" >&2; return 1 ;;
	esac
}
# The pcap filter of a leak: sent by c1 (its MAC: the bridge shows other hosts' packets too).
leak_filter() {
	local mac cands
	mac=$(leak_mac) && cands=$(leak_e_cands) || return 1
	echo "ether src $mac and not arp and
	not (udp and $(leak_e_dst) and dst port $WG_PORT) and
	not (udp and src port $WG_PORT and ($cands)) and
	not (tcp and dst host $CTL_UL4 and dst port 8443) and
	not (icmp6 and ip6[40] >= 133 and ip6[40] <= 136) and
	not (ip6 and dst net ff02::/16)${LEAK_ALLOW:+ and not ($LEAK_ALLOW)}"
}
# leak_e_cands: a pcap filter for e's candidates in c1's signed map (address and port): the
# only places c1's WireGuard socket sends besides e's underlay (handshakes racing them, the
# 4-byte datagrams that open a NAT: docs/nat-traversal.md); never a match when there are none.
leak_e_cands() {
	python3 - "${MESH_ST[c1]}/netmap.json" <<-'PY'
		import json, sys
		try:
		    m = json.loads(json.load(open(sys.argv[1]))["map"])
		except (OSError, ValueError, KeyError):
		    m = {"peers": []}
		out = []
		for p in m["peers"]:
		    if p.get("name") == "e":
		        for ep in p.get("endpoints", []):
		            host, port = ep.rsplit(":", 1)
		            out.append("(dst host %s and dst port %s)" % (host.strip("[]"), port))
		print(" or ".join(out) or "(dst port 0 and src port 0)")
	PY
}
leak_count() { local f; f=$(leak_filter) && capture_count "$1" "$f"; }
# c1_seen FILE: the capture holds c1's canary (underlay_for sends it), printed.
c1_seen() {
	local mac n
	mac=$(leak_mac) && n=$(canary_count "$1" "$mac") || return 1
	echo "c1's canary (ICMPv6 echo to ff02::1 from $mac) in the capture: $n"
	[ "$n" -gt 0 ]
}
# wg_count FILE: the tunnel's packets to e in FILE: WireGuard to e's addresses, or what the
# scenario names in LEAK_TUNNEL (a pcap filter: a relayed path's carrier, the relay connection).
wg_count() { capture_count "$1" "${LEAK_TUNNEL:-udp and $(leak_e_dst) and dst port $WG_PORT}"; }
# leak_e_dst: a pcap filter for e's addresses, each a candidate c1's path chooser may use for
# e's WireGuard: its underlay, and its uplink (a host candidate c1 reaches through the ISP).
leak_e_dst() {
	echo "(dst host $E_UL4 or dst host $E_UL6 or dst host $E_UPLINK or dst host $E6_UPLINK)"
}

# The control steps of the LAN-route scenarios put back what this client did before routing
# only the local ranges by main: `lookup main suppress_prefixlength 0` for every unmarked
# destination, so a route the LAN pushes wins over table 5150 again.
old_routing() {
	case $1 in
	on) ip -n "${MESH_NS[c1]}" rule add pref 5205 not fwmark 0x80000/0xff0000 lookup main \
		suppress_prefixlength 0 ;;
	off) ip -n "${MESH_NS[c1]}" rule del pref 5205 2>/dev/null || true ;;
	esac
}
# leak_show FILE [FILTER]: the first leaked packets (or those matching FILTER), for the log.
leak_show() { tcpdump -r "$1" -n "${2:-$(leak_filter)}" 2>/dev/null | head -n 5; }

# underlay_for SECONDS: c1's underlay captured for SECONDS, into CAPTURE_FILE, with c1's
# canary (capture_canary) in it. The length is the scenario's observation window, not a wait.
underlay_for() {
	capture_start "${MESH_NS[c1]}" e0 || return 1
	capture_canary "${MESH_NS[c1]}" e0
	sleep "$1"
	capture_stop
}

# The protected step and the control step of a scenario count with the same functions: a
# filter that matches nothing (a typo, an empty MAC) makes the control fail, not the protected
# step pass. Each protected step also needs the tunnel's WireGuard in the same capture, so
# "0 leaked" never comes from a capture that saw nothing.
#
# leak_check PROTECTED|CONTROL SECONDS FILTER: capture c1's underlay for SECONDS; count the
# leaks (leak_count) and the packets matching FILTER (what the scenario's attack would send
# in the clear: "ip and dst host I", ...). PROTECTED: both are 0 and the capture holds WireGuard
# to e (wg_count). CONTROL: both are above 0 (the protection off, the capture sees the leak).
leak_check() {
	local mode=$1 n leaked wg cands
	underlay_for "$2" || return 1
	# the WireGuard socket's handshakes to e's signed candidates are no plaintext to them
	cands=$(leak_e_cands) &&
		n=$(capture_count "$CAPTURE_FILE" "($3) and not (udp and src port $WG_PORT and ($cands))") ||
		return 1
	leaked=$(leak_count "$CAPTURE_FILE") || return 1
	wg=$(wg_count "$CAPTURE_FILE") || return 1
	echo "c1's underlay: $wg WireGuard to e, $n matching '$3', $leaked leaked"
	leak_show "$CAPTURE_FILE"
	case $mode in
	PROTECTED) c1_seen "$CAPTURE_FILE" && [ "$wg" -gt 0 ] && [ "$n" = 0 ] && [ "$leaked" = 0 ] ;;
	CONTROL) [ "$n" -gt 0 ] && [ "$leaked" -gt 0 ] ;;
	*) echo "leak_check: PROTECTED or CONTROL, not '$mode'" >&2; return 2 ;;
	esac
}

# leak_none_for SECONDS [WHAT [WG_MIN]]: a capture of c1's underlay for SECONDS has no leak,
# holds c1's canary, and at least WG_MIN (default 1) WireGuard packets to e: with the tunnel
# up or its peer dead, c1's traffic makes handshake attempts; 0 when c1's daemon is gone.
leak_none_for() {
	local n all wg
	underlay_for "$1" || return 1
	n=$(leak_count "$CAPTURE_FILE") || return 1
	all=$(capture_count "$CAPTURE_FILE") || return 1
	wg=$(wg_count "$CAPTURE_FILE") || return 1
	echo "${2:-capture}: $all packets on c1's underlay, $wg WireGuard to e, $n leaked"
	leak_show "$CAPTURE_FILE"
	c1_seen "$CAPTURE_FILE" && [ "$n" = 0 ] && [ "$wg" -ge "${3:-1}" ]
}

# leak_seen_for SECONDS: the opposite, for the checks that prove a capture would see a leak.
leak_seen_for() {
	local n
	underlay_for "$1" || return 1
	n=$(leak_count "$CAPTURE_FILE") || return 1
	echo "$n leaked packets on c1's underlay"
	leak_show "$CAPTURE_FILE"
	[ "$n" -gt 0 ]
}

ks_present() { nsx "${MESH_NS[c1]}" nft list table inet rustynet-killswitch >/dev/null 2>&1; }
ks_absent() { ! ks_present; }
# ks_json PYEXPR: PYEXPR of c1's status "killswitch" (as k), printed.
ks_json() { mesh_json c1 "j['killswitch']$1"; }
# ks_state ACTIVE BLOCKING: status says so (Python's True/False).
ks_state() { [ "$(ks_json "['active']") $(ks_json "['blocking']")" = "$1 $2" ]; }
