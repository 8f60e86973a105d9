#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# mesh-restart: restarts and crashes of the control server and of rustynetd.
#
#            ns sw: bridge br0 (198.51.100.0/24)
#     +-------------+-------------+
#   ctl .1        n1 .10        n2 .11
#   control       rustynetd     rustynetd
#
# Checks: with the control server stopped, the tunnel keeps working and status says the server
# is unreachable; restarted on a state dir restored from an online backup (taken while it
# served), it serves the same network (same addresses, tokens and pins: new maps reach the nodes). rustynetd killed with SIGKILL under traffic and restarted: exactly one of
# each address and route it installs (no duplicates), the mesh back within 5 s; a peer that
# was sending to it reaches it again within 2 s, though it sends nothing itself. A cached map
# past the validity its server set (8 s here, by the test hook RUSTYNET_CONTROL_CACHE_VALID_S)
# is not run at start: no peers, status says it waits for the control server, and the mesh
# comes back once the server is reached; a running node keeps its map past it. `down` leaves
# no rustynet route or address behind.
set -eu
TEST_TAG=mrst
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
# 48 checks; the cached map part is 17 of them, one skip line without test hooks
plan "$(rn_has_test_hooks "$RNC" && echo 48 || echo 33)"
need_root
need_cmds python3

if ! mesh_have_bins; then
	skip "mesh-restart: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
mesh_init_or_end
for n in n1 n2; do
	check_ok "rustynetd $n starts" mesh_node "$n" || { mesh_dump_logs; t_done; }
	check "$n up" mesh_up "$n" alice
done
N1=$(mesh_ip4 n1 || echo none) N2=$(mesh_ip4 n2 || echo none) N26=$(mesh_ip6 n2 || echo none)
N16=$(mesh_ip6 n1 || echo none)
check "n1 pings n2" wait_for 5 mesh_ping n1 "$N2"

# ---------------------------------------------------------------- control server down
server_unreachable() { mesh_json n1 'j["server"]["connected"]' | grep -qx False; }
# ctl_restore: the state dir from now on is the one restored from the backup.
ctl_restore() {
	"$RNC" --state "$T_DIR/ctl-restored" restore "$T_DIR/backup.db" || return 1
	MESH_CTL_ST=$T_DIR/ctl-restored
}
server_back() { mesh_json n1 'j["server"]["connected"]' | grep -qx True; }
check "an online backup while the server serves (mode 0600)" \
	sh -c "'$RNC' --state '$MESH_CTL_ST' backup '$T_DIR/backup.db' && [ \"\$(stat -c %a '$T_DIR/backup.db')\" = 600 ]"
mesh_ctl_stop
check "with the server stopped, n1 still pings n2" mesh_ping n1 "$N2"
check "status says the server is unreachable" wait_for 40 server_unreachable
check "... and the tunnel still works after that" mesh_ping n2 "$N1"
check "restore makes a new state dir from the backup" ctl_restore
check "restore never writes over a state dir" fails_with 1 "never writes over" \
	"$RNC" --state "$MESH_CTL_ST" restore "$T_DIR/backup.db"
check "the server restarts on the restored state" mesh_ctl_start
check "n1 reconnects" wait_for 40 server_back
check "n1 kept its address" test "$(mesh_ip4 n1)" = "$N1"
ctl nodes rename n2 n2b >/dev/null 2>&1
check "a change after the restart reaches n1" \
	wait_for 3 sh -c "'$RNCLI' --socket '${MESH_SOCK[n1]}' status --json | grep -q n2b"

# ---------------------------------------------------------------- kill -9 rustynetd
# count_installed NS: how many of the mesh routes and addresses are in NS (each must be 1).
installed() {
	local ns=${MESH_NS[n1]} if=${MESH_IF[n1]} r4 r6 a4 a6
	r4=$(ip -n "$ns" route show 100.64.0.0/10 | wc -l)
	r6=$(ip -n "$ns" -6 route show "$(python3 -c "import ipaddress,sys; print(ipaddress.ip_network(sys.argv[1] + '/48', strict=False))" "$N26")" | wc -l)
	a4=$(ip -n "$ns" -4 addr show dev "$if" 2>/dev/null | grep -c "inet $N1/32" || true)
	a6=$(ip -n "$ns" -6 addr show dev "$if" 2>/dev/null | grep -ci "inet6 $N16/128" || true)
	echo "routes v4 $r4 v6 $r6, addresses v4 $a4 v6 $a6"
	[ "$r4" = 1 ] && [ "$r6" = 1 ] && [ "$a4" = 1 ] && [ "$a6" = 1 ]
}
check "n1 has exactly one of each mesh route and address" installed

