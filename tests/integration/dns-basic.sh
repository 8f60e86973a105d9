#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# dns-basic: Magic DNS on three nodes, two of them with the hostname "nas".
#
#            ns sw: bridge br0 (198.51.100.0/24, 2001:db8:1::/64)
#     +-------------+-------------+-------------+-------------+
#   ctl .1        a .10         b .11         c .12        dns .53
#   rustynet-   rustynetd     rustynetd     rustynetd     dnsmasq: example.test
#   control     host "nas"    host "nas"    host "web"    (the upstream)
#   serve :8443  = nas         = nas-2       = web
#                 \___ mesh; each node serves 100.100.100.100 and PREFIX::53 ___/
#
# Each node's resolver file is its own ($T_DIR/NAME.resolv.conf, --resolv-conf): a's names the
# upstream at 198.51.100.53 (its "host resolver"), the others a dead address.
# Checks: names nas / nas-2 / web; dig and kdig get A, AAAA and PTR (v4 and v6) from inside a
# node's namespace, over UDP and TCP, on both service addresses; NXDOMAIN for unknown names;
# relative "nas"; resolv.conf rewritten while up; forwarding to the host's resolver and to the
# admin's `dns upstreams set`; `rustynet dns query` tells zone from upstream; a rename reaches
# the others within 2 s; a fourth "nas" gets nas-3, and after it leaves a new "nas" gets the freed
# nas-3 while no other name changes; getaddrinfo (getent) through the rewritten resolver file
# finds "nas" via the search domain; an offline node still resolves and inspect marks it offline; down
# restores resolv.conf byte for byte; a crash (kill -9) is undone at the next start; a file
# someone else rewrote is left alone and reported; no sanitizer report.
set -eu
TEST_TAG=dns
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 78
need_root
need_cmds python3 dig kdig dnsmasq

if ! mesh_have_bins; then
	skip "dns-basic: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi

UP_NS="$T_ID-dns"
UP_IP=$MESH_UPSTREAM_IP
printf '# the host resolver of a\nnameserver %s\noptions edns0\n' "$UP_IP" >"$T_DIR/a.resolv.conf"
printf 'nameserver 192.0.2.53\nsearch example.org\n' >"$T_DIR/b.resolv.conf"
for n in a b; do cp "$T_DIR/$n.resolv.conf" "$T_DIR/$n.resolv.orig"; done


# Test builds: nodes poll every 3 s and count as offline 8 s after their last poll (instead of
# 25 and 60), so that "offline" below takes seconds; a release build ignores both.
export RUSTYNET_CONTROL_POLL_S=3 RUSTYNET_CONTROL_ONLINE_S=8
mesh_init_or_end
check_ok "upstream dnsmasq starts" mesh_upstream_start "$UP_NS" || t_done
mesh_nodes_or_end a b c
up_as() { rnn "$1" up --server "$MESH_URL" --auth-key "$(mesh_key alice)" --hostname "$2"; }
check "a up (hostname nas)" up_as a nas
check "b up (hostname nas)" up_as b nas
check "c up (hostname web)" up_as c web

declare -A IP4 IP6
for n in a b c; do
	IP4[$n]=$(mesh_ip4 "$n" 2>/dev/null || echo none)
	IP6[$n]=$(mesh_ip6 "$n" 2>/dev/null || echo none)
done
SVC6=$(python3 -c "import ipaddress,sys; n=ipaddress.ip_network(sys.argv[1]+'/48',strict=False); print(n.network_address+0x53)" "${IP6[a]}")
note "a ${IP4[a]} ${IP6[a]}, b ${IP4[b]}, c ${IP4[c]}; Magic DNS IPv6 $SVC6"

names_ok() {
	[ "$(mesh_json a 'j["self"]["name"]')" = nas ] && [ "$(mesh_json b 'j["self"]["name"]')" = nas-2 ] &&
		[ "$(mesh_json c 'j["self"]["name"]')" = web ]
}
check "names: nas, nas-2 (second \"nas\"), web" names_ok

