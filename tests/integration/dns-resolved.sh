#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# dns-resolved: Magic DNS on a host whose lookups go through systemd-resolved. The real
# systemd-resolved (Debian's, unpacked by scripts/fetch-resolved.sh) runs in c's namespace on a
# private D-Bus; its stub file is c's resolv.conf, as /etc/resolv.conf is a link to it on such
# hosts. The uplink e0 has the local resolver as its per-link DNS, as a DHCP client sets it.
#
# The rest of the topology is tests/dns-lib.sh's: exit e, an ISP router, the LAN resolver (.53)
# and an internet host with dnsmasq as the network's upstream.
#
# Checks: rustynetd sees resolved and leaves the resolv.conf alone; resolved gets per-link DNS
# 100.100.100.100 on the tunnel, the zone as search domain and the reverse zones as routing
# domains, no DefaultRoute; mesh names resolve through resolved's stub (dig, getent with the
# stub file's search line, resolvectl), other names go to the uplink's resolver; with an exit
# selected "~." and DefaultRoute are set, every name reaches Magic DNS and goes through the
# tunnel, and with the upstream dropped it is SERVFAIL with no port 53/853 on the underlay and
# no query even attempted to the LAN resolver (an nft counter before the kill switch);
# settings lost (RevertLink by someone else, or a resolved restart) come back; `exit-node off`
# and `down` take them away again; no sanitizer report.
set -eu
TEST_TAG=dnsr
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
# shellcheck source=tests/dns-lib.sh
. "$(dirname "$0")/../dns-lib.sh"
plan 46
need_root
need_cmds python3 dig dnsmasq tcpdump nft dbus-daemon setpriv unshare getent

RESOLVED_ROOT=${RN_RESOLVED_ROOT:-/var/lib/rustynet-test/systemd-resolved}
RESOLVED_LIB=$RESOLVED_ROOT/usr/lib/x86_64-linux-gnu/systemd
RESOLVED_BIN=$RESOLVED_ROOT/lib/systemd/systemd-resolved
if ! mesh_have_bins; then
	skip "dns-resolved: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
if ! LD_LIBRARY_PATH=$RESOLVED_LIB "$RESOLVED_BIN" --version >/dev/null 2>&1; then
	# like a missing tool (need_cmds): a failure in CI, where install-deps unpacks it
	if [ "${CI:-}" = true ]; then
		not_ok "dns-resolved: systemd-resolved unpacked" "not in $RESOLVED_ROOT (scripts/fetch-resolved.sh)"
	else
		skip "dns-resolved: all checks" "no systemd-resolved in $RESOLVED_ROOT: run scripts/fetch-resolved.sh"
	fi
	t_done
fi

BUS=$T_DIR/bus
BUS_ENV=DBUS_SYSTEM_BUS_ADDRESS=unix:path=$BUS
RUNDIR=$T_DIR/resolve # resolved's /run/systemd/resolve
STUB=$RUNDIR/stub-resolv.conf
RESOLVED_PID=
# resolved runs as nobody: it must reach its bus and RUNDIR (traverse only, nothing listed)
chmod 711 "$T_DIR"

# A system bus of our own: the host's (if any) is never touched.
bus_start() {
	cat >"$T_DIR/bus.conf" <<-EOF
		<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
		 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
		<busconfig>
		  <type>system</type>
		  <listen>unix:path=$BUS</listen>
		  <auth>EXTERNAL</auth>
		  <policy context="default">
		    <allow user="*"/>
		    <allow own="*"/>
		    <allow send_destination="*"/>
		    <allow receive_sender="*"/>
		  </policy>
		</busconfig>
	EOF
	dbus-daemon --config-file="$T_DIR/bus.conf" --nofork --nopidfile \
		>>"$T_DIR/dbus.log" 2>&1 </dev/null &
	T_BG+=("$!")
	wait_for 5 test -S "$BUS"
}

