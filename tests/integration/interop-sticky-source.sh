#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_pair FUNC)
# interop-sticky-source: a host with two addresses on its underlay answers from the one the peer
# talks to (the kernel driver's endpoint source cache), and falls back to routing's choice when
# that address goes away.
#
#   ns M (multi-homed, rustynet-wg)              ns O (wireguard-go)
#   +--------------------------------+           +-------------------------------+
#   | IF_M  100.64.0.M/24            | WireGuard | IF_O  100.64.0.O/24           |
#   | vM    198.51.100.M/24 (primary)|<=========>|                               |
#   |       198.51.100.3/24 (second) +---veth----+------ vO 198.51.100.O/24      |
#   +--------------------------------+           +-------------------------------+
#   (M, O = 1, 2: A and B of tests/lib.sh's two-node topology)
#
# M is the rustynet-wg side of each pair (A when both run wireguard-go, to validate the
# harness: wireguard-go's Linux bind is sticky too). M has O as a peer without an endpoint;
# O has M at 198.51.100.3. O pings through the tunnel, so M learns O's endpoint from the
# initiation. Routing alone would send M's replies from the primary address (the prefsrc of
# the connected route), and wireguard-go would then roam to it and carry on, so the checks
# are on the capture of M's veth:
#   phase 1: M's handshake response and transport data leave from .3, none from the primary;
#            O's endpoint for M stays .3; both sides report the handshake.
#   phase 2: .3 is deleted while the session lives; M pings O: M's sends with the stale source
#            are refused by the kernel, M forgets it and sends from the primary at once (within
#            10 s), O roams there, the ping gets through, and the capture shows M's packets
#            from the primary.
#   phase 3: the same over IPv6 (2001:db8:5::/64): O moves its endpoint for M to ::1 while M
#            also has ::3, which source selection prefers (checked); M's packets leave from ::1.
#   phase 4: phase 2 over IPv6: ::1 is deleted; M's packets move to ::3 and O roams there.
set -eu
TEST_TAG=sticky
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan_pairs 33
need_root
need_cmds wg wireguard-go ip ping tcpdump python3

U4_SECOND=198.51.100.3
U6_M_PREF=2001:db8:5::3 # added last: what source selection picks (checked)
U6_SECOND=2001:db8:5::1
U6_O=2001:db8:5::2

# endpoint_is NS IFNAME ENDPOINT: the first peer's endpoint, as `wg show endpoints` prints it.
endpoint_is() {
	local e
	e=$(wgq "$1" "$2" endpoints) || return 1
	echo "endpoint: $e (want $3)"
	[ "$e" = "$3" ]
}

# from_log PCAP PORT: one line per UDP packet sent from port PORT: "SRC TYPE".
from_log() {
	py_wg udp "$1" | awk -v p="$2" '$3 == p { print $2, substr($7, 1, 2) + 0 }'
}

# sent_ge LOG SRC TYPE MIN: LOG (from_log) has at least MIN messages of TYPE (any: "") from SRC.
sent_ge() {
	local n
	n=$(awk -v s="$2" -v t="$3" '$1 == s && (t == "" || $2 == t) {n++} END {print n + 0}' "$1")
	echo "$n message(s)${3:+ of type $3} from $2 (want >= $4); all sent: $(sort "$1" | uniq -c | tr -s ' \n' ' ')"
	[ "$n" -ge "$4" ]
}

# sent_none LOG SRC: LOG has no message from SRC.
sent_none() {
	local n
	n=$(awk -v s="$2" '$1 == s {n++} END {print n + 0}' "$1")
	echo "$n message(s) from $2 (want 0); all sent: $(sort "$1" | uniq -c | tr -s ' \n' ' ')"
	[ "$n" -eq 0 ]
}

setup_pair() { pair_netns && pair_wg "$1" "$2"; }

# v6_underlay MNS MVETH ONS OVETH: the IPv6 addresses of phase 3.
v6_underlay() {
	addr_add "$1" "$2" "$U6_SECOND/64" && addr_add "$1" "$2" "$U6_M_PREF/64" &&
		addr_add "$3" "$4" "$U6_O/64"
}

# default_src NS DST SRC: the kernel's own choice of source for DST is SRC (the premise: without
# a sticky source, replies would leave from SRC).
default_src() {
	local r
	r=$(nsx "$1" ip route get "$2" | head -n 1) || return 1
	echo "$r (want src $3)"
	[[ " $r " == *" src $3 "* ]]
}

# set_peers MNS MIF OPUB OT4 ONS OIF MPUB MT4 ENDPOINT: M gets O without an endpoint, O gets M
# at ENDPOINT.
set_peers() {
	nsx "$1" wg set "$2" peer "$3" allowed-ips "$4/32" &&
		nsx "$5" wg set "$6" peer "$7" allowed-ips "$8/32" endpoint "$9"
}

