#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# dns-tcp-limits: idle TCP connections to Magic DNS starve no one (issue 12 item 11).
#
#            ns sw: bridge br0 (198.51.100.0/24, 2001:db8:1::/64)
#     +-------------+-------------------+
#   ctl .1        a .10               dns .53
#   rustynet-   rustynetd: Magic DNS  dnsmasq: www.example.test (a's host resolver)
#   control     100.100.100.100:53
#               + a local "attacker" (python) holding idle TCP connections to it
#
# Checks: 80 idle connections from one source address, then 64 from 64 source addresses
# (127.0.0.x): meanwhile a query from another local address (198.51.100.10) is answered
# promptly, over UDP and TCP, for a zone name and a forwarded one; the resolver keeps at most
# RN_RESOLVER_MAX_TCP_PER_ADDR (8) of one address and RN_RESOLVER_MAX_TCP (32) in all (counted
# with ss); the connections left idle are closed after RN_RESOLVER_TCP_FIRST_MS (10 s) while
# the attacker still holds them open; no sanitizer report.
set -eu
TEST_TAG=dnstcp
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 24
need_root
need_cmds python3 dig dnsmasq ss

if ! mesh_have_bins; then
	skip "dns-tcp-limits: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi

UP_NS="$T_ID-dns"
UP_IP=$MESH_UPSTREAM_IP
printf 'nameserver %s\n' "$UP_IP" >"$T_DIR/a.resolv.conf"
mesh_init_or_end
check_ok "upstream dnsmasq starts" mesh_upstream_start "$UP_NS" || t_done
mesh_nodes_or_end a
check "a up (hostname nas)" rnn a up --server "$MESH_URL" --auth-key "$(mesh_key alice)" --hostname nas
NAS=$(mesh_ip4 a)

# ask ARGS...: dig from a's own underlay address (another client than the attacker), 2 s.
ask() { nsx "${MESH_NS[a]}" dig +time=2 +tries=1 +short -b 198.51.100.10 @100.100.100.100 "$@"; }
answers() { local want=$1; shift; [ "$(ask "$@" | tail -n 1)" = "$want" ]; }
served() {
	answers 192.0.2.80 www.example.test A && answers 192.0.2.80 +tcp www.example.test A &&
		answers "$NAS" nas.rustynet A && answers "$NAS" +tcp nas.rustynet A
}
check "alive: a answers zone and forwarded names over UDP and TCP (within 10 s)" wait_for 10 served

# server_conns [ADDR-PREFIX]: established TCP connections on Magic DNS's side (from ADDR-PREFIX)
server_conns() {
	nsx "${MESH_NS[a]}" ss -Htn state established '( sport = :53 )' |
		awk -v p="${1:-}" '$1 ~ /100\.100\.100\.100:53$/ || $3 ~ /100\.100\.100\.100:53$/ {
			peer = ($3 ~ /:53$/) ? $4 : $3; if (p == "" || index(peer, p) == 1) n++
		} END {print n + 0}'
}

# attack N SRC-MODE: a python process in a's namespace opening N TCP connections to
# 100.100.100.100:53 and holding them idle; SRC-MODE "one" (the kernel's source address) or
# "many" (127.0.0.2, .3, ...). It writes "opened N" when all connects returned, then "eof K"
# each time the number the server closed changes.
attack() {
	nsx "${MESH_NS[a]}" python3 -u - "$1" "$2" >"$T_DIR/attack.$2" 2>&1 <<'PY' &
import select, socket, sys, time
n, mode = int(sys.argv[1]), sys.argv[2]
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if mode == "many":
        s.bind(("127.0.0.%d" % (2 + i), 0))
    s.settimeout(2)
    try:
        s.connect(("100.100.100.100", 53))
    except OSError as e:
        print("connect %d: %s" % (i, e))
        continue
    socks.append(s)
print("opened %d" % len(socks))
closed, last = set(), -1
end = time.time() + 120
while time.time() < end:
    r, _, _ = select.select([s for s in socks if s not in closed], [], [], 0.2)
    for s in r:
        try:
            if not s.recv(1):
                closed.add(s)
        except OSError:
            closed.add(s)
    if len(closed) != last:
        last = len(closed)
        print("eof %d" % last)
PY
	ATTACK_PID=$!
	T_BG+=("$ATTACK_PID")
}
attack_opened() { grep -q "^opened $1\$" "$T_DIR/attack.$2"; }
attack_eof() { [ "$(grep '^eof' "$T_DIR/attack.$1" | tail -n 1)" = "eof $2" ]; }
attack_stop() { kill "$ATTACK_PID" 2>/dev/null || true; wait "$ATTACK_PID" 2>/dev/null || true; }

# ---------------------------------------------------------------- one address, 80 connections
attack 80 one
check "80 idle TCP connections from one local address are open (within 10 s)" \
	wait_for 10 attack_opened 80 one
check "a query from another address over UDP, forwarded, is answered at once" \
	answers 192.0.2.80 www.example.test A
check "... over TCP, forwarded" answers 192.0.2.80 +tcp www.example.test A
check "... over UDP, a zone name" answers "$NAS" nas.rustynet A
check "... over TCP, a zone name" answers "$NAS" +tcp nas.rustynet A
keeps() { local n; n=$(server_conns "${2:-}"); echo "established: $n"; [ "$n" = "$1" ]; }
check "the resolver keeps 8 connections of that address, the cap (within 5 s)" \
	wait_for 5 keeps 8 100.100.100.100
check "the attacker's other connections were closed by the resolver" \
	wait_for 5 attack_eof one 72
evicted() { rnn a dns inspect --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]; print(s); assert s["tcp_evicted"] >= 72'; }
check "dns inspect counts the evicted connections (tcp_evicted)" evicted
idle_gone() { [ "$(server_conns)" = 0 ]; }
check "idle connections are closed after the first-query timeout (within 15 s)" \
	wait_for 15 idle_gone
check "... all 80, while the attacker still holds them" \
	sh -c "kill -0 $ATTACK_PID && grep -q '^eof 80\$' '$T_DIR/attack.one'"
attack_stop

# ---------------------------------------------------------------- 64 addresses
attack 64 many
check "64 idle TCP connections from 64 local addresses are open (within 10 s)" \
	wait_for 10 attack_opened 64 many
check "the resolver keeps 32 TCP connections in all, the cap (within 5 s)" wait_for 5 keeps 32
check "the attacker's other 32 were closed by the resolver" wait_for 5 attack_eof many 32
check "meanwhile a TCP query (forwarded) from another address is answered" \
	answers 192.0.2.80 +tcp www.example.test A
check "... and a zone name over TCP" answers "$NAS" +tcp nas.rustynet A
check "... and a forwarded name over UDP" answers 192.0.2.80 www.example.test A
check "idle connections are closed after the first-query timeout again (within 15 s)" \
	wait_for 15 idle_gone
attack_stop
check "a still answers afterwards" served

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