# qc NAME DIG-ARGS...: dig +short from c's namespace at Magic DNS.
qc() { local n=$1; shift; nsx "${MESH_NS[$n]}" dig +time=2 +tries=1 +short "$@"; }
is() { local want=$1; shift; local got; got=$("$@"); echo "got: $got"; [ "$got" = "$want" ]; }
status_is() { local want=$1; shift; nsx "${MESH_NS[c]}" dig +time=2 +tries=1 "$@" | tee /dev/stderr | grep -q "status: $want"; }

check "Magic DNS answers on 100.100.100.100 (c asks, within 5 s)" \
	wait_for 5 is "${IP4[a]}" qc c @100.100.100.100 nas.rustynet A
check "A of nas-2.rustynet" is "${IP4[b]}" qc c @100.100.100.100 nas-2.rustynet A
check "AAAA of nas.rustynet" is "${IP6[a]}" qc c @100.100.100.100 nas.rustynet AAAA
check "PTR of a's IPv4 (dig -x)" is "nas.rustynet." qc c @100.100.100.100 -x "${IP4[a]}"
check "PTR of b's IPv6 (dig -x)" is "nas-2.rustynet." qc c @100.100.100.100 -x "${IP6[b]}"
check "case-insensitive: NAS.RustyNet" is "${IP4[a]}" qc c @100.100.100.100 NAS.RustyNet A
check "relative name \"nas\" (no search domain appended)" is "${IP4[a]}" qc c @100.100.100.100 nas A
check "over TCP (dig +tcp)" is "${IP4[b]}" qc c @100.100.100.100 +tcp nas-2.rustynet A
check "on the IPv6 service address $SVC6" is "${IP4[c]}" qc a @"$SVC6" web.rustynet A
check "the node asks itself" is "${IP4[a]}" qc a @100.100.100.100 nas.rustynet A
check "kdig A" sh -c "ip netns exec '${MESH_NS[c]}' kdig +short @100.100.100.100 nas-2.rustynet A | grep -qxF '${IP4[b]}'"
check "kdig +tcp AAAA" sh -c "ip netns exec '${MESH_NS[c]}' kdig +tcp +short @100.100.100.100 web.rustynet AAAA | grep -qxF '${IP6[c]}'"
check "NXDOMAIN for unknown.rustynet" status_is NXDOMAIN @100.100.100.100 unknown.rustynet A
check "NOERROR/NODATA for nas.rustynet MX" status_is NOERROR @100.100.100.100 nas.rustynet MX
check "REFUSED for class CH" status_is REFUSED @100.100.100.100 -c CH nas.rustynet TXT

rc_ours() { grep -qx 'nameserver 100.100.100.100' "$1" && grep -qx 'search rustynet' "$1"; }
check "a's resolv.conf points at Magic DNS with search rustynet" rc_ours "$T_DIR/a.resolv.conf"
check "the backup in the state dir is exact and 0600" \
	sh -c "cmp '$T_DIR/a.resolv.orig' '${MESH_ST[a]}/resolv.conf.backup' && [ \$(stat -c %a '${MESH_ST[a]}/resolv.conf.backup') = 600 ]"

# ---------------------------------------------------------------- forwarding (no exit node)
check "a forwards www.example.test to its host resolver" is 192.0.2.80 qc a @100.100.100.100 www.example.test A
check "c has no working upstream: SERVFAIL, not a hang" status_is SERVFAIL @100.100.100.100 +time=5 www.example.test A
check "admin: dns upstreams set $UP_IP" ctl dns upstreams set "$UP_IP"
check "dns upstreams get" is "$UP_IP" ctl dns upstreams get
b_forwards() { is 192.0.2.80 qc b @100.100.100.100 www.example.test A; }
check "b now forwards through the netmap's upstream (within 3 s)" wait_for 3 b_forwards
src_is() { rnn "$1" dns inspect --json | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['upstream_source'], j['upstreams']); assert j['upstream_source']=='$2'"; }
check "inspect: upstreams from the netmap" src_is b netmap
check "dns query (zone)" sh -c "ip netns exec '${MESH_NS[a]}' '$RNCLI' --socket '${MESH_SOCK[a]}' dns query nas-2.rustynet | tee /dev/stderr | grep -q 'the Magic DNS zone'"
check "dns query (upstream)" sh -c "ip netns exec '${MESH_NS[a]}' '$RNCLI' --socket '${MESH_SOCK[a]}' dns query www.example.test A | tee /dev/stderr | grep -q 'an upstream'"
check "dns upstreams set refuses 100.100.100.100" sh -c "! '$RNC' --state '$MESH_CTL_ST' dns upstreams set 100.100.100.100"

