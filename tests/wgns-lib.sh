# shellcheck shell=bash disable=SC2317 # functions run indirectly (check DESC FUNC...)
# SPDX-License-Identifier: MIT
# tests/wgns-lib.sh: WireGuard's container pattern (wireguard.com/netns) for the wg-netns-*
# scripts, on top of tests/lib.sh (source that first). The daemons run in namespace A, where
# their interfaces are created and their UDP and UAPI sockets stay; the interfaces are then
# moved into B and C, which talk through the tunnel over A's loopback:
#
#   ns A ($NS_A): IMPL for $IF_B (udp 51821) and IMPL for $IF_C (udp 51822); lo 127.0.0.1, ::1
#   +-------------------------------------------------------------------------------------+
#   |   [$IF_B daemon] <------- UDP over lo (127.0.0.1 or [::1]) -------> [$IF_C daemon]  |
#   +--------|--------------------------------------------------------------------|-------+
#            | ip link set $IF_B netns $NS_B                ip link set $IF_C netns $NS_C |
#   ns B ($NS_B)                                        ns C ($NS_C)
#   +-------------------------------+  WireGuard       +-------------------------------+
#   | $IF_B 100.64.0.1/24           |<================>| $IF_C 100.64.0.2/24           |
#   |       fd00:64::1/64  MTU 1420 |                  |       fd00:64::2/64  MTU 1420 |
#   +-------------------------------+                  +-------------------------------+
#
# Rounds are per implementation, the same one at both ends: rustynet-wg ($RUSTYNET_WG), then
# wireguard-go, which shows the script right (IMPL=wireguard-go or IMPL=PATH runs one round).
#
#   plan_impls PER [EXTRA]   plan PER checks a round (+ EXTRA)
#   for_each_impl FUNC       FUNC IMPL for each round (skip lines when rustynet-wg is missing)
#   wgns_setup IMPL OUTER    namespaces, daemons, move, addresses, peers (OUTER 4: 127.0.0.1,
#                            6: [::1] endpoints); sets NS_A NS_B NS_C IF_B IF_C PUB_b PUB_c,
#                            and WGNS_MTU0, the interfaces' MTUs as the daemons made them
#   wgns_down LABEL          stop what is left of the daemons (log checks: 2 lines), delete ns

WT4_B=100.64.0.1
WT4_C=100.64.0.2
WT6_B=fd00:64::1
WT6_C=fd00:64::2
WPORT_B=51821
WPORT_C=51822

N_IMPLS=2
[ -z "${IMPL:-}" ] || N_IMPLS=1

plan_impls() { plan_pairs "$1" "${2:-0}" "$N_IMPLS"; }

# for_each_impl FUNC: FUNC IMPL for rustynet-wg then wireguard-go, or for $IMPL alone.
for_each_impl() {
	local f=$1 impls=() i
	if [ -n "${IMPL:-}" ]; then
		impls=("$IMPL")
	elif rn_available; then
		impls=("$RUSTYNET_WG" wireguard-go)
	else
		skip_n "${T_PAIR_PLAN:-1}" "$TEST_TAG [rustynet-wg]" \
			"rustynet-wg not built: ${RUSTYNET_WG:-RUSTYNET_WG unset}"
		impls=(wireguard-go)
	fi
	for i in "${impls[@]}"; do
		# shellcheck disable=SC2034 # read by tests/lib.sh's skip_pair_rest
		T_PAIR_START=$(t_count)
		"$f" "$i"
	done
}

# wgns_ep OUTER PORT: the endpoint on A's loopback.
wgns_ep() { if [ "$1" = 6 ]; then echo "[::1]:$2"; else echo "127.0.0.1:$2"; fi; }

# wgns_tun NS IFNAME V4 V6 MTU: addresses, MTU, up (a moved link loses its addresses).
wgns_tun() {
	addr_add "$1" "$2" "$3/24" && addr_add "$1" "$2" "$4/64" &&
		ip -n "$1" link set "$2" mtu "$5" up
}

