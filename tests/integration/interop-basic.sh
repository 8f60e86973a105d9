#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_pair FUNC)
# interop-basic: a WireGuard tunnel between IMPL_A and IMPL_B works in both directions.
#
#   ns A                                          ns B
#   +-------------------------------+            +-------------------------------+
#   | IF_A  100.64.0.1/24           |            | IF_B  100.64.0.2/24           |
#   |       fd00:64::1/64  MTU 1420 |  WireGuard |       fd00:64::2/64  MTU 1420 |
#   |       IMPL_A, udp 51820       |<==========>|       IMPL_B, udp 51821       |
#   | va    198.51.100.1/24 --------+----veth----+------- vb 198.51.100.2/24      |
#   +-------------------------------+            +-------------------------------+
#
# Round 1: A sends first (A initiates the handshake), no preshared key.
# Round 2: fresh namespaces, keys and daemons; B sends first; a preshared key on both sides.
# Each round: who initiated (capture of type-1 messages), ping v4/v6 both ways, 1420-byte packets
# with DF, iperf3 TCP both ways (throughput > 0; transfer counters follow the direction),
# `wg show` handshake, `wg showconf` -> `wg setconf` / `wg syncconf` round-trips.
#
# Pairs: rustynet-wg ($RUSTYNET_WG) against wireguard-go both ways, or IMPL_A/IMPL_B.
# Env: IPERF_T (seconds, default 3).
set -eu
TEST_TAG=basic
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan_pairs 50
need_root
need_cmds wg wireguard-go ip ping iperf3 tcpdump python3 ss

IPERF_T=${IPERF_T:-3}

# initiated_by PCAP SRC OTHER: type-1 messages came from SRC, none from OTHER.
initiated_by() {
	local n_src n_other
	n_src=$(capture_count "$1" src host "$2" and udp[8] = 1) || return 1
	n_other=$(capture_count "$1" src host "$3" and udp[8] = 1) || return 1
	echo "handshake initiations: $n_src from $2, $n_other from $3"
	[ "$n_src" -ge 1 ] && [ "$n_other" = 0 ]
}

# iperf_gt0 NS_CLIENT NS_SERVER DST: TCP transfer client -> server; Gbit/s > 0 (kept in $T_DIR/gbps).
iperf_gt0() {
	local g
	g=$(iperf_run "$1" "$2" "$3" "$IPERF_T") || return 1
	echo "$g" >"$T_DIR/gbps"
	echo "received $g Gbit/s"
	awk -v g="$g" 'BEGIN {exit !(g > 0)}'
}

# xfer_dir "RX0 TX0" "RX1 TX1" (sender) "RX0 TX0" "RX1 TX1" (receiver): over a bulk transfer the
# sender mostly transmitted, the receiver mostly received, and the receiver did not receive more
# than the sender sent (both count whole WireGuard messages).
xfer_dir() {
	local sr st rr rt
	read -r sr st <<<"$(awk -v a="$1" -v b="$2" 'BEGIN {split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2]}')"
	read -r rr rt <<<"$(awk -v a="$3" -v b="$4" 'BEGIN {split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2]}')"
	echo "sender: +$st B sent, +$sr B received; receiver: +$rr B received, +$rt B sent"
	if [ "$st" -le 0 ] || [ "$rr" -le 0 ]; then echo "a counter did not move"; return 1; fi
	[ "$st" -gt $((5 * sr)) ] || { echo "sender tx not >> rx"; return 1; }
	[ "$rr" -gt $((5 * rt)) ] || { echo "receiver rx not >> tx"; return 1; }
	[ "$rr" -le $((st + 4096)) ] || { echo "receiver got more than the sender sent"; return 1; }
}

xfer() { wgq "$1" "$2" transfer | tr '\t' ' '; }

# showconf_roundtrip NS IFNAME: showconf -> setconf -> showconf gives the same text.
showconf_roundtrip() {
	local c1="$T_DIR/$2.showconf1" c2="$T_DIR/$2.showconf2"
	nsx "$1" wg showconf "$2" >"$c1" || return 1
	grep -q '^\[Peer\]' "$c1" || { echo "no [Peer] in showconf:"; cat "$c1"; return 1; }
	nsx "$1" wg setconf "$2" "$c1" || return 1
	nsx "$1" wg showconf "$2" >"$c2" || return 1
	diff -u "$c1" "$c2"
}

# syncconf_check NS IFNAME: syncconf with the current config changes nothing; an extra peer added
# with `wg set` is removed by syncconf with the saved config.
syncconf_check() {
	local c1="$T_DIR/$2.sync1" c2="$T_DIR/$2.sync2" c3="$T_DIR/$2.sync3"
	nsx "$1" wg showconf "$2" >"$c1" || return 1
	nsx "$1" wg syncconf "$2" "$c1" || return 1
	nsx "$1" wg showconf "$2" >"$c2" || return 1
	diff -u "$c1" "$c2" || return 1
	wg_keypair extra || return 1
	# shellcheck disable=SC2154 # PUB_extra is set by wg_keypair
	nsx "$1" wg set "$2" peer "$PUB_extra" allowed-ips 100.64.0.99/32 || return 1
	nsx "$1" wg show "$2" peers | grep -qxF "$PUB_extra" || { echo "extra peer not added"; return 1; }
	nsx "$1" wg syncconf "$2" "$c1" || return 1
	nsx "$1" wg showconf "$2" >"$c3" || return 1
	if nsx "$1" wg show "$2" peers | grep -qxF "$PUB_extra"; then echo "syncconf kept the extra peer"; return 1; fi
	diff -u "$c1" "$c3"
}

