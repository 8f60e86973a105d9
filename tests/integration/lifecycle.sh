#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# lifecycle: rustynet-wg starts, refuses, serves and stops the way wireguard-go does.
#
#   ns L                                   ns M
#   +------------------------------+       +------------------------------+
#   | IF_D (daemon mode, no -f)    |       | IF_D (same name, other ns:   |
#   | IF_F (foreground, -f)        |       |       /run is shared, so the |
#   +------------------------------+       |       UAPI socket collides)  |
#                                          +------------------------------+
# No traffic: this is about the process. Checks: bad arguments exit 2 with usage; daemon mode
# returns once the interface and socket exist; the socket is 0600; a second daemon for the same
# name is refused with a clear message and the first keeps running; a malformed UAPI request
# gets errno=22 and changes nothing; SIGTERM and deleting the interface both end the daemon
# cleanly (socket removed); no sanitizer report in any log.
set -eu
TEST_TAG=life
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan 9
need_root
need_cmds wg ip python3

if ! rn_available; then
	skip "lifecycle: all checks" "RUSTYNET_WG is not set to a rustynet-wg binary"
	t_done
fi

NS_L="$T_ID-l"
NS_M="$T_ID-m"
IF_D="rn$$d"
IF_F="rn$$f"
ns_add "$NS_L"
ns_add "$NS_M"
LOG_D="$T_DIR/daemon.log"

bad_args() {
	local rc
	for args in "" "a b" "this-name-is-far-too-long" "bad/name" "--no-such-flag x"; do
		rc=0
		# shellcheck disable=SC2086
		"$RUSTYNET_WG" $args >"$T_DIR/out" 2>&1 || rc=$?
		[ "$rc" = 2 ] || { echo "args '$args': exit $rc, want 2"; return 1; }
	done
	grep -q "Usage" "$T_DIR/out" || grep -q "invalid" "$T_DIR/out"
}
check "bad arguments exit 2 with a usage or validation message" bad_args
check "--version prints the version" sh -c "'$RUSTYNET_WG' --version | grep -q '^rustynet-wg [0-9]'"

daemon_pid() { ip netns pids "$1" | while read -r p; do
	[ "$(readlink "/proc/$p/exe")" = "$RUSTYNET_WG" ] && grep -qz "$2" "/proc/$p/cmdline" && echo "$p"
	done | head -n 1; }

start_daemon_mode() {
	T_SOCKS+=("$UAPI_DIR/$IF_D.sock")
	# Without -f and WG_PROCESS_FOREGROUND it must fork and return once the interface exists.
	env -u WG_PROCESS_FOREGROUND ip netns exec "$NS_L" "$RUSTYNET_WG" "$IF_D" >"$LOG_D" 2>&1 || return 1
	ip -n "$NS_L" link show "$IF_D" >/dev/null && ip netns exec "$NS_L" wg show "$IF_D" >/dev/null
}
check "daemon mode returns 0 once the interface and UAPI socket are up" start_daemon_mode

socket_mode() { [ "$(stat -c %a "$UAPI_DIR/$IF_D.sock")" = 600 ]; }
check "the UAPI socket is mode 0600" socket_mode

refuse_second() {
	local rc=0
	ip netns exec "$NS_M" env WG_PROCESS_FOREGROUND=1 "$RUSTYNET_WG" "$IF_D" >"$T_DIR/second" 2>&1 || rc=$?
	cat "$T_DIR/second"
	[ "$rc" = 1 ] && grep -q "another daemon serves this interface" "$T_DIR/second" &&
		ip netns exec "$NS_L" wg show "$IF_D" >/dev/null && [ -n "$(daemon_pid "$NS_L" "$IF_D")" ]
}
check "a second daemon for the same name is refused and the first keeps serving" refuse_second

uapi_raw() { python3 - "$UAPI_DIR/$IF_D.sock" "$1" <<-'PY'
	import socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.settimeout(3)
	s.connect(sys.argv[1])
	s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
	out = b""
	while not out.endswith(b"\n\n"):
	    chunk = s.recv(4096)
	    if not chunk:
	        break
	    out += chunk
	sys.stdout.write(out.decode())
	PY
}
bad_uapi() {
	local before after
	wg genkey | ip netns exec "$NS_L" wg set "$IF_D" listen-port 51999 private-key /dev/stdin
	before=$(ip netns exec "$NS_L" wg showconf "$IF_D")
	uapi_raw 'set=1\nlisten_port=51998\nbogus_key=1\n\n' | tee "$T_DIR/resp"
	grep -qx "errno=22" "$T_DIR/resp" || return 1
	uapi_raw 'set=1\npublic_key=zz\n\n' | grep -qx "errno=22" || return 1
	after=$(ip netns exec "$NS_L" wg showconf "$IF_D")
	[ "$before" = "$after" ] || { echo "configuration changed"; return 1; }
	ip netns exec "$NS_L" wg show "$IF_D" listen-port | grep -qx 51999
}
check "a malformed UAPI request gets errno=22 and changes nothing" bad_uapi

sigterm_stops() {
	local pid
	pid=$(daemon_pid "$NS_L" "$IF_D")
	[ -n "$pid" ] || { echo "daemon not found"; return 1; }
	kill -TERM "$pid"
	wait_for 5 sh -c "! kill -0 $pid 2>/dev/null" || return 1
	[ ! -e "$UAPI_DIR/$IF_D.sock" ] || { echo "socket left behind"; return 1; }
	! ip -n "$NS_L" link show "$IF_D" >/dev/null 2>&1 || { echo "interface left behind"; return 1; }
}
check "SIGTERM ends the daemon and removes its socket and interface" sigterm_stops

link_del_stops() {
	wg_start "$NS_L" "$IF_F" "$RUSTYNET_WG" || return 1
	local pid=${WG_PID[$IF_F]}
	ip -n "$NS_L" link del "$IF_F"
	wait_for 5 sh -c "! kill -0 $pid 2>/dev/null" || return 1
	[ ! -e "$UAPI_DIR/$IF_F.sock" ] || { echo "socket left behind"; return 1; }
	grep -q "is gone" "${WG_LOG[$IF_F]}"
}
check "deleting the interface ends the daemon and removes its socket" link_del_stops

# The daemon-mode rustynet-wg has its stderr on /dev/null: its reports (LeakSanitizer's at its
# SIGTERM exit above) reach $T_DIR/sanitizer.PID through ASAN_OPTIONS/UBSAN_OPTIONS log_path
# (tests/lib.sh), which logs_clean reads with the foreground logs.
no_sanitizer_reports() { logs_clean "$LOG_D" "${WG_LOG[$IF_F]:-$T_DIR/no-foreground-daemon.log}" "$T_DIR/second"; }
check "no sanitizer reports from either daemon (both stopped), in their logs or report files" no_sanitizer_reports

t_done