# ---------------------------------------------------------------- naming stability, getaddrinfo
# A fourth "nas" joins (nas-3), leaves, and a new one joins: the names already given never
# change, and the newcomer gets the first free of nas, nas-2, nas-3... (here the freed nas-3).
name_of() { mesh_json "$1" 'j["self"]["name"]'; }
check_ok "rustynetd d starts" mesh_node d || mesh_dump_logs
d_joins() { up_as d nas && [ "$(name_of d)" = nas-3 ]; }
check "d up (a third hostname nas): nas-3" d_joins
check "a joining changed no name: nas, nas-2, web" names_ok
d_resolves() { is "$(mesh_ip4 d)" qc c @100.100.100.100 nas-3.rustynet A; }
check "c resolves nas-3 (within 3 s)" wait_for 3 d_resolves
check "admin removes nas-3 (d leaves)" ctl nodes remove nas-3
gone() { status_is NXDOMAIN @100.100.100.100 nas-3.rustynet A; }
check "nas-3 is NXDOMAIN on c (within 3 s)" wait_for 3 gone
check "a leaving changed no name: nas, nas-2, web" names_ok
rejoin() {
	wait_for 5 sh -c "'$RNCLI' --socket '${MESH_SOCK[d]}' status --json | grep -q NeedsLogin" ||
		return 1
	up_as d nas && [ "$(name_of d)" = nas-3 ]
}
check "a new \"nas\" joins: it gets the freed name nas-3" rejoin
check "... and nobody else's name changed" names_ok
check "c resolves the newcomer's nas-3 (within 3 s)" wait_for 3 d_resolves
# getent NAME QUERY: getaddrinfo (getent ahosts) in NAME's namespace, with /etc/resolv.conf
# being NAME's resolver file as the daemon rewrote it (a private mount namespace).
getent_in() {
	nsx "${MESH_NS[$1]}" unshare --mount --propagation private sh -c \
		"mount --bind '${MESH_RESOLV[$1]}' /etc/resolv.conf && getent ahosts '$2'" |
		awk '{print $1}' | sort -u | tee /dev/stderr
}
getent_nas() { getent_in c nas | grep -qxF "${IP4[a]}"; }
check "getent ahosts nas on c (the search domain of the rewritten file)" getent_nas
getent_both() {
	local out
	out=$(getent_in c nas-2.rustynet)
	grep -qxF "${IP4[b]}" <<<"$out" && grep -qxF "${IP6[b]}" <<<"$out"
}
check "getent ahosts nas-2.rustynet on c: b's IPv4 and IPv6" getent_both
getent_fails() { [ -z "$(getent_in c nosuchnode)" ]; }
check "getent ahosts nosuchnode on c fails" getent_fails