# resolved in c's namespace, in a mount namespace of its own: /run a private tmpfs (its
# RUNDIR bound from the test dir), a drop-in with no global or fallback servers (so every
# server it knows is one this test set), unprivileged with the capabilities it keeps itself.
resolved_start() {
	mkdir -p "$RUNDIR"
	chown nobody "$RUNDIR"
	printf 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n' >"$T_DIR/resolved-own.conf"
	# shellcheck disable=SC2016 # expanded by the inner shell
	nsx "${MESH_NS[c]}" sh -c '
		mount -t tmpfs -o mode=0755 tmpfs /run &&
		mkdir -p /run/systemd/resolve /run/systemd/resolved.conf.d &&
		mount --bind "$1" /run/systemd/resolve &&
		printf "[Resolve]\nDNS=\nFallbackDNS=\nDomains=\nLLMNR=no\nMulticastDNS=no\nDNSSEC=no\n" \
			>/run/systemd/resolved.conf.d/test.conf &&
		mount --bind "$2" /etc/resolv.conf &&
		exec env "$3" LD_LIBRARY_PATH="$4" SYSTEMD_LOG_LEVEL=debug setpriv --reuid=nobody \
			--regid=nogroup --clear-groups --inh-caps=+net_bind_service,+net_raw,+setpcap \
			--ambient-caps=+net_bind_service,+net_raw,+setpcap "$5"' \
		sh "$RUNDIR" "$T_DIR/resolved-own.conf" "$BUS_ENV" "$RESOLVED_LIB" "$RESOLVED_BIN" \
		>>"$T_DIR/resolved.log" 2>&1 </dev/null &
	RESOLVED_PID=$!
	T_BG+=("$RESOLVED_PID")
	wait_for 10 rvc status >/dev/null && wait_for 5 test -s "$STUB"
}
resolved_stop() {
	[ -n "$RESOLVED_PID" ] || return 0
	kill -TERM "$RESOLVED_PID" 2>/dev/null || true
	wait "$RESOLVED_PID" 2>/dev/null || true
	RESOLVED_PID=
}
# rvc ARGS...: resolvectl in c's namespace on our bus.
rvc() {
	nsx "${MESH_NS[c]}" env "$BUS_ENV" LD_LIBRARY_PATH="$RESOLVED_LIB" \
		"$RESOLVED_ROOT/usr/bin/resolvectl" "$@"
}

topology() {
	# e's resolver file names resolved's stub too, but resolved runs in c's namespace
	printf 'nameserver 127.0.0.53\n' >"$T_DIR/e.resolv.conf"
	dns_topology || return 1
	bus_start && resolved_start || return 1
	# the uplink's DNS, as DHCP would give it
	rvc dns e0 "$LAN_DNS" && rvc default-route e0 yes || return 1
	# c's daemon again, now on the bus and with the stub file as its resolv.conf; e's on the
	# bus as well (from its own namespace)
	kill -TERM "${MESH_PID[c]}" "${MESH_PID[e]}"
	wait "${MESH_PID[c]}" "${MESH_PID[e]}" 2>/dev/null
	MESH_RESOLV[c]=$STUB
	mesh_node_start c "$BUS_ENV" && mesh_node_start e "$BUS_ENV"
}
if ! check_ok "topology: control, c with systemd-resolved, exit e, ISP, internet and LAN resolvers" topology
then
	tail -n 30 "$T_DIR/resolved.log" "$T_DIR/dbus.log" 2>/dev/null
	mesh_dump_logs
	t_done
fi

dns_exit_checks
C_IF=${MESH_IF[c]}

# inspect PYEXPR: PYEXPR over c's `dns inspect --json` (as j) must hold; j's system is printed.
inspect() {
	rnn c dns inspect --json | python3 -c "
import json, sys
j = json.load(sys.stdin)
print(json.dumps(j['system']), j['problems'])
assert $1" 2>&1 | cut -c 1-600
	[ "${PIPESTATUS[1]}" = 0 ]
}
# stub DIG-ARGS...: dig at resolved's stub in c's namespace, answer only.
stub() { nsx "${MESH_NS[c]}" dig +time=5 +tries=1 +short @127.0.0.53 "$@"; }
stub_status() {
	nsx "${MESH_NS[c]}" dig +time=8 +tries=1 @127.0.0.53 "${@:2}" | tee "$T_DIR/dig.out" |
		grep -q "status: $1" || { cat "$T_DIR/dig.out"; return 1; }
}
# getent QUERY: getaddrinfo in c's namespace with resolved's stub file as /etc/resolv.conf.
getent_c() {
	nsx "${MESH_NS[c]}" unshare --mount --propagation private sh -c \
		"mount --bind '$STUB' /etc/resolv.conf && getent ahosts '$1'" | awk '{print $1}' | sort -u
}
# Queries c sends to the LAN resolver, counted in an output chain that runs before the kill
# switch's (which would drop them unseen by tcpdump): resolved's own choice of servers.
lan_counter() {
	nsx "${MESH_NS[c]}" nft -f - <<-EOF
		table inet dnsrcount {
			chain o {
				type filter hook output priority -400;
				ip daddr $LAN_DNS meta l4proto { udp, tcp } th dport 53 counter
			}
		}
	EOF
}
lan_queries() {
	nsx "${MESH_NS[c]}" nft list table inet dnsrcount | grep -o 'packets [0-9]*' | cut -d' ' -f2
}
# no_lan_query CMD...: CMD runs, and c sent nothing to the LAN resolver meanwhile.
no_lan_query() {
	local before after rc=0
	before=$(lan_queries)
	"$@" || rc=$?
	after=$(lan_queries)
	echo "queries to the LAN resolver: $before before, $after after"
	[ "$rc" = 0 ] && [ "$before" = "$after" ]
}

