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
#                       WireGuard to E, nor rustynetd's control connection, nor ARP, neighbor
#                       discovery or link-local multicast: leaks
# seen_as ADDR          c1's tcp/443 to I arrives from ADDR (and the answer comes back)
# wg_count FILE         WireGuard packets c1 sent to E in a capture (proof the capture saw
#                       the tunnel at work)
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

# The pcap filter of a leak: sent by c1 (its MAC: the bridge shows other hosts' packets too).
leak_filter() {
	local mac
	mac=$(nsx "${MESH_NS[c1]}" cat /sys/class/net/e0/address)
	echo "ether src $mac and not arp and
	not (udp and (dst host $E_UL4 or dst host $E_UL6) and dst port $WG_PORT) and
	not (tcp and dst host $CTL_UL4 and dst port 8443) and
	not (icmp6 and ip6[40] >= 133 and ip6[40] <= 136) and
	not (ip6 and dst net ff02::/16)"
}
leak_count() { capture_count "$1" "$(leak_filter)"; }
wg_count() { capture_count "$1" "udp and dst host $E_UL4 and dst port $WG_PORT"; }

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
# leak_show FILE: the first leaked packets, for the log.
leak_show() { tcpdump -r "$1" -n "$(leak_filter)" 2>/dev/null | head -n 5; }

# underlay_for SECONDS: c1's underlay captured for SECONDS, into CAPTURE_FILE.
underlay_for() {
	capture_start "${MESH_NS[c1]}" e0 || return 1
	sleep "$1"
	capture_stop
}

# underlay_shows SECONDS FILTER: in SECONDS of c1's underlay some packets match FILTER (the
# control steps: without the protection the capture does see the traffic).
underlay_shows() {
	local n
	underlay_for "$1" || return 1
	n=$(capture_count "$CAPTURE_FILE" "$2")
	echo "packets matching '$2' on c1's underlay: $n"
	tcpdump -e -r "$CAPTURE_FILE" -n "$2" 2>/dev/null | head -n 2
	[ "$n" -gt 0 ]
}

# leak_none_for SECONDS [what]: a capture of c1's underlay for SECONDS has no leak.
leak_none_for() {
	local n all
	underlay_for "$1" || return 1
	n=$(leak_count "$CAPTURE_FILE")
	all=$(capture_count "$CAPTURE_FILE")
	echo "${2:-capture}: $all packets on c1's underlay, $n leaked"
	leak_show "$CAPTURE_FILE"
	[ "$n" = 0 ]
}

# leak_seen_for SECONDS: the opposite, for the checks that prove a capture would see a leak.
leak_seen_for() {
	local n
	underlay_for "$1" || return 1
	n=$(leak_count "$CAPTURE_FILE")
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