# ---------------------------------------------------------------- a flood
# 3 s of garbage, zone queries and queries to forward (random names: each needs a worker) at
# c's resolver; the daemon must keep answering its control socket and the zone throughout.
flood() {
	nsx "${MESH_NS[c]}" python3 - <<-'PY' &
		import os, random, socket, struct, time
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		def q(name, t=1):
		    b = struct.pack(">HHHHHH", random.getrandbits(16), 0x0100, 1, 0, 0, 0)
		    for l in name.split("."):
		        b += bytes([len(l)]) + l.encode()
		    return b + b"\0" + struct.pack(">HH", t, 1)
		end = time.time() + 3
		while time.time() < end:
		    for m in (os.urandom(random.randint(0, 600)), q("nas.rustynet"),
		              q("r%d.example.test" % random.getrandbits(32))):
		        try:
		            s.sendto(m, ("100.100.100.100", 53))
		        except OSError:
		            pass
	PY
	local pid=$! t0
	sleep 1
	t0=$(now_ms)
	rnn c status >/dev/null || return 1
	echo "status took $(($(now_ms) - t0)) ms during the flood"
	[ $(($(now_ms) - t0)) -lt 1000 ] || return 1
	wait "$pid"
	is "${IP4[a]}" qc c @100.100.100.100 nas.rustynet A
}
check "a UDP flood stalls neither the daemon nor the zone" flood
check "dig still answers after the flood" wait_for 3 is 192.0.2.80 qc c @100.100.100.100 www.example.test A
rnn c dns inspect --json | python3 -c "import json,sys; print('# c after the flood:', json.load(sys.stdin)['stats'])" || true

# ---------------------------------------------------------------- extra records (admin)
check "admin: dns records add printer A 192.168.1.5" ctl dns records add printer A 192.168.1.5
check "c resolves printer.rustynet to it (within 5 s)" \
	wait_for 5 is 192.168.1.5 qc c @100.100.100.100 printer.rustynet A
check "admin: dns records add svc.example.com AAAA 2001:db8::80 (outside the zone)" \
	ctl dns records add svc.example.com AAAA 2001:db8::80
check "c resolves svc.example.com AAAA from the record (within 5 s)" \
	wait_for 5 is 2001:db8::80 qc c @100.100.100.100 svc.example.com AAAA
records_listed() {
	ctl dns records list --json | python3 -c "import json,sys
r=json.load(sys.stdin)['records']; print(r)
sys.exit(0 if [(x['name'], x['type'], x['value']) for x in r] == [('printer.rustynet', 'A', '192.168.1.5'), ('svc.example.com', 'AAAA', '2001:db8::80')] else 1)"
}
check "dns records list --json shows both" records_listed
check "a bad record is a usage error and changes nothing" \
	eval "fails_with 2 'not a unicast IPv4' ctl dns records add bad A 2001:db8::1 && records_listed"
check "admin: dns records remove printer" ctl dns records remove printer
check "printer.rustynet is NXDOMAIN on c again (within 5 s)" \
	wait_for 5 status_is NXDOMAIN @100.100.100.100 printer.rustynet A
check "admin: dns records clear" ctl dns records clear

# ---------------------------------------------------------------- up --accept-dns=false on b
# Magic DNS off on this device: the resolver stops, its addresses go, resolv.conf is the original
# byte for byte; the choice is kept across a restart; --accept-dns brings it all back.
b_inspect() { rnn b dns inspect --json | python3 -c "import json,sys; j=json.load(sys.stdin); print('accept_dns', j['accept_dns'], 'serving', j['serving']); sys.exit(0 if (j['accept_dns'], j['serving']) == ($1, $1) else 1)"; }
dns_off_b() {
	is "${IP4[a]}" qc b @100.100.100.100 nas.rustynet A || return 1 # alive before
	rnn b up --accept-dns=false || return 1
	cmp "$T_DIR/b.resolv.orig" "$T_DIR/b.resolv.conf" || return 1
	b_inspect False || return 1
	! qc b @100.100.100.100 +time=1 nas.rustynet A
}
check "b up --accept-dns=false: resolver stopped, resolv.conf the original byte for byte" dns_off_b
check "rustynet dns inspect (text) on b says Magic DNS is off on this device" \
	sh -c "'$RNCLI' --socket '${MESH_SOCK[b]}' dns inspect | grep -q 'off on this device'"
check "b's choice is saved 0600 in its state dir" \
	sh -c "grep -q '\"accept_dns\": false' '${MESH_ST[b]}/dns.json' && [ \$(stat -c %a '${MESH_ST[b]}/dns.json') = 600 ]"