# ---------------------------------------------------------------- no exit node
wired() {
	inspect "j['system']['mode'] == 'systemd-resolved' and j['system']['wired'] is True and j['system']['resolved']['dns'] == ['100.100.100.100'] and 'rustynet' in j['system']['resolved']['domains'] and '~64.100.in-addr.arpa' in j['system']['resolved']['domains'] and '~127.100.in-addr.arpa' in j['system']['resolved']['domains'] and '~.' not in j['system']['resolved']['domains'] and j['system']['resolved']['default_route'] is False and not j['problems']"
}
check "dns inspect: systemd-resolved, wired, DNS 100.100.100.100, search rustynet, reverse zones, no ~. (within 5 s)" \
	wait_for 5 wired
# rvc_has WHAT PATTERN: `resolvectl WHAT` of the tunnel link matches PATTERN.
rvc_has() { rvc "$1" "$C_IF" | tee /dev/stderr | grep -q "$2"; }
check "resolvectl: the tunnel link's DNS server is Magic DNS" rvc_has dns 100.100.100.100
check "resolvectl: no DefaultRoute on the tunnel link" rvc_has default-route ': no$'
check "LLMNR off on the tunnel link" rvc_has llmnr ': no$'
check "mDNS off on the tunnel link" rvc_has mdns ': no$'
check "resolv.conf (resolved's stub file) not rewritten by rustynetd" \
	grep -q '^nameserver 127.0.0.53' "$STUB"
check "resolved's stub file lists rustynet as a search domain" \
	grep -q '^search.*\brustynet\b' "$STUB"
check "stub: e.rustynet is e's mesh address" is "$E_IP" stub e.rustynet A
check "stub: PTR of e's address (a routing domain)" is "e.rustynet." stub -x "$E_IP"
check "stub: nosuch.rustynet is NXDOMAIN" stub_status NXDOMAIN nosuch.rustynet A
getent_e() { getent_c e | tee /dev/stderr | grep -qxF "$E_IP"; }
check "getent ahosts e (the search domain through resolved)" getent_e
resolvectl_e() { rvc query --legend=no e | tee /dev/stderr | grep -qF "$E_IP"; }
check "resolvectl query e (resolved's own search)" resolvectl_e
check "a counter of c's queries to the LAN resolver (nft output chain)" lan_counter
check "no exit: other names go to the uplink's resolver" is 198.51.100.99 stub www.example.test A
counted() { ! no_lan_query is 198.51.100.99 stub "n$RANDOM.www.example.test" A; }
check "... and the counter sees those queries" counted
leaks_seen() { on_underlay is 198.51.100.99 stub "r$RANDOM.www.example.test" A && [ "$DNS53" -gt 0 ]; }
check "... directly on the underlay (the capture sees those queries)" leaks_seen

# e reaches the same bus, but resolved's links there are c's: e must not touch them.
e_other_ns() {
	rnn e dns inspect --json | python3 -c "
import json, sys
j = json.load(sys.stdin)
print(j['system']['mode'], j['problems'])
assert j['system']['mode'] == 'resolv.conf'
assert any('another network namespace' in p for p in j['problems'])"
}
check "e (resolved in another namespace): resolv.conf mode, and dns inspect says why" e_other_ns
check "... e's resolver file rewritten instead" grep -q '^nameserver 100.100.100.100' "$T_DIR/e.resolv.conf"
check "... and c's tunnel link in resolved is still c's" wired

