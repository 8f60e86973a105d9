#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# daemon-cli: rustynetd with its embedded data plane, driven by the rustynet CLI over the
# local control socket.
#
#   ns $NS
#   +-------------------------------------------------------------+
#   | rustynetd --state $T_DIR/st --socket $T_DIR/d.sock          |
#   |           --interface rndPID   (TUN, wg(8) socket in /run)  |
#   +-------------------------------------------------------------+
#        ^ $T_DIR/d.sock (0600, SO_PEERCRED)      ^ /var/run/wireguard/rndPID.sock
#   rustynet --socket $T_DIR/d.sock ...           wg show rndPID
#
# Checks: status (text and --json) shows the interface and the public key that wg(8) reports;
# the state dir is 0700 and node.key 0600, and the key survives a restart; another uid is
# refused (by the socket mode, and by SO_PEERCRED when the mode is opened up); a missing daemon
# gives the "not running" hint (exit 1); an unknown command exits 2; `down` removes the
# interface and both sockets; the daemon's log has no sanitizer report.
set -eu
TEST_TAG=dcli
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan 24
need_root
need_cmds python3 wg setpriv

BUILD_DIR=$(dirname "$(dirname "$(dirname "${RUSTYNET_WG:-/nonexistent/x/y/z}")")")
RND=$BUILD_DIR/src/rustynetd/rustynetd
RN=$BUILD_DIR/src/rustynet/rustynet
if [ ! -x "$RND" ] || [ ! -x "$RN" ]; then
	skip "daemon-cli: all checks" "no rustynetd/rustynet in $BUILD_DIR (set RUSTYNET_WG)"
	t_done
fi

NS="$T_ID-ns"
IFN="rnd$$"
ST=$T_DIR/st
SOCK=$T_DIR/d.sock
LOG=$T_DIR/rustynetd.log
DPID=
T_SOCKS+=("$UAPI_DIR/$IFN.sock")
ns_add "$NS"

rn() { "$RN" --socket "$SOCK" "$@"; }
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }

daemon_start() {
	ip netns exec "$NS" env UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
		"$RND" --state "$ST" --socket "$SOCK" --interface "$IFN" >>"$LOG" 2>&1 </dev/null &
	DPID=$!
	T_BG+=("$DPID")
	wait_for 15 rn status || { tail -n 20 "$LOG" >&2; return 1; }
}

daemon_gone() { ! kill -0 "$DPID" 2>/dev/null; }

pub_of_status_json() {
	rn status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])'
}

json_ok() {
	rn status --json >"$T_DIR/st.json" || return 1
	python3 - "$T_DIR/st.json" "$IFN" "$(nsx "$NS" wg show "$IFN" public-key)" <<-'PY'
		import json, sys
		j = json.load(open(sys.argv[1]))
		print(j)
		assert j["interface"] == sys.argv[2], "interface"
		assert j["public_key"] == sys.argv[3], "public key differs from wg show"
		assert j["logged_in"] is False and isinstance(j["peers"], list)
		assert isinstance(j["listen_port"], int)
	PY
}

status_text_ok() {
	rn status >"$T_DIR/st.txt" || return 1
	cat "$T_DIR/st.txt"
	grep -qF "interface: $IFN" "$T_DIR/st.txt" &&
		grep -qF "public key: $(nsx "$NS" wg show "$IFN" public-key)" "$T_DIR/st.txt" &&
		grep -qF "logged in: no" "$T_DIR/st.txt"
}

# The peer set with wg(8) through the UAPI shows up in rustynet status.
peer_shows() {
	local pub
	pub=$(wg genkey | wg pubkey)
	nsx "$NS" wg set "$IFN" peer "$pub" allowed-ips 100.64.0.9/32 endpoint 192.0.2.9:51820 || return 1
	rn status | tee "$T_DIR/p.txt"
	grep -qF "peer: $pub" "$T_DIR/p.txt" && grep -qF "endpoint: 192.0.2.9:51820" "$T_DIR/p.txt" &&
		grep -qF "allowed ips: 100.64.0.9/32" "$T_DIR/p.txt" && grep -qF "handshake: never" "$T_DIR/p.txt"
}

nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# SO_PEERCRED, not only the file mode: open the path up and check the daemon still refuses.
peercred_refuses() {
	local rc=0
	chmod 0711 "$T_DIR" && chmod 0666 "$SOCK" || return 1
	nobody "$RN" --socket "$SOCK" status >"$T_DIR/out" 2>"$T_DIR/err" || rc=$?
	chmod 0700 "$T_DIR"
	chmod 0600 "$SOCK"
	cat "$T_DIR/err"
	[ "$rc" = 1 ] && grep -qF "uid 65534 may not control rustynetd" "$T_DIR/err"
}

all_gone() {
	daemon_gone || { echo "rustynetd still runs"; return 1; }
	[ ! -e "$SOCK" ] || { echo "$SOCK left behind"; return 1; }
	[ ! -e "$UAPI_DIR/$IFN.sock" ] || { echo "$UAPI_DIR/$IFN.sock left behind"; return 1; }
	! ip -n "$NS" link show "$IFN" 2>/dev/null || { echo "$IFN still exists"; return 1; }
}

# log_clean: every rustynetd started here has stopped; no report in its log or a report file.
log_clean() {
	daemon_gone || { echo "rustynetd still runs"; return 1; }
	logs_clean "$LOG"
}

# ---------------------------------------------------------------- first start
if ! check_ok "rustynetd starts and answers status" daemon_start; then
	t_done
fi
check "status shows the interface and wg's public key" status_text_ok
check "status --json parses, same public key as wg show" json_ok
check "state dir is 0700" mode_is "$ST" 700
check "node.key is 0600" mode_is "$ST/node.key" 600
check "control socket is 0600" mode_is "$SOCK" 600
check "wg pubkey of node.key is the status key" \
	test "$(wg pubkey <"$ST/node.key")" = "$(pub_of_status_json)"
check "a peer set with wg(8) shows in status" peer_shows
check "version --json names both versions" \
	sh -c "'$RN' --socket '$SOCK' version --json | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j[\"rustynet\"] and j[\"rustynetd\"]'"
check "uid 65534 is refused at the socket (exit 1, says root)" \
	fails_with 1 "run this command as root" nobody "$RN" --socket "$SOCK" status
check "uid 65534 is refused by SO_PEERCRED" peercred_refuses
check "a second rustynetd on the same socket is refused" \
	fails_with 1 "another rustynetd already serves" \
	"$RND" --state "$T_DIR/st2" --socket "$SOCK" --interface "rnx$$"
check "status without a daemon: exit 1 with the hint" \
	fails_with 1 "rustynetd is not running (no socket at /nonexistent/d.sock): start it with \`rustynetd --state DIR\`" \
	"$RN" --socket /nonexistent/d.sock status
check "unknown command exits 2 with usage" fails_with 2 "Usage: rustynet" "$RN" bogus
check "unknown option of status exits 2" fails_with 2 "unexpected argument" rn status --bogus
check "--help lists the login commands" sh -c "'$RN' --help | grep -q status && '$RN' --help | grep -qE '^  up ' && '$RN' --help | grep -qE '^  logout ' && '$RN' --help | grep -qE '^  ping '"

# ---------------------------------------------------------------- restart keeps the key
PUB1=$(pub_of_status_json)
kill -TERM "$DPID"
check "SIGTERM stops rustynetd and removes everything" wait_for 10 all_gone
if check_ok "rustynetd restarts" daemon_start; then
	check "node key survives a restart" test "$(pub_of_status_json)" = "$PUB1"
	check "rustynet down succeeds" rn down
	check "down removed the interface and both sockets" wait_for 10 all_gone
fi

# ---------------------------------------------------------------- refusals at start-up
mkdir -p "$T_DIR/wst" && chmod 0777 "$T_DIR/wst"
check "a state dir writable by others is refused" \
	fails_with 1 "chmod 700" "$RND" --state "$T_DIR/wst" --socket "$T_DIR/w.sock" --interface "rnw$$"
check "rustynetd with a bad flag exits 2" fails_with 2 "Usage: rustynetd" "$RND" --bogus
check "rustynetd log has no sanitizer report" log_clean
[ "$T_FAIL" = 0 ] || { echo "# --- rustynetd log:"; tail -n 30 "$LOG" | sed 's/^/#   /'; }
t_done
