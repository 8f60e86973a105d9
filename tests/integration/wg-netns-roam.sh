#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_impl FUNC)
# wg-netns-roam: in the container pattern of wg-netns-basic, roaming and cryptokey routing as
# a reverse-path filter, as WireGuard's own netns.sh tests them.
#
#   ns A: IMPL for IF_B (udp 51821), IMPL for IF_C (udp 51822 -> 51832 -> 51842); lo 127.0.0.1,
#         ::1 and the extra 192.0.2.1, 192.0.2.2, 2001:db8::1, 2001:db8::2 (/32, /128)
#   ns B: IF_B 100.64.0.1/24 fd00:64::1/64  <== WireGuard ==>  ns C: IF_C 100.64.0.2/24 fd00:64::2/64
#   (tests/wgns-lib.sh draws it whole)
#
# Roaming, C's side moves and B's `wg show endpoints` (in A) follows C's next packet:
#   C's listen port 51822 -> 51832 (IPv4), C talks to B at 192.0.2.1 instead of 127.0.0.1, so
#   its packets come from there (a local address answers from itself), then at [2001:db8::1]
#   (IPv4 -> IPv6), its port -> 51842 (IPv6), then [2001:db8::2]; B -> C works after all that.
# Cryptokey routing as a reverse-path filter: B allows C 100.64.0.0/24 and fd00:64::/64; UDP
# from C to B's socket arrives (alive). B gets another peer with C's tunnel addresses as
# /32 and /128: C's datagrams still reach B's daemon (B's rx counter for C grows, so they were
# authenticated) but no longer B's socket, over IPv4 and IPv6. The peer removed, they arrive.
# Env: IMPL (wireguard-go or a path: one round with it), RUSTYNET_WG.
set -eu
TEST_TAG=nsroam
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/wgns-lib.sh
. "$(dirname "$0")/../wgns-lib.sh"
plan_impls 20
need_root
need_cmds wg wireguard-go ip ping socat timeout

SINK_PORT=1111

lo_addrs() {
	local a
	for a in 192.0.2.1/32 192.0.2.2/32 2001:db8::1/128 2001:db8::2/128; do
		addr_add "$NS_A" lo "$a" || return 1
	done
}

# c_moves WHAT...: C changes its side (`wg set IF_C WHAT...` in A), then pings B within 10 s.
c_moves() { nsx "$NS_A" wg set "$IF_C" "$@" && ping_until "$NS_C" "$WT4_B" 10; }
c_to_b_at() { c_moves peer "$PUB_b" endpoint "$1"; }

# b_sees ENDPOINT: B's endpoint for C, in `wg show` in A.
b_sees() { endpoint_is "$NS_A" "$IF_B" "$1"; }

# sink_start: socat in B appends every datagram to B's port SINK_PORT (IPv4 and IPv6) to SINK.
sink_start() {
	SINK="$T_DIR/sink.$T_ROUND"
	: >"$SINK"
	nsx "$NS_B" socat -u "UDP4-RECV:$SINK_PORT,bind=$WT4_B" - >>"$SINK" 2>/dev/null </dev/null &
	T_BG+=("$!")
	nsx "$NS_B" socat -u "UDP6-RECV:$SINK_PORT,bind=[$WT6_B]" - >>"$SINK" 2>/dev/null </dev/null &
	T_BG+=("$!")
	wait_for 5 eval "[ \"\$(nsx $NS_B ss -Hunl 'sport = :$SINK_PORT' | wc -l)\" = 2 ]"
}

# send_c DST WORD: one datagram "WORD" from C to DST:SINK_PORT.
send_c() { nsx "$NS_C" bash -c "echo $2 >/dev/udp/$1/$SINK_PORT"; }

# arrives DST WORD: C's datagram WORD reaches B's socket (within 5 s).
arrives() {
	send_c "$1" "$2" || return 1
	wait_for 5 grep -qx "$2" "$SINK" || { echo "sink holds: $(tr '\n' ' ' <"$SINK")"; return 1; }
}

