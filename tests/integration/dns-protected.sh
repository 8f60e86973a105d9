#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# dns-protected: Magic DNS in protected mode (an exit node selected) never asks a resolver
# outside the tunnel, and fails closed (SERVFAIL) when the network's upstream is unreachable.
#
# The topology is tests/dns-lib.sh's: client c with a resolver file naming dnsmasq on its local
# network (.53), exit e, an ISP router, an internet host with dnsmasq as the network's upstream.
#
# Checks, each on dig's answer and a tcpdump of c's underlay (e0) during the queries:
# without an exit the host's resolver answers; with e selected and the upstream 203.0.113.10
# set by the admin, example.test is answered (by inet's dnsmasq, through e) with no port 53/853
# on the underlay and WireGuard to e carrying it; mesh names still resolve; with the upstream
# dropped at the ISP the answer is SERVFAIL and nothing leaks, though c's resolver file names
# the local resolver; with no upstream at all SERVFAIL; an upstream on c's own local network
# is still asked only through the tunnel; `exit-node off` forwards to the host's resolver again
# (and the capture sees those queries, so it would have seen a leak); no sanitizer report.
set -eu
TEST_TAG=dnsp
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
# shellcheck source=tests/dns-lib.sh
. "$(dirname "$0")/../dns-lib.sh"
plan 33
need_root
need_cmds python3 dig dnsmasq tcpdump nft

if ! mesh_have_bins; then
	skip "dns-protected: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi

printf '# the host resolver of c: on its local network\nnameserver %s\n' "$LAN_DNS" \
	>"$T_DIR/c.resolv.conf"

if ! check_ok "topology: control, client c, exit e, ISP, internet and local resolvers" dns_topology
then
	mesh_dump_logs
	t_done
fi

dns_exit_checks

# q DIG-ARGS...: dig +short at Magic DNS from c's namespace.
q() { nsx "${MESH_NS[c]}" dig +time=5 +tries=1 +short @100.100.100.100 "$@"; }
status_is() {
	nsx "${MESH_NS[c]}" dig +time=5 +tries=1 @100.100.100.100 "${@:2}" | tee "$T_DIR/dig.out" |
		grep -q "status: $1" || { cat "$T_DIR/dig.out"; return 1; }
}

# no_leak CMD...: CMD under on_underlay, nothing on port 53/853, the query went into the
# tunnel (WireGuard to e); no_leak_local: the same where Magic DNS answers by itself.
no_leak() { on_underlay "$@" && [ "$DNS53" = 0 ] && [ "$WG" -gt 0 ]; }
no_leak_local() { on_underlay "$@" && [ "$DNS53" = 0 ]; }

# ---------------------------------------------------------------- no exit node
check "Magic DNS serves c (its own name, within 5 s)" \
	wait_for 5 is "$(mesh_ip4 c)" q c.rustynet A
check "no exit: the host's resolver on the local network answers" \
	is 198.51.100.99 q www.example.test A
leaks_seen() { on_underlay is 198.51.100.99 q "r$RANDOM.www.example.test" A && [ "$DNS53" -gt 0 ]; }
# dnsmasq answers only www.example.test itself: a subdomain gets the same address from it.
check "... and the capture on c's underlay sees those queries" leaks_seen

check "admin: dns upstreams set $I_ADDR" ctl dns upstreams set "$I_ADDR"
direct() { is 203.0.113.80 q www.example.test A; }
check "c now forwards to the network's upstream (within 3 s)" wait_for 3 direct

# ---------------------------------------------------------------- protected mode
check "c selects e" rnn c exit-node select e
prot_on() {
	rnn c dns inspect --json | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['protected_mode'], j['upstream_source'], j['upstreams']); assert j['protected_mode'] is True"
}
check "dns inspect: protected mode on (within 3 s)" wait_for 3 prot_on
through_e() { is 203.0.113.80 q www.example.test A; }
check "protected: example.test answered through e (within 5 s)" wait_for 5 through_e
tunnel_only_ns() {
	capture_start "${MESH_NS[c]}" e0 || return 1
	local n=0 i
	for i in 1 2 3; do
		[ "$(q "r$i$RANDOM.www.example.test" A)" = 203.0.113.80 ] && n=$((n + 1))
	done
	capture_stop
	DNS53=$(capture_count "$CAPTURE_FILE" "port 53 or port 853") &&
		WG=$(capture_count "$CAPTURE_FILE" "$DNS_WG_FILTER") || return 1
	echo "answered: $n of 3; on c's underlay: $DNS53 on port 53/853, $WG WireGuard with e"
	[ "$n" = 3 ] && [ "$DNS53" = 0 ] && [ "$WG" -gt 0 ]
}
check "protected: 3 fresh names answered, no port 53/853 on the underlay, WireGuard to e" \
	tunnel_only_ns
check "protected: mesh names still resolve (e.rustynet)" is "$E_IP" q e.rustynet A
check "protected: PTR of e's address" is "e.rustynet." q -x "$E_IP"

# ---------------------------------------------------------------- upstream unreachable
check "the ISP drops DNS to the upstream" isp_drop
check "protected, upstream unreachable: SERVFAIL, nothing on port 53/853 on the underlay" \
	no_leak status_is SERVFAIL "r$RANDOM.www.example.test" A
check "... over TCP too" no_leak status_is SERVFAIL +tcp "r$RANDOM.www.example.test" A
check "... (c's original resolver file does name the local resolver)" \
	grep -q "$LAN_DNS" "${MESH_ST[c]}/resolv.conf.backup"
check "... dns query says SERVFAIL, nobody answered" \
	sh -c "! ip netns exec '${MESH_NS[c]}' '$RNCLI' --socket '${MESH_SOCK[c]}' dns query www.example.test A"
check "... mesh names still resolve" is "$E_IP" q e.rustynet A

check "admin: dns upstreams clear" ctl dns upstreams clear
src_none() {
	rnn c dns inspect --json | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['upstream_source']); assert j['upstream_source']=='none'"
}
check "protected, no upstream: source none (within 3 s)" wait_for 3 src_none
check "protected, no upstream: SERVFAIL, the local resolver is not asked" \
	no_leak_local status_is SERVFAIL "r$RANDOM.www.example.test" A

# The admin names a resolver on c's own local network: in protected mode it must still be asked
# only through the tunnel (the main table's connected route must not take it out directly).
check "admin: dns upstreams set $LAN_DNS (on c's local network)" ctl dns upstreams set "$LAN_DNS"
src_netmap() {
	rnn c dns inspect --json | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['upstreams']); assert j['upstream_source']=='netmap'"
}
check "c has it (within 3 s)" wait_for 3 src_netmap
ask_lan() { q "r$RANDOM.www.example.test" A || true; }
check "protected, upstream on the local network: no port 53/853 on the underlay" no_leak ask_lan

# ---------------------------------------------------------------- exit-node off
check "admin: dns upstreams clear" ctl dns upstreams clear
check "c: exit-node off" rnn c exit-node off
host_again() { is 198.51.100.99 q www.example.test A; }
check "off: the host's resolver answers again (within 3 s)" wait_for 3 host_again
check "... directly on the underlay (the capture sees it)" leaks_seen

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