# shellcheck disable=SC2154 # KEY_b, KEY_c, PUB_b, PUB_c are set by wg_keypair
# wgns_setup IMPL OUTER: see the top.
wgns_setup() {
	local impl=$1 outer=$2
	T_ROUND=$((T_ROUND + 1))
	T_ROUND_FAIL=$T_FAIL
	T_WGN=$((T_WGN + 1))
	NS_A="$T_ID-${T_ROUND}a" NS_B="$T_ID-${T_ROUND}b" NS_C="$T_ID-${T_ROUND}c"
	IF_B="rn$$${T_WGN}b" IF_C="rn$$${T_WGN}c"
	ns_add "$NS_A" && ns_add "$NS_B" && ns_add "$NS_C" || return 1
	wg_keypair b && wg_keypair c || return 1
	wg_start "$NS_A" "$IF_B" "$impl" && wg_start "$NS_A" "$IF_C" "$impl" || return 1
	# shellcheck disable=SC2034 # for the scripts
	WGNS_MTU0="$(link_mtu "$NS_A" "$IF_B") $(link_mtu "$NS_A" "$IF_C")"
	ip -n "$NS_A" link set "$IF_B" netns "$NS_B" && ip -n "$NS_A" link set "$IF_C" netns "$NS_C" ||
		return 1
	wgns_tun "$NS_B" "$IF_B" "$WT4_B" "$WT6_B" 1420 && wgns_tun "$NS_C" "$IF_C" "$WT4_C" "$WT6_C" 1420 ||
		return 1
	# Configured from A, where the UAPI sockets are.
	nsx "$NS_A" wg set "$IF_B" private-key "$KEY_b" listen-port "$WPORT_B" peer "$PUB_c" \
		allowed-ips "$WT4_C/32,$WT6_C/128" endpoint "$(wgns_ep "$outer" "$WPORT_C")" || return 1
	nsx "$NS_A" wg set "$IF_C" private-key "$KEY_c" listen-port "$WPORT_C" peer "$PUB_b" \
		allowed-ips "$WT4_B/32,$WT6_B/128" endpoint "$(wgns_ep "$outer" "$WPORT_B")"
}

# wgns_down LABEL: stop the daemons still running (each log checked: 2 check lines), delete
# the namespaces.
wgns_down() {
	local ifn ns
	for ifn in "${IF_B:-}" "${IF_C:-}"; do
		if [ -z "$ifn" ] || [ -z "${WG_LOG[$ifn]:-}" ]; then continue; fi
		if [ "$T_FAIL" != "$T_ROUND_FAIL" ]; then wg_log_tail "$ifn"; fi
		wg_stop "$ifn"
		check "$1: $(impl_name "${WG_IMPL[$ifn]}") ($ifn) log has no sanitizer report or panic" wg_log_clean "$ifn"
	done
	for ns in "${NS_A:-}" "${NS_B:-}" "${NS_C:-}"; do [ -z "$ns" ] || ns_del "$ns"; done
	NS_C=
}

# wgns_alive: both daemons run and answer `wg show` in A.
wgns_alive() { wg_alive "$IF_B" && wg_alive "$IF_C"; }

# endpoint_is NS IFNAME ENDPOINT: the first peer's endpoint, as `wg show endpoints` prints it.
endpoint_is() {
	local e
	e=$(wgq "$1" "$2" endpoints) || return 1
	echo "endpoint: $e (want $3)"
	[ "$e" = "$3" ]
}

# link_mtu NS IFNAME: the interface's MTU.
link_mtu() {
	ip -n "$1" link show dev "$2" | awk '{for (i = 1; i < NF; i++) if ($i == "mtu") {print $(i + 1); exit}}'
}

# link_bytes NS IFNAME: "RX_BYTES TX_BYTES" of the interface (`ip -stats link`). No python on
# the way: on 2 loaded cores starting python3 takes a second.
link_bytes() {
	ip -n "$1" -s link show dev "$2" | awk '/RX:/ {getline; rx = $1} /TX:/ {getline; tx = $1}
		END {if (rx == "" || tx == "") exit 1; print rx, tx}'
}

