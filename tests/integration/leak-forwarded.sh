#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# leak-forwarded: a "container" behind the client (a namespace with c1 as its default gateway,
# c1 forwarding, as a Docker bridge or a VM's NAT network would be) while c1 uses an exit.
#
#   ct (the container) 10.99.0.2/24 fd99::2/64, default via c1
#      |  ct0 ---- ct1: 10.99.0.1/24 fd99::1/64 on c1 (ip_forward on) [capture on ct1]
#   c1 (alice, exit e selected)  e (exit)   ctl      isp .254 --- inet I 203.0.113.10
#      .10 [capture on e0]        .11        .1        |            2001:db8:113::10
#   ------------------------- br0 198.51.100.0/24 -----+
#                                 e: up0 192.0.2.1 --- isp (e's uplink, masqueraded)
#
# Policy routing applies to forwarded packets too, so the container's internet traffic goes to
# table 5150, into the tunnel; the kill switch masquerades what is forwarded into the tunnel to
# c1's mesh address (the exit admits only that source), so the container reaches I through the
# exit: I sees e's uplink 192.0.2.1. A capture of c1's underlay then has WireGuard to e and
# nothing from the container in plaintext. When the tunnel fails (c1's TUN deleted: the routes
# into it go, main's default route would take the container's traffic), the kill switch's
# forward chain drops it: a capture on ct1 shows the container still sending, the capture of
# c1's underlay no leak. Control: the kill switch table deleted by hand, the same forwarded
# traffic leaves by e0 in plaintext.
set -eu
TEST_TAG=leakfwd
# shellcheck source=tests/leak-lib.sh
. "$(dirname "$0")/../leak-lib.sh"
plan 11
leak_preamble
leak_setup_or_end
C1=${MESH_NS[c1]}
CT_ADDR=10.99.0.2
container() {
	exit_host ct &&
		veth_add "${EXIT_NS[ct]}" ct0 "$C1" ct1 &&
		addr_add "${EXIT_NS[ct]}" ct0 "$CT_ADDR/24" &&
		addr_add "${EXIT_NS[ct]}" ct0 fd99::2/64 &&
		addr_add "$C1" ct1 10.99.0.1/24 &&
		addr_add "$C1" ct1 fd99::1/64 &&
		ip -n "${EXIT_NS[ct]}" route add default via 10.99.0.1 &&
		ip -n "${EXIT_NS[ct]}" -6 route add default via fd99::1 &&
		nsx "$C1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 &&
		wait_for 10 nsx "${EXIT_NS[ct]}" ping -n -c 1 -W 1 10.99.0.1 &&
		wait_for 10 nsx "${EXIT_NS[ct]}" ping -n -c 1 -W 1 fd99::1
}
check "a container namespace routed through c1 (ip_forward on)" container
ct_seen_as() { [ "$(tcp_get "${EXIT_NS[ct]}" "$I_ADDR" 443)" = "from $1" ]; }
check "the container's tcp/443 to $I_ADDR reaches I through the exit: I sees $E_UPLINK" \
	wait_for 10 ct_seen_as "$E_UPLINK"
check "the container's ping6 to $I6_ADDR is answered (through the exit)" \
	wait_for 10 nsx "${EXIT_NS[ct]}" ping -n -c 1 -W 1 "$I6_ADDR"

# The container keeps trying to reach I by every path a leak could take.
leak_traffic_start "${EXIT_NS[ct]}"

# both_captures SECONDS: c1's ct1 (what the container sends) and e0 (what leaves) at once;
# sets CT_CAP and UL_CAP.
both_captures() {
	capture_start "$C1" ct1 || return 1
	CT_CAP=$CAPTURE_FILE
	capture_start "$C1" e0 || return 1
	UL_CAP=$CAPTURE_FILE
	capture_canary "$C1" e0
	sleep "$1"
	capture_stop "$CT_CAP"
	capture_stop "$UL_CAP"
}
# fwd_counts SECONDS: both captures; SENT (the container's packets to I on ct1), CLEAR (the
# container's or I's packets on c1's underlay), LEAKED (leak_count), WG (WireGuard to e). The
# protected steps and the control count with this one function.
fwd_counts() {
	both_captures "$1" || return 1
	SENT=$(capture_count "$CT_CAP" "src host $CT_ADDR and dst host $I_ADDR") &&
		CLEAR=$(capture_count "$UL_CAP" "host $CT_ADDR or host $I_ADDR or host $I6_ADDR or net fd99::/64") &&
		LEAKED=$(leak_count "$UL_CAP") && WG=$(wg_count "$UL_CAP") || return 1
	echo "container sent $SENT packets to $I_ADDR; c1's underlay: $WG WireGuard to e, $CLEAR of the container's or to I, $LEAKED leaked"
	leak_show "$UL_CAP"
	c1_seen "$UL_CAP"
}
# no_forwarded_leak SECONDS WG_MIN: the container sent to I, nothing of it left by e0 in the
# clear, no other leak; at least WG_MIN WireGuard packets to e.
no_forwarded_leak() {
	fwd_counts "$1" && [ "$SENT" -gt 0 ] && [ "$CLEAR" = 0 ] && [ "$LEAKED" = 0 ] && [ "$WG" -ge "$2" ]
}
forwarded_in_clear() { fwd_counts "$1" && [ "$SENT" -gt 0 ] && [ "$CLEAR" -gt 0 ] && [ "$LEAKED" -gt 0 ]; }

check "exit working, 4 s: the container sends, c1's underlay has WireGuard to e and no leak" \
	no_forwarded_leak 4 1

# The tunnel fails: c1's TUN deleted, the routes into it go with it.
ip -n "$C1" link del "${MESH_IF[c1]}"
check "TUN deleted: c1's rustynetd stops" wait_for 5 sh -c "! kill -0 ${MESH_PID[c1]} 2>/dev/null"
note "ip route get $I_ADDR from $CT_ADDR iif ct1 on c1: $(ip -n "$C1" route get "$I_ADDR" from "$CT_ADDR" iif ct1 2>&1 | head -n 1)"
check "TUN deleted: routing would now forward the container's traffic by e0" \
	sh -c "ip -n '$C1' route get $I_ADDR from $CT_ADDR iif ct1 | grep -q 'dev e0'"
check "TUN deleted, 4 s: the container still sends, nothing of it leaves c1's underlay" \
	no_forwarded_leak 4 0
check "TUN deleted: the kill switch is still there" ks_present

nsx "$C1" nft delete table inet rustynet-killswitch
check "control: without the kill switch the container's traffic leaves by e0 in plaintext" \
	forwarded_in_clear 3
leak_traffic_stop
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