# not nsx: $! must be ping itself (a function runs in a subshell, which kill would not stop)
ip netns exec "${MESH_NS[n1]}" ping -n -i 0.05 -w 30 "$N2" >/dev/null 2>&1 &
PING=$!
T_BG+=("$PING")
sleep 0.5
kill -KILL "${MESH_PID[n1]}"
wait "${MESH_PID[n1]}" 2>/dev/null || true
t0=$(now_ms)
check "rustynetd restarts after SIGKILL" mesh_node_start n1
check "mesh back within 5 s of the restart" wait_for 5 mesh_ping n1 "$N2"
note "mesh back $(($(now_ms) - t0)) ms after the kill"
kill "$PING" 2>/dev/null || true
wait "$PING" 2>/dev/null || true
check "after the crash and restart: one of each route and address" installed
# the daemon exits with status 0 on SIGTERM
stop_n1() { kill -TERM "${MESH_PID[n1]}" && wait "${MESH_PID[n1]}"; }
check "rustynetd stops on SIGTERM" stop_n1
check "rustynetd starts again" mesh_node_start n1
check "mesh back again" wait_for 5 mesh_ping n1 "$N2"
check "still one of each" installed

# ---------------------------------------------------------------- peers reach a restarted node
# n2 sends on a session n1 forgets when it is killed. Restarted, n1 sends nothing of its own (no
# ping of its own runs now), so n2 goes on using that session until n1 starts a new one: n2's
# ping must get through within 2 s of n1's start (it took ~16 s, n2's own KEEPALIVE +
# REKEY_TIMEOUT, before rustynetd initiated to its peers at start).
check "n2 pings n1 before the crash" mesh_ping n2 "$N1"
kill -KILL "${MESH_PID[n1]}"
wait "${MESH_PID[n1]}" 2>/dev/null || true
check "rustynetd restarts after SIGKILL with no traffic of its own" mesh_node_start n1
t0=$(now_ms)
n2_pings_n1() { nsx "${MESH_NS[n2]}" ping -n -c 1 -W 0.25 "$N1" >/dev/null 2>&1; }
check "n2 reaches the restarted n1 within 2 s" wait_for 2 n2_pings_n1
note "n2 reached n1 $(($(now_ms) - t0)) ms after its restart"

# ---------------------------------------------------------------- cached map validity
VALID=8
map_valid_for() { [ "$(mesh_json n1 'j["netmap"]["cache_valid_s"]')" = "$1" ]; }
check "default: the map's cache validity is 24 h" map_valid_for 86400
mesh_ctl_stop
if rn_has_test_hooks "$RNC"; then
	check "the server restarts with RUSTYNET_CONTROL_CACHE_VALID_S=$VALID" \
		mesh_ctl_start RUSTYNET_CONTROL_CACHE_VALID_S=$VALID
	check "n1 runs a map valid for $VALID s" wait_for 40 map_valid_for $VALID
	check "n2 too" wait_for 10 sh -c "'$RNCLI' --socket '${MESH_SOCK[n2]}' status --json | grep -q '\"cache_valid_s\": $VALID'"
	issued=$(mesh_json n1 'j["netmap"]["issued_at"]')
	mesh_ctl_stop
	past_validity() { [ "$(date +%s)" -gt $((issued + VALID + 1)) ]; }
	check "wait until n1's map is past its validity" wait_for $((VALID + 10)) past_validity
	check "past the validity, the running n1 still pings n2 (running nodes keep their map)" \
		mesh_ping n1 "$N2"
	restart_n1() { kill -TERM "${MESH_PID[n1]}" && wait "${MESH_PID[n1]}"; mesh_node_start n1; }
	check "n1 restarts with the server unreachable" restart_n1
	check "n1 runs no map" test "$(mesh_version n1)" = 0
	check "status --json: cached map expired, waiting for the control server" \
		sh -c "'$RNCLI' --socket '${MESH_SOCK[n1]}' status --json | grep -q 'cached map expired, waiting for the control server'"
	check "status (text) says so" \
		sh -c "'$RNCLI' --socket '${MESH_SOCK[n1]}' status | grep -q 'none running: cached map expired'"
	check "n1 has no peers" test "$(mesh_json n1 'len(j["peers"])')" = 0
	check "n1 cannot ping n2" mesh_no_ping n1 "$N2"
	check "n2 cannot ping n1" mesh_no_ping n2 "$N1"
	check "the server restarts" mesh_ctl_start RUSTYNET_CONTROL_CACHE_VALID_S=$VALID
	check "once the server is reached, n1 runs a map again" \
		wait_for 40 sh -c "[ \"\$('$RNCLI' --socket '${MESH_SOCK[n1]}' status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"netmap\"][\"version\"])')\" != 0 ]"
	check "... and pings n2" wait_for 10 mesh_ping n1 "$N2"
	check "... status no longer says expired" \
		test "$(mesh_json n1 'j["netmap"]["cache_expired"]')" = None
	check "one of each route and address again" installed
else
	skip "cached map validity" "$RNC is not a test build (meson -Dtest_hooks=true)"
	check "the server restarts" mesh_ctl_start
fi

# ---------------------------------------------------------------- down
gone() {
	local ns=${MESH_NS[n1]}
	ip -n "$ns" route show table all | grep -E "100\.64\.0\.0/10|rustynet|${MESH_IF[n1]}" && return 1
	ip -n "$ns" -6 route show table all | grep -E "${MESH_IF[n1]}" && return 1
	ip -n "$ns" addr | grep -F "$N1" && return 1
	return 0
}
check "rustynet down" rnn n1 down
check "down leaves no rustynet route or address" wait_for 5 gone

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
