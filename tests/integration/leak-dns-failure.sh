#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# leak-dns-failure: in protected mode the Magic DNS upstream becomes unreachable (the ISP drops
# DNS to it) and applications also ask a hard-coded resolver on the internet directly.
# Topology (tests/leak-lib.sh):
#
#   c1 (alice, exit e selected)  e (exit)   ctl      isp .254 --- inet I 203.0.113.10
#      .10 [capture on e0]        .11        .1        |   [drops        dnsmasq: the admin's
#   ------------------------- br0 198.51.100.0/24 -----+    DNS to I]    upstream, and the
#                                 e: up0 192.0.2.1 --- isp               "hard-coded" resolver
#
# Checks, each on dig's answer and a capture of c1's underlay: before the drop the upstream
# answers through e (no port 53/853 on the underlay, and `dig @I` is answered through the
# tunnel too); after it Magic DNS says SERVFAIL over UDP and TCP, and `dig @I` (UDP, TCP) and a
# DoT connection to I:853 get nothing, with zero port 53/853 packets and zero leaks on the
# underlay. Control: `exit-node off` and the same queries are seen on the underlay in plaintext.
set -eu
TEST_TAG=leakdns
# shellcheck source=tests/leak-lib.sh
. "$(dirname "$0")/../leak-lib.sh"
plan 14
leak_preamble dig dnsmasq
MAGIC=100.100.100.100
# The upstream on I, in place of leak_setup's udp/53 listener.
dns_on_i() {
	nsx "${EXIT_NS[inet]}" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
		--listen-address="$I_ADDR" --address=/example.test/203.0.113.80 \
		>>"$T_DIR/dnsmasq-inet.log" 2>&1 </dev/null &
	T_BG+=("$!")
	wait_for 5 nsx "${EXIT_NS[inet]}" dig +time=1 +tries=1 @"$I_ADDR" www.example.test
}
setup() {
	LEAK_NO_DNS_LISTENER=1 leak_setup || return 1
	dns_on_i || return 1
	ctl dns upstreams set "$I_ADDR"
}
if ! check_ok "topology; c1 uses exit e; dnsmasq on I is the admin's upstream" setup; then
	mesh_dump_logs
	t_done
fi

# d SERVER DIG-ARGS...: dig from c1, the full answer in $T_DIR/dig.out. Magic DNS gets 5 s:
# it answers SERVFAIL only after its own upstream timeout.
d() {
	local s=$1 t=2
	shift
	[ "$s" != "$MAGIC" ] || t=5
	nsx "${MESH_NS[c1]}" dig +time="$t" +tries=1 @"$s" "$@" >"$T_DIR/dig.out" 2>&1 || true
}
status_is() { d "$MAGIC" "${@:2}"; grep -q "status: $1" "$T_DIR/dig.out" || { cat "$T_DIR/dig.out"; return 1; }; }
answered() { d "$@"; grep -q '^[^;].*203\.0\.113\.80' "$T_DIR/dig.out"; }
unanswered() { d "$@"; ! grep -q '^[^;].*203\.0\.113\.80' "$T_DIR/dig.out"; }
dot() { echo x | timeout 3 ip netns exec "${MESH_NS[c1]}" socat -T 1 - \
	"TCP:$I_ADDR:853,connect-timeout=2" >/dev/null 2>&1 || true; }

# dns_counts CMD...: CMD runs under a capture of c1's underlay (with c1's canary); DNS (port
# 53/853 packets), LEAKED (leak_count), WG (WireGuard to e); fails if CMD or a count fails. The
# protected steps and the control count with this one function.
dns_counts() {
	local rc=0
	capture_start "${MESH_NS[c1]}" e0 || return 1
	capture_canary "${MESH_NS[c1]}" e0
	"$@" || rc=$?
	capture_stop
	DNS=$(capture_count "$CAPTURE_FILE" "port 53 or port 853") &&
		LEAKED=$(leak_count "$CAPTURE_FILE") && WG=$(wg_count "$CAPTURE_FILE") || return 1
	echo "c1's underlay: $(capture_count "$CAPTURE_FILE") packets, $WG WireGuard to e, $DNS on port 53/853, $LEAKED leaked"
	tcpdump -r "$CAPTURE_FILE" -n "port 53 or port 853" 2>/dev/null | head -n 5
	leak_show "$CAPTURE_FILE"
	c1_seen "$CAPTURE_FILE" && [ "$rc" = 0 ]
}
# on_underlay CMD...: CMD succeeds under the capture; no port 53/853 packet and no leak, and
# the queries went into the tunnel (WireGuard to e).
on_underlay() { dns_counts "$@" && [ "$DNS" = 0 ] && [ "$LEAKED" = 0 ] && [ "$WG" -gt 0 ]; }

through_e() { answered "$MAGIC" "r$RANDOM.example.test" A; }
check "protected: Magic DNS answers from the upstream through e (within 5 s)" wait_for 5 through_e
check "protected: Magic DNS answers, nothing on port 53/853 on the underlay" \
	on_underlay answered "$MAGIC" "r$RANDOM.example.test" A
check "protected: dig @$I_ADDR (hard-coded) answered through the tunnel, not the underlay" \
	on_underlay answered "$I_ADDR" "r$RANDOM.example.test" A

isp_drop() {
	nsx "${EXIT_NS[isp]}" nft -f - <<-EOF
		table inet dnsdrop {
			chain f {
				type filter hook forward priority 0;
				ip daddr $I_ADDR meta l4proto { tcp, udp } th dport { 53, 853 } drop
			}
		}
	EOF
}
check "the ISP drops DNS (53, 853) to $I_ADDR" isp_drop
check "upstream unreachable: SERVFAIL, no port 53/853 and no leak on the underlay" \
	on_underlay status_is SERVFAIL "r$RANDOM.example.test" A
check "... over TCP too" on_underlay status_is SERVFAIL +tcp "r$RANDOM.example.test" A
check "... dig @$I_ADDR gets no answer, nothing on the underlay" \
	on_underlay unanswered "$I_ADDR" "r$RANDOM.example.test" A
check "... dig +tcp @$I_ADDR likewise" on_underlay unanswered "$I_ADDR" +tcp "r$RANDOM.example.test" A
check "... DoT (tcp/853) to $I_ADDR likewise" on_underlay dot
answered_mesh() { d "$MAGIC" e.rustynet A; grep -q 'status: NOERROR' "$T_DIR/dig.out"; }
check "... mesh names still resolve (e.rustynet)" answered_mesh

# Control: without protected mode the same queries go out of e0 in plaintext.
check "control: c1 exit-node off" rnn c1 exit-node off
queries() {
	d "$I_ADDR" "r$RANDOM.example.test" A
	d "$MAGIC" "r$RANDOM.example.test" A
	dot
}
seen() { dns_counts queries && [ "$DNS" -gt 0 ] && [ "$LEAKED" -gt 0 ]; }
check "control: without the exit the queries to $I_ADDR leave by e0 in plaintext" seen
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