# psk_shown NS IFNAME PSK_FILE: `wg show preshared-keys` and showconf report the key.
psk_shown() {
	local k
	k=$(cat "$3")
	[ "$(wgq "$1" "$2" preshared-keys)" = "$k" ] || { echo "wg show preshared-keys: $(wgq "$1" "$2" preshared-keys)"; return 1; }
	nsx "$1" wg showconf "$2" | grep -qxF "PresharedKey = $k"
}

# round IMPL_A IMPL_B INITIATOR(A|B) [psk]
round() {
	local ia=$1 ib=$2 who=$3 usepsk=${4:-} L psk="" x0s x0r x1s x1r
	L="basic [$(pair_label "$ia" "$ib"), $who initiates${usepsk:+, preshared key}]"
	if [ -n "$usepsk" ]; then
		wg_psk ab
		# shellcheck disable=SC2154 # set by wg_psk
		psk=$PSK_ab
	fi
	if ! check_ok "$L: set up namespaces, daemons and peers" pair_setup "$ia" "$ib" "$psk"; then
		pair_down "$L"
		return 0
	fi
	local ins=$NS_A rns=$NS_B iu=$U4_A ru=$U4_B rt4=$T4_B it4=$T4_A it6=$T6_A other=B
	if [ "$who" = B ]; then
		ins=$NS_B rns=$NS_A iu=$U4_B ru=$U4_A rt4=$T4_A it4=$T4_B it6=$T6_B other=A
	fi

	capture_start "$NS_A" va udp and udp[8] = 1
	check "$L: first ping v4 $who->$other completes a handshake" ping_ok "$ins" "$rt4"
	capture_stop
	check "$L: the handshake was initiated by $who only" initiated_by "$CAPTURE_FILE" "$iu" "$ru"
	check "$L: ping v4 $other->$who" ping_ok "$rns" "$it4"
	check "$L: ping v6 A->B" ping_ok "$NS_A" "$T6_B"
	check "$L: ping v6 B->A" ping_ok "$NS_B" "$T6_A"
	check "$L: ping v4 A->B, 1392 B payload with DF (1420-byte packets, MTU 1420)" ping_ok "$NS_A" "$T4_B" -s 1392 -M "do"
	check "$L: ping v4 B->A, 1392 B payload with DF" ping_ok "$NS_B" "$T4_A" -s 1392 -M "do"
	check "$L: ping v6 A->B, 1372 B payload (1420-byte packets)" ping_ok "$NS_A" "$T6_B" -s 1372 -M "do"

	x0s=$(xfer "$NS_A" "$IF_A")
	x0r=$(xfer "$NS_B" "$IF_B")
	if check_ok "$L: iperf3 TCP A->B ${IPERF_T}s moves data" iperf_gt0 "$NS_A" "$NS_B" "$T4_B"; then
		note "A->B $(cat "$T_DIR/gbps") Gbit/s"
	fi
	x1s=$(xfer "$NS_A" "$IF_A")
	x1r=$(xfer "$NS_B" "$IF_B")
	check "$L: wg show transfer follows A->B (A tx, B rx)" xfer_dir "$x0s" "$x1s" "$x0r" "$x1r"

	x0s=$(xfer "$NS_B" "$IF_B")
	x0r=$(xfer "$NS_A" "$IF_A")
	if check_ok "$L: iperf3 TCP B->A ${IPERF_T}s moves data" iperf_gt0 "$NS_B" "$NS_A" "$T4_A"; then
		note "B->A $(cat "$T_DIR/gbps") Gbit/s"
	fi
	x1s=$(xfer "$NS_B" "$IF_B")
	x1r=$(xfer "$NS_A" "$IF_A")
	check "$L: wg show transfer follows B->A (B tx, A rx)" xfer_dir "$x0s" "$x1s" "$x0r" "$x1r"

	check "$L: wg show on A reports a recent handshake" has_handshake "$NS_A" "$IF_A"
	check "$L: wg show on B reports a recent handshake" has_handshake "$NS_B" "$IF_B"
	if [ -n "$psk" ]; then
		check "$L: wg show/showconf on A report the preshared key" psk_shown "$NS_A" "$IF_A" "$psk"
		check "$L: wg show/showconf on B report the preshared key" psk_shown "$NS_B" "$IF_B" "$psk"
	fi
	check "$L: wg showconf | wg setconf round-trips on A" showconf_roundtrip "$NS_A" "$IF_A"
	check "$L: wg showconf | wg setconf round-trips on B" showconf_roundtrip "$NS_B" "$IF_B"
	check "$L: wg syncconf keeps the config on A and drops a peer not in the file" syncconf_check "$NS_A" "$IF_A"
	check "$L: wg syncconf keeps the config on B and drops a peer not in the file" syncconf_check "$NS_B" "$IF_B"
	check "$L: ping v4 $who->$other after setconf/syncconf" ping_ok "$ins" "$rt4"
	check "$L: ping v6 $other->$who after setconf/syncconf" ping_ok "$rns" "$it6"
	check "$L: both daemons still running" both_alive
	pair_down "$L"
}

scenario() {
	round "$1" "$2" A
	round "$1" "$2" B psk
}

for_each_pair scenario
t_done