off_after_restart() {
	rnn b down || return 1
	wait_for 10 sh -c "! kill -0 ${MESH_PID[b]} 2>/dev/null" || return 1
	mesh_node_start b || return 1
	wait_for 10 b_inspect False || return 1
	cmp "$T_DIR/b.resolv.orig" "$T_DIR/b.resolv.conf"
}
check "after a restart b keeps Magic DNS off and its resolv.conf untouched" off_after_restart
dns_on_b() {
	rnn b up --accept-dns || return 1
	wait_for 5 rc_ours "$T_DIR/b.resolv.conf" || return 1
	wait_for 5 is "${IP4[a]}" qc b @100.100.100.100 nas.rustynet A
}
check "b up --accept-dns: Magic DNS serves again and resolv.conf points at it" dns_on_b
check "up --accept-dns=maybe is a usage error" fails_with 2 "accept-dns takes" rnn b up --accept-dns=maybe

# ---------------------------------------------------------------- rename, offline
check "rename nas-2 to files" ctl nodes rename nas-2 files
renamed() { is "${IP4[b]}" qc c @100.100.100.100 files.rustynet A; }
check "the rename reaches c within 2 s" wait_for 2 renamed
check "the old name is NXDOMAIN" status_is NXDOMAIN @100.100.100.100 nas-2.rustynet A

check "c goes down (rustynet down)" rnn c down
offline_marked() {
	rnn a dns inspect --json | python3 -c "
import json,sys
j=json.load(sys.stdin)
web=[r for r in j['records'] if r['node']=='web']
assert web and all(not r['online'] for r in web), web"
}
# The server calls a node offline RN_MAPPER_ONLINE_S (60 s; 8 s here) after its last poll.
OFF_S=$(rn_has_test_hooks "$RNC" && echo 30 || echo 75)
check "inspect on a marks web offline (within $OFF_S s)" wait_for "$OFF_S" offline_marked
check "an offline node still resolves" is "${IP4[c]}" qc a @100.100.100.100 web.rustynet A
check "inspect (text) lists records and the wiring" sh -c "'$RNCLI' --socket '${MESH_SOCK[a]}' dns inspect | tee /dev/stderr | grep -q 'web.rustynet.*offline'"

# ---------------------------------------------------------------- restore
# down_restores NODE: `rustynet down`, the daemon exits (it restores before it does), and the
# node's resolv.conf is the original byte for byte.
down_restores() {
	rnn "$1" down || return 1
	wait_for 10 sh -c "! kill -0 ${MESH_PID[$1]} 2>/dev/null" || return 1
	cmp "$T_DIR/$1.resolv.orig" "$T_DIR/$1.resolv.conf"
}
check "a down restores its resolv.conf byte for byte" down_restores a
check "the backup is gone after down" test ! -e "${MESH_ST[a]}/resolv.conf.backup"

crash_restart() {
	kill -KILL "${MESH_PID[b]}" && wait "${MESH_PID[b]}" 2>/dev/null
	rc_ours "$T_DIR/b.resolv.conf" || return 1 # the crash left ours in place
	mesh_node_start b || return 1
	wait_for 5 is "${IP4[a]}" qc b @100.100.100.100 nas.rustynet A
}
check "after kill -9 b restarts and serves again" crash_restart
check "b down after the crash restores the original byte for byte" down_restores b

clobbered() {
	mesh_node_start b || return 1
	wait_for 5 rc_ours "$T_DIR/b.resolv.conf" || return 1
	printf 'nameserver 9.9.9.9\n' >"$T_DIR/b.resolv.conf"
	rnn b dns inspect | tee /dev/stderr | grep -q "rewritten by someone else" || return 1
	rnn b down || return 1
	wait_for 10 sh -c "! kill -0 ${MESH_PID[b]} 2>/dev/null" || return 1
	[ "$(cat "$T_DIR/b.resolv.conf")" = "nameserver 9.9.9.9" ]
}
check "a resolv.conf someone else rewrote is reported and not clobbered" clobbered

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