scenario() {
	local ia=$1 ib=$2 L M mns ons mif oif mveth mu ou mport mt4 ot4 mpub opub gone_t cap log
	M=A
	if is_wggo "$ia" && ! is_wggo "$ib"; then M=B; fi
	# As the kernel does, rustynet-wg retries a refused source at once. wireguard-go (harness
	# check only) drops the source only when it retries a handshake, 15-20 s later.
	gone_t=10
	if is_wggo "$([ "$M" = A ] && echo "$ia" || echo "$ib")"; then gone_t=40; fi
	L="sticky [$(pair_label "$ia" "$ib"), $M multi-homed]"
	if ! check_ok "$L: set up namespaces and daemons" setup_pair "$ia" "$ib"; then
		pair_down "$L"
		return 0
	fi
	if [ "$M" = A ]; then
		mns=$NS_A mif=$IF_A mveth=va mu=$U4_A mport=$PORT_A mt4=$T4_A
		ons=$NS_B oif=$IF_B ot4=$T4_B ou=$U4_B
		mpub=$PUB_a opub=$PUB_b
	else
		mns=$NS_B mif=$IF_B mveth=vb mu=$U4_B mport=$PORT_B mt4=$T4_B
		ons=$NS_A oif=$IF_A ot4=$T4_A ou=$U4_A
		mpub=$PUB_b opub=$PUB_a
	fi
	check "$L: second address $U4_SECOND on M's underlay" addr_add "$mns" "$mveth" "$U4_SECOND/24"
	check "$L: peers (M without an endpoint, O to $U4_SECOND)" set_peers "$mns" "$mif" "$opub" \
		"$ot4" "$ons" "$oif" "$mpub" "$mt4" "$U4_SECOND:$mport"
	check "$L: premise: routing alone answers O from $mu" default_src "$mns" "$ou" "$mu"

	# Phase 1: O initiates to the second address.
	capture_start "$mns" "$mveth" udp port "$mport"
	cap=$CAPTURE_FILE
	check "$L: ping O->M through the tunnel within 15 s" ping_until "$ons" "$mt4" 15
	check "$L: ping M->O through the tunnel" ping_ok "$mns" "$ot4"
	capture_stop "$cap"
	log="$T_DIR/sticky-1.txt"
	from_log "$cap" "$mport" >"$log"
	check "$L: M's handshake response left from $U4_SECOND" sent_ge "$log" "$U4_SECOND" 2 1
	check "$L: M's transport data left from $U4_SECOND" sent_ge "$log" "$U4_SECOND" 4 3
	check "$L: nothing of M's left from its primary $mu" sent_none "$log" "$mu"
	check "$L: O's endpoint for M is still $U4_SECOND:$mport" endpoint_is "$ons" "$oif" "$U4_SECOND:$mport"
	check "$L: wg show on M reports a handshake" has_handshake "$mns" "$mif"
	check "$L: wg show on O reports a handshake" has_handshake "$ons" "$oif"

	# Phase 2: the second address goes away under the session.
	capture_start "$mns" "$mveth" udp port "$mport"
	cap=$CAPTURE_FILE
	check "$L: delete $U4_SECOND from M" ip -n "$mns" addr del "$U4_SECOND/24" dev "$mveth"
	check "$L: ping M->O gets through within ${gone_t} s without the old source" ping_until "$mns" "$ot4" "$gone_t"
	check "$L: ping O->M works again (O roamed to M's primary)" ping_ok "$ons" "$mt4"
	capture_stop "$cap"
	log="$T_DIR/sticky-2.txt"
	from_log "$cap" "$mport" >"$log"
	check "$L: M's packets now leave from its primary $mu" sent_ge "$log" "$mu" "" 2
	check "$L: O's endpoint for M is now $mu:$mport" endpoint_is "$ons" "$oif" "$mu:$mport"

	# Phase 3: an IPv6 underlay (IPV6_PKTINFO). Source selection alone would take $U6_M_PREF;
	# O talks to $U6_SECOND.
	check "$L: IPv6 underlay: M $U6_M_PREF and $U6_SECOND, O $U6_O" v6_underlay "$mns" "$mveth" \
		"$ons" "$([ "$M" = A ] && echo vb || echo va)"
	check "$L: premise: source selection alone answers O from $U6_M_PREF" default_src "$mns" \
		"$U6_O" "$U6_M_PREF"
	capture_start "$mns" "$mveth" udp port "$mport"
	cap=$CAPTURE_FILE
	check "$L: O's endpoint for M set to [$U6_SECOND]:$mport" \
		nsx "$ons" wg set "$oif" peer "$mpub" endpoint "[$U6_SECOND]:$mport"
	check "$L: ping O->M over the IPv6 underlay" ping_until "$ons" "$mt4" 10
	check "$L: ping M->O over the IPv6 underlay" ping_ok "$mns" "$ot4"
	capture_stop "$cap"
	log="$T_DIR/sticky-3.txt"
	from_log "$cap" "$mport" >"$log"
	check "$L: M's packets left from $U6_SECOND" sent_ge "$log" "$U6_SECOND" 4 3
	check "$L: nothing of M's left from $U6_M_PREF" sent_none "$log" "$U6_M_PREF"
	check "$L: O's endpoint for M is still [$U6_SECOND]:$mport" endpoint_is "$ons" "$oif" \
		"[$U6_SECOND]:$mport"

	# Phase 4: phase 2 over IPv6: $U6_SECOND goes away; M's replies move to $U6_M_PREF.
	capture_start "$mns" "$mveth" udp port "$mport"
	cap=$CAPTURE_FILE
	check "$L: delete $U6_SECOND from M" ip -n "$mns" addr del "$U6_SECOND/64" dev "$mveth"
	check "$L: ping M->O gets through within ${gone_t} s without the old IPv6 source" ping_until "$mns" "$ot4" "$gone_t"
	check "$L: ping O->M works again (O roamed to $U6_M_PREF)" ping_ok "$ons" "$mt4"
	capture_stop "$cap"
	log="$T_DIR/sticky-4.txt"
	from_log "$cap" "$mport" >"$log"
	check "$L: M's packets now leave from $U6_M_PREF" sent_ge "$log" "$U6_M_PREF" "" 2
	check "$L: O's endpoint for M is now [$U6_M_PREF]:$mport" endpoint_is "$ons" "$oif" "[$U6_M_PREF]:$mport"
	check "$L: both daemons still running" both_alive
	pair_down "$L"
}

for_each_pair scenario
t_done