# b_rx: B's received bytes from C (`wg show transfer`, in A).
b_rx() { wgq "$NS_A" "$IF_B" transfer | cut -f 1; }

# dropped DST WORD: C's datagram WORD reaches B's daemon (its rx from C grows) and not B's
# socket (nothing within a further second).
dropped() {
	local rx0
	rx0=$(b_rx) || return 1
	send_c "$1" "$2" || return 1
	wait_for 5 eval "[ \"\$(b_rx)\" -gt $rx0 ]" || { echo "B's rx from C stayed $rx0: not received at all"; return 1; }
	echo "B's rx from C: $rx0 -> $(b_rx) B"
	sleep 1
	if grep -qx "$2" "$SINK"; then echo "$2 reached B's socket"; return 1; fi
}

both_ways() { arrives "$WT4_B" "$1"4 && arrives "$WT6_B" "$1"6; }

round() {
	local impl=$1 L X
	L="nsroam [$(impl_name "$impl")]"
	if ! check_ok "$L: daemons started in A, interfaces moved to B and C, A's loopback addresses" \
		eval "wgns_setup $impl 4 && lo_addrs"; then
		skip_pair_rest "$L" "set-up failed"
		wgns_down "$L"
		return 0
	fi
	check "$L: ping B->C (first handshake) within 10 s" ping_until "$NS_B" "$WT4_C" 10

	check "$L: C's listen port -> 51832; ping C->B" c_moves listen-port 51832
	check "$L: B's endpoint for C follows: 127.0.0.1:51832" b_sees 127.0.0.1:51832
	check "$L: C talks to B at 192.0.2.1; ping C->B" c_to_b_at "192.0.2.1:$WPORT_B"
	check "$L: B's endpoint for C follows: 192.0.2.1:51832" b_sees 192.0.2.1:51832
	check "$L: C talks to B at [2001:db8::1]; ping C->B" c_to_b_at "[2001:db8::1]:$WPORT_B"
	check "$L: B's endpoint for C follows: [2001:db8::1]:51832" b_sees "[2001:db8::1]:51832"
	check "$L: C's listen port -> 51842; ping C->B" c_moves listen-port 51842
	check "$L: B's endpoint for C follows: [2001:db8::1]:51842" b_sees "[2001:db8::1]:51842"
	check "$L: C talks to B at [2001:db8::2]; ping C->B" c_to_b_at "[2001:db8::2]:$WPORT_B"
	check "$L: B's endpoint for C follows: [2001:db8::2]:51842" b_sees "[2001:db8::2]:51842"
	check "$L: ping B->C over IPv4 and IPv6 at C's new endpoint" \
		eval "ping_ok $NS_B $WT4_C && ping_ok $NS_B $WT6_C"

	check "$L: B allows C 100.64.0.0/24, fd00:64::/64; UDP from C reaches B's socket (v4, v6)" \
		eval "nsx $NS_A wg set $IF_B peer $PUB_c allowed-ips 100.64.0.0/24,fd00:64::/64 && sink_start && both_ways alive"
	X=$(wg genkey | wg pubkey)
	check "$L: B gets another peer for $WT4_C/32; C's UDP over IPv4 reaches B's daemon, not its socket" \
		eval "nsx $NS_A wg set $IF_B peer $X allowed-ips $WT4_C/32,$WT6_C/128 && dropped $WT4_B dropped4"
	check "$L: ... and over IPv6 ($WT6_C/128)" dropped "$WT6_B" dropped6
	check "$L: the other peer removed, C's UDP reaches B's socket again (v4, v6)" \
		eval "nsx $NS_A wg set $IF_B peer $X remove && both_ways again"
	check "$L: both daemons still run" wgns_alive
	wgns_down "$L"
}

for_each_impl round
t_done