# ---------------------------------------------------------------- protected mode
check "admin: dns upstreams set $I_ADDR" ctl dns upstreams set "$I_ADDR"
check "c selects e" rnn c exit-node select e
prot_wired() {
	inspect "j['protected_mode'] is True and j['system']['wired'] is True and '~.' in j['system']['resolved']['domains'] and j['system']['resolved']['default_route'] is True"
}
check "dns inspect: ~. and DefaultRoute on the tunnel link (within 5 s)" wait_for 5 prot_wired
inspect_text() {
	rnn c dns inspect | tee "$T_DIR/inspect.txt" | grep -E 'System resolver|link ' || return 1
	grep -q "System resolver: systemd-resolved .*pointed at Magic DNS" "$T_DIR/inspect.txt" &&
		grep -q "link $C_IF: DNS 100.100.100.100, domains rustynet ~. + 65 reverse zones, DefaultRoute yes" \
			"$T_DIR/inspect.txt"
}
check "dns inspect (text): the link's DNS, search domain, ~., reverse zones, DefaultRoute" inspect_text
check "resolvectl: DefaultRoute on the tunnel link" rvc_has default-route ': yes$'
through_e() { is 203.0.113.80 stub "r$RANDOM.www.example.test" A; }
check "protected: other names answered by the network's upstream through e (within 5 s)" \
	wait_for 5 through_e
tunnel_only() {
	local n=0 i
	for i in 1 2 3; do
		[ "$(stub "p$i$RANDOM.www.example.test" A)" = 203.0.113.80 ] && n=$((n + 1))
	done
	getent_c "g$RANDOM.www.example.test" | grep -qxF 203.0.113.80 && n=$((n + 1))
	echo "answered: $n of 4"
	[ "$n" = 4 ]
}
prot_no_leak() { on_underlay no_lan_query tunnel_only && [ "$DNS53" = 0 ] && [ "$WG" -gt 0 ]; }
check "protected: 3 names by the stub and 1 by getent, none sent to the LAN resolver, no port 53/853 on the underlay, WireGuard to e" \
	prot_no_leak
check "protected: mesh names still resolve" is "$E_IP" stub e.rustynet A

check "the ISP drops DNS to the upstream" isp_drop
servfail_no_leak() {
	on_underlay no_lan_query stub_status SERVFAIL "s$RANDOM.www.example.test" A &&
		[ "$DNS53" = 0 ] && [ "$WG" -gt 0 ]
}
check "protected, upstream unreachable: SERVFAIL, and resolved does not fall back to the uplink's resolver" \
	servfail_no_leak

# ---------------------------------------------------------------- lost settings come back
check "someone reverts the tunnel link in resolved" rvc revert "$C_IF"
check "rustynetd sets it again (within 15 s)" wait_for 15 prot_wired
resolved_restart() { resolved_stop && rm -rf "${RUNDIR:?}"/* && resolved_start; }
check "resolved restarts, its runtime state gone" resolved_restart
check "... and the tunnel link has Magic DNS again (within 15 s)" wait_for 15 prot_wired

# ---------------------------------------------------------------- exit-node off, down
check "c: exit-node off" rnn c exit-node off
check "off: ~. and DefaultRoute gone, zone and reverse zones stay (within 5 s)" wait_for 5 wired
check "off: other names go to the uplink's resolver again" is 198.51.100.99 stub www.example.test A
check "c: down" rnn c down
# every link resolved knows (the tunnel is gone after down, or has nothing of ours)
reverted() {
	local dns doms
	dns=$(rvc dns) && doms=$(rvc domain) || return 1
	echo "$dns / $doms"
	grep -q "$LAN_DNS" <<<"$dns" && ! grep -q 100.100.100.100 <<<"$dns" &&
		! grep -q rustynet <<<"$doms"
}
check "down: resolved has no Magic DNS settings on any link" reverted
check "down: rustynetd reverted them itself" \
	grep -q "systemd-resolved settings of $C_IF reverted" "${MESH_LOG[c]}"
not_e() { [ "$(stub e.rustynet A)" != "$E_IP" ]; }
check "down: e.rustynet no longer resolves through the stub" not_e
check "no sanitizer report in any log" mesh_logs_clean
if [ "$T_FAIL" != 0 ]; then
	tail -n 40 "$T_DIR/resolved.log"
	mesh_dump_logs
fi
t_done
