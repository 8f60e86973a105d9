#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_impl FUNC)
# wg-netns-basic: WireGuard's container pattern (wireguard.com/netns). Both daemons start in
# namespace A, their interfaces are moved to B and C (`ip link set IF netns NS`) and the
# tunnel B<->C runs over A's loopback (127.0.0.1), where the UDP and UAPI sockets stay.
#
#   ns A: IMPL for IF_B (udp 51821), IMPL for IF_C (udp 51822), lo 127.0.0.1
#   ns B: IF_B 100.64.0.1/24 fd00:64::1/64  <== WireGuard ==>  ns C: IF_C 100.64.0.2/24 fd00:64::2/64
#   (tests/wgns-lib.sh draws it whole)
#
# Each round (rustynet-wg at both ends, then wireguard-go at both ends to show the script
# right): the daemons make their interfaces with MTU 1420 (wireguard-go's default; rustynet-wg
# left the kernel's 1500 for a TUN); after the move both daemons run in A and `wg show` there
# answers; the interfaces are in B and C and nowhere in A; the UDP ports are bound in A only;
# `wg set` from A takes effect; pings both ways; ping -f both ways over IPv4 and IPv6; iperf3
# TCP and UDP (-b 0) both ways at once (--bidir) over IPv4 and IPv6, each followed by the
# interface counters' check (tolerance in tests/wgns-lib.sh: counters_ok); down, rename, up
# and an MTU change in B keep the daemon; deleting the interface in B (and only that) ends its
# daemon, with status 0 and its UAPI socket removed, while the other one runs on. Failed
# before rustynet-wg asked the TUN fd: it took the move for a deletion and exited.
#
# Sizes: rustynet-wg's iperf3 runs move the issue's 1 GB each way (RN_ARGS=-n1G; both ways at
# once, so 2 GB a run); wireguard-go's, the control round, are time-bounded (-t 1: Debian's
# does about 0.5 Gbit/s on a quiet machine, and 1 GB each would take the suite a minute more).
# TCP_ARGS and UDP_ARGS set wireguard-go's.
# Env: IMPL (wireguard-go or a path: one round with it), RUSTYNET_WG.
set -eu
TEST_TAG=nsbasic
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/wgns-lib.sh
. "$(dirname "$0")/../wgns-lib.sh"
plan_impls 27
need_root
need_cmds wg wireguard-go ip ping iperf3 python3 ss timeout

RN_ARGS=${RN_ARGS:--n1G}
TCP_ARGS=${TCP_ARGS:--t1}
UDP_ARGS=${UDP_ARGS:--t1}

# moved_ok IFNAME NS: IFNAME is in NS and not in A any more.
moved_ok() {
	ip -n "$2" link show "$1" || return 1
	if ip -n "$NS_A" link show "$1" 2>/dev/null; then echo "$1 is still in A"; return 1; fi
}

# udp_in NS PORT: a UDP socket is bound to PORT in NS.
udp_in() { [ -n "$(nsx "$1" ss -Hunl "sport = :$2")" ]; }

# sockets_in_a: both UDP ports are bound in A, neither in B nor C.
sockets_in_a() {
	local p ns
	for p in "$WPORT_B" "$WPORT_C"; do
		udp_in "$NS_A" "$p" || { echo "nothing bound to udp $p in A"; return 1; }
		for ns in "$NS_B" "$NS_C"; do
			if udp_in "$ns" "$p"; then echo "udp $p is bound in $ns"; return 1; fi
		done
	done
	echo "udp $WPORT_B and $WPORT_C in A only"
}

# show_from_a: `wg show` in A gives the ports and endpoints set there.
show_from_a() {
	[ "$(nsx "$NS_A" wg show "$IF_B" listen-port)" = "$WPORT_B" ] &&
		[ "$(nsx "$NS_A" wg show "$IF_C" listen-port)" = "$WPORT_C" ] &&
		endpoint_is "$NS_A" "$IF_B" "127.0.0.1:$WPORT_C" &&
		endpoint_is "$NS_A" "$IF_C" "127.0.0.1:$WPORT_B"
}