# flood_ok NS DST [COUNT]: ping -f COUNT (500, as WireGuard's netns.sh) packets; at least 99 %
# answered.
flood_ok() {
	local out rx tx
	out=$(nsx "$1" ping -n -q -f -c "${3:-500}" -w 20 "$2" 2>&1) || true
	echo "$out" | tail -n 2
	read -r tx rx <<<"$(echo "$out" | awk '/packets transmitted/ {print $1, $4}')"
	[ -n "$tx" ] && [ "$tx" -gt 0 ] && [ $((100 * rx)) -ge $((99 * tx)) ]
}

# wgns_iperf NS_CLIENT IF_CLIENT NS_SERVER IF_SERVER DST ARGS...: iperf3 --bidir between client
# and server (DST in the server's namespace): both ways at once, with ARGS (-n SIZE or -t
# SECONDS; -u -b0 for UDP). Writes to $T_DIR/iperf.last: iperf3's payload bytes each way
# (client->server: sent, received, TCP retransmits; then server->client), the interfaces'
# counter deltas (client TX, client RX, server TX, server RX), Gbit/s each way, seconds and the
# client interface's MTU.
# Fails unless both ways carried data.
wgns_iperf() {
	local nc=$1 ic=$2 ns=$3 is=$4 dst=$5 port json c0 c1 s0 s1 r mtu
	shift 5
	: >"$T_DIR/iperf.last"
	T_IPERF_PORT=$((T_IPERF_PORT + 1))
	port=$T_IPERF_PORT
	nsx "$ns" iperf3 -s -1 -D -p "$port" >/dev/null 2>&1 || return 1
	wait_for 10 iperf_listening "$ns" "$port" || return 1
	json="$T_DIR/iperf.$port.json"
	c0=$(link_bytes "$nc" "$ic") && s0=$(link_bytes "$ns" "$is") || return 1
	timeout 90 ip netns exec "$nc" iperf3 -c "$dst" -p "$port" --bidir -J "$@" >"$json" || {
		echo "iperf3 client failed:" >&2
		tail -n 20 "$json" >&2
		return 1
	}
	# The last packets may still be in the receiver's queues: let the counters settle.
	sleep 0.1
	c1=$(link_bytes "$nc" "$ic") && s1=$(link_bytes "$ns" "$is") || return 1
	r=$(jq -r '.end | [.sum_sent.bytes, .sum_received.bytes, .sum_sent.retransmits // 0,
		.sum_sent_bidir_reverse.bytes, .sum_received_bidir_reverse.bytes,
		.sum_sent_bidir_reverse.retransmits // 0,
		.sum_received.bits_per_second / 1e9, .sum_received_bidir_reverse.bits_per_second / 1e9,
		.sum_received.seconds] | map(tostring) | join(" ")' "$json") || return 1
	mtu=$(link_mtu "$nc" "$ic")
	# c0 c1 s0 s1 are "RX TX" each.
	echo "$c0 $c1 $s0 $s1 $r ${mtu:-1420}" | awk '{printf "%s %s %s %s %s %s %d %d %d %d %.3f %.3f %.1f %d\n",
		$9, $10, $11, $12, $13, $14, $4 - $2, $3 - $1, $8 - $6, $7 - $5, $15, $16, $17, $18}' \
		>"$T_DIR/iperf.last"
	local fs fr frt rs rr rrt gf gr
	read -r fs fr frt rs rr rrt _ _ _ _ gf gr _ <"$T_DIR/iperf.last"
	echo "client->server: sent $fs B ($frt retransmits), received $fr B: $gf Gbit/s"
	echo "server->client: sent $rs B ($rrt retransmits), received $rr B: $gr Gbit/s"
	[ "$fr" -gt 0 ] && [ "$rr" -gt 0 ]
}

# iperf_note: the last wgns_iperf's rates as a comment line.
iperf_note() {
	local fr rr gf gr secs
	read -r _ fr _ _ rr _ _ _ _ _ gf gr secs _ <"$T_DIR/iperf.last" 2>/dev/null || return 0
	if [ -n "${secs:-}" ]; then
		note "${secs} s: $((fr / 1000000)) MB ($gf Gbit/s) one way, $((rr / 1000000)) MB ($gr Gbit/s) the other"
	fi
}