# set_from_a: a keepalive set with `wg set` in A shows up in `wg show`, and goes again.
set_from_a() {
	nsx "$NS_A" wg set "$IF_B" peer "$PUB_c" persistent-keepalive 25 || return 1
	[ "$(wgq "$NS_A" "$IF_B" persistent-keepalive)" = 25 ] || { echo "keepalive not 25"; return 1; }
	nsx "$NS_A" wg set "$IF_B" peer "$PUB_c" persistent-keepalive 0 || return 1
	[ "$(wgq "$NS_A" "$IF_B" persistent-keepalive)" = off ] || { echo "keepalive not off"; return 1; }
}

# relink: in B, IF_B goes down, is renamed, comes up with another MTU, gets its name, MTU and
# IPv6 address back (a link going down loses its IPv6 addresses); both daemons run on.
relink() {
	local n="${IF_B}x"
	ip -n "$NS_B" link set "$IF_B" down && ip -n "$NS_B" link set "$IF_B" name "$n" &&
		ip -n "$NS_B" link set "$n" up mtu 1380 && sleep 1.2 && wgns_alive || return 1
	ip -n "$NS_B" link set "$n" down && ip -n "$NS_B" link set "$n" name "$IF_B" &&
		ip -n "$NS_B" link set "$IF_B" up mtu 1420 &&
		ip -n "$NS_B" addr replace "$WT6_B/64" dev "$IF_B" nodad && sleep 1.2 && wgns_alive
}

ping_both() { ping_ok "$NS_B" "$WT4_C" && ping_ok "$NS_C" "$WT6_B"; }

# del_ends IFNAME NS OTHER: deleting IFNAME in NS ends its daemon within 5 s with status 0 and
# its UAPI socket gone; OTHER's daemon runs on (if given).
del_ends() {
	local pid=${WG_PID[$1]} rc=0
	kill -0 "$pid" || { echo "daemon of $1 had already stopped"; return 1; }
	ip -n "$2" link del "$1" || return 1
	wait_for 5 eval "! kill -0 $pid 2>/dev/null" || { echo "daemon of $1 still runs"; return 1; }
	wait "$pid" || rc=$?
	unset "WG_PID[$1]"
	echo "daemon of $1 exited with status $rc"
	[ "$rc" = 0 ] || return 1
	if [ -e "$UAPI_DIR/$1.sock" ]; then echo "$UAPI_DIR/$1.sock left behind"; return 1; fi
	[ -z "${3:-}" ] || wg_alive "$3"
}

round() {
	local impl=$1 L tcp=$TCP_ARGS udp=$UDP_ARGS
	L="nsbasic [$(impl_name "$impl")]"
	is_wggo "$impl" || tcp=$RN_ARGS udp=$RN_ARGS
	if ! check_ok "$L: daemons started in A, interfaces moved to B and C, configured from A" \
		wgns_setup "$impl" 4; then
		skip_pair_rest "$L" "set-up failed"
		wgns_down "$L"
		return 0
	fi
	check "$L: the daemons made their interfaces with MTU 1420 (wireguard-go's default)" \
		eval "echo \"MTUs: $WGNS_MTU0\"; [ \"$WGNS_MTU0\" = '1420 1420' ]"
	check "$L: the interfaces are in B and C, not in A" eval "moved_ok $IF_B $NS_B && moved_ok $IF_C $NS_C"
	check "$L: both daemons run on in A and answer wg show there" wgns_alive
	check "$L: the UDP sockets stay in A" sockets_in_a
	check "$L: wg show from A gives the ports and endpoints" show_from_a
	check "$L: ping B->C IPv4 (first handshake) within 10 s" ping_until "$NS_B" "$WT4_C" 10
	check "$L: ping C->B IPv6" ping_ok "$NS_C" "$WT6_B"
	check "$L: wg set from A takes effect (persistent keepalive on and off)" set_from_a
	wgns_traffic "$L" "$tcp" "$udp"
	check "$L: down, rename, up and MTU changes in B keep both daemons" relink
	check "$L: ping B->C IPv4 and C->B IPv6 after them" ping_both
	check "$L: deleting $IF_B in B ends its daemon (status 0, UAPI socket gone); $IF_C's runs on" \
		del_ends "$IF_B" "$NS_B" "$IF_C"
	check "$L: deleting $IF_C in C ends its daemon" del_ends "$IF_C" "$NS_C"
	wgns_down "$L"
}

for_each_impl round
t_done