# counters_ok tcp|udp: the last wgns_iperf's interface counters (`ip -stats link`) account for
# its bytes as the kernel driver's do. The sender's TX and the receiver's RX count whole inner
# packets: IP and TCP/UDP headers, 3.5-5.3 % over the payload at MTU 1420 (the kernel driver
# also counts WireGuard's 32-byte header and tag and the padding, 2.3 % more), and for TCP the
# ACKs of the other way's data (at most 6 % of it). Tolerance, each way: at least the payload
# iperf3 received, at most 10 % + 1 MiB over what it sent with its retransmits (one MTU each)
# plus those ACKs. For UDP, whose losses the TUN queues take, the receiver's RX also lies
# between what iperf3 received and the sender's TX.
counters_ok() {
	local v
	v=$(cat "$T_DIR/iperf.last") && [ -n "$v" ] || return 1
	echo "$v" | awk -v p="$1" '
	function way(name, sent, recv, rtx, tx, rx, other,    hi) {
		hi = (sent + rtx * mtu) * 1.10 + 1048576 + (p == "tcp" ? 0.06 * other : 0)
		printf "%s: iperf3 sent %d (%d retransmits), received %d; TX +%d, RX +%d (TX/sent %.3f, RX/received %.3f)\n",
			name, sent, rtx, recv, tx, rx, tx / (sent + 1), rx / (recv + 1)
		if (tx < recv || tx > hi) { printf "  TX not in [%d, %d]\n", recv, hi; bad = 1 }
		if (rx < recv || rx > (p == "tcp" ? hi : tx)) {
			printf "  RX not in [%d, %d]\n", recv, p == "tcp" ? hi : tx; bad = 1
		}
	}
	{ mtu = $14; way("client->server", $1, $2, $3, $7, $10, $5); way("server->client", $4, $5, $6, $9, $8, $2) }
	END { exit bad }'
}

# wgns_traffic LABEL TCP_ARGS UDP_ARGS [RUN...]: ping floods both ways over IPv4 and IPv6,
# then iperf3 runs both ways at once (--bidir), each with its counters' check: 4 + 2 checks a
# run. A RUN is "PROTO FAMILY CLIENT" (tcp|udp, 4|6, B|C); by default all four of TCP and UDP
# (-b 0) over IPv4 and IPv6, the client alternating. TCP_ARGS / UDP_ARGS: iperf3's size or
# time option, one word (-n1G, -t1).
wgns_traffic() {
	local L=$1 tcp=$2 udp=$3 runs run proto fam cl nc ic ns is dst args
	shift 3
	runs=("$@")
	[ ${#runs[@]} != 0 ] || runs=("tcp 4 B" "tcp 6 C" "udp 4 C" "udp 6 B")
	check "$L: ping -f B->C IPv4" flood_ok "$NS_B" "$WT4_C"
	check "$L: ping -f C->B IPv4" flood_ok "$NS_C" "$WT4_B"
	check "$L: ping -f B->C IPv6" flood_ok "$NS_B" "$WT6_C"
	check "$L: ping -f C->B IPv6" flood_ok "$NS_C" "$WT6_B"
	for run in "${runs[@]}"; do
		read -r proto fam cl <<<"$run"
		if [ "$cl" = B ]; then
			nc=$NS_B ic=$IF_B ns=$NS_C is=$IF_C dst=$WT4_C
			[ "$fam" = 4 ] || dst=$WT6_C
		else
			nc=$NS_C ic=$IF_C ns=$NS_B is=$IF_B dst=$WT4_B
			[ "$fam" = 4 ] || dst=$WT6_B
		fi
		args=$tcp
		[ "$proto" != udp ] || args="-u -b0 $udp"
		# shellcheck disable=SC2086 # args: iperf3 options
		check "$L: iperf3 ${proto^^} IPv$fam both ways at once, $cl client ($args)" \
			wgns_iperf "$nc" "$ic" "$ns" "$is" "$dst" $args
		iperf_note
		check "$L: ... the interface counters account for its bytes, each way" counters_ok "$proto"
	done
}
