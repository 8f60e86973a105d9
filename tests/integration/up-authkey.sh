#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# up-authkey: the auth key need not be on the command line (issue 12 item 10).
#
#            ns sw: bridge br0 (198.51.100.0/24, 2001:db8:1::/64)
#     +-------------+-------------+-------------+
#   ctl .1        n1 .10        n2 .11        n3 .12
#   rustynet-   rustynetd     rustynetd     rustynetd
#   control     (alice)       (alice)       (alice)
#
# Checks: the refused forms, each exiting as documented with a clear error that never quotes the
# key, and leaving n3 logged out with the key still unused: --auth-key with --auth-key-file
# (exit 2), a file others may read (1), a missing file (1), an empty, an oversized, a two-line
# and a garbage file (2), empty standard input (2). Then n1 enrolls with --auth-key-file FILE
# given as a FIFO, so the CLI is seen running (ps shows the path) before the key exists, and ps
# never shows the key; n2 the same with --auth-key - from a pipe; n3 with a mode-600 file and
# the key the refused attempts left unused. n1 pings n2 and n3.
set -eu
TEST_TAG=upkey
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 22
need_root
need_cmds python3 ps

if ! mesh_have_bins; then
	skip "up-authkey: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
mesh_init_or_end
mesh_nodes_or_end n1 n2 n3

KEY3=$(mesh_key alice)
check "an auth key for n3 was made" test -n "$KEY3"
SECRET3=$(cut -d. -f2 <<<"$KEY3")
printf '%s\n' "$KEY3" >"$T_DIR/key3"
chmod 600 "$T_DIR/key3"

# refused NAME WANT_RC WANT_TEXT ARGS...: `up ARGS` on n3 exits WANT_RC, its error has WANT_TEXT
# and not the key's secret, and n3 is still logged out.
refused() {
	local want_rc=$1 text=$2 rc=0
	shift 2
	rnn n3 up --server "$MESH_URL" --hostname n3 "$@" </dev/null >"$T_DIR/out" 2>&1 || rc=$?
	sed 's/^/#   /' "$T_DIR/out"
	[ "$rc" = "$want_rc" ] || { echo "exit $rc, want $want_rc"; return 1; }
	grep -qF -- "$text" "$T_DIR/out" || { echo "no \"$text\" in the error"; return 1; }
	! grep -qF -- "$SECRET3" "$T_DIR/out" || { echo "the error quotes the key"; return 1; }
	[ "$(mesh_json n3 'j["logged_in"]')" = False ]
}
check "--auth-key with --auth-key-file: usage error (2)" \
	refused 2 "give the auth key once" --auth-key "$KEY3" --auth-key-file "$T_DIR/key3"
check "--auth-key-file with --auth-key -: usage error (2)" \
	refused 2 "give the auth key once" --auth-key-file "$T_DIR/key3" --auth-key -
cp "$T_DIR/key3" "$T_DIR/key-open" && chmod 644 "$T_DIR/key-open"
check "a key file others may read is refused (1), saying chmod 600" \
	refused 1 "chmod 600" --auth-key-file "$T_DIR/key-open"
check "a missing key file (1)" refused 1 "cannot open the auth key file" \
	--auth-key-file "$T_DIR/no-such-file"
install -m 600 /dev/null "$T_DIR/key-empty"
check "an empty key file (2)" refused 2 "is empty" --auth-key-file "$T_DIR/key-empty"
head -c 4096 /dev/zero | tr '\0' a >"$T_DIR/key-big" && chmod 600 "$T_DIR/key-big"
check "an oversized key file (2)" refused 2 "more than an auth key" --auth-key-file "$T_DIR/key-big"
printf '%s\nsomething else\n' "$KEY3" >"$T_DIR/key-2lines" && chmod 600 "$T_DIR/key-2lines"
check "a two-line key file (2)" refused 2 "more than one line" --auth-key-file "$T_DIR/key-2lines"
printf 'not-a-key\n' >"$T_DIR/key-bad" && chmod 600 "$T_DIR/key-bad"
check "a file that holds no auth key (2)" refused 2 "not usable" --auth-key-file "$T_DIR/key-bad"
check "empty standard input with --auth-key - (2)" refused 2 "standard input is empty" --auth-key -

# up_via_fifo NODE FORM: `up` on NODE reading its key from a FIFO (FORM "file": --auth-key-file
# FIFO; "stdin": --auth-key - with the FIFO as standard input). While the CLI waits for the
# key, ps shows it running and never shows the key; then the key is written and it enrolls.
up_via_fifo() {
	local n=$1 form=$2 key secret fifo="$T_DIR/$1.fifo" pid seen=0 i wfd=
	key=$(mesh_key alice) || return 1
	secret=$(cut -d. -f2 <<<"$key")
	mkfifo -m 600 "$fifo"
	# the CLI itself in the background ($! is its pid), not a shell function's subshell
	if [ "$form" = file ]; then
		"$RNCLI" --socket "${MESH_SOCK[$n]}" up --server "$MESH_URL" --hostname "$n" \
			--auth-key-file "$fifo" >"$T_DIR/$n.up" 2>&1 </dev/null &
	else
		# read-write, so opening it does not block until a writer comes
		exec {wfd}<>"$fifo"
		"$RNCLI" --socket "${MESH_SOCK[$n]}" up --server "$MESH_URL" --hostname "$n" \
			--auth-key - >"$T_DIR/$n.up" 2>&1 <&"$wfd" &
	fi
	pid=$!
	for i in $(seq 1 50); do
		if ps -o args= -p "$pid" | grep -q -- "--hostname $n"; then
			seen=1
			break
		fi
		sleep 0.1
	done
	ps -o args= -p "$pid" | sed 's/^/#   ps: /'
	[ "$seen" = 1 ] || { echo "the CLI was never seen running"; kill "$pid"; return 1; }
	ps -eo args= >"$T_DIR/ps.out" # to a file first: a grep in the pipe would show the key
	if grep -qF -- "$secret" "$T_DIR/ps.out"; then
		echo "ps shows the key"
		kill "$pid"
		return 1
	fi
	if [ -n "$wfd" ]; then
		printf '%s\n' "$key" >&"$wfd"
		exec {wfd}>&-
	else
		printf '%s\n' "$key" >"$fifo"
	fi
	wait "$pid" || { cat "$T_DIR/$n.up"; return 1; }
	sed 's/^/#   /' "$T_DIR/$n.up"
	[ "$(mesh_json "$n" 'j["logged_in"]')" = True ]
}
check "n1 enrolls with --auth-key-file (a FIFO); ps shows the CLI, never the key" up_via_fifo n1 file
check "n2 enrolls with --auth-key - (a pipe); ps shows the CLI, never the key" up_via_fifo n2 stdin
check "n3 enrolls with --auth-key-file (mode 600), the key the refused attempts left unused" \
	rnn n3 up --server "$MESH_URL" --hostname n3 --auth-key-file "$T_DIR/key3"
# --auth-key KEY on the command line: the CLI zeroes its argv copy at once. A fake daemon (a
# Unix socket that reads the request and never answers) keeps the CLI waiting, and shows the
# key did arrive; meanwhile /proc/PID/cmdline (what ps shows) no longer holds it.
argv_wiped() {
	local key secret pid sock="$T_DIR/fake.sock" cmd
	key=$(mesh_key alice) || return 1
	secret=$(cut -d. -f2 <<<"$key")
	python3 - "$sock" "$T_DIR/fake.got" <<'PY' &
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
c, _ = s.accept()
n = struct.unpack(">I", c.recv(4, socket.MSG_WAITALL))[0]
open(sys.argv[2], "wb").write(c.recv(n, socket.MSG_WAITALL))
time.sleep(30)
PY
	T_BG+=("$!")
	wait_for 5 test -S "$sock" || return 1
	"$RNCLI" --socket "$sock" up --server "$MESH_URL" --auth-key "$key" --hostname argv \
		>/dev/null 2>&1 </dev/null &
	pid=$!
	T_BG+=("$pid")
	wait_for 5 grep -qF "$secret" "$T_DIR/fake.got" || { echo "the request never came"; return 1; }
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
	echo "cmdline: ${cmd//$secret/<THE KEY>}"
	kill "$pid"
	[[ $cmd == *"--hostname argv"* ]] && [[ $cmd != *"$secret"* ]]
}
check "--auth-key KEY: the CLI's argv no longer shows the key while it waits" argv_wiped

check "n1 pings n2 over the mesh" wait_for 10 mesh_ping n1 "$(mesh_ip4 n2)"
check "n1 pings n3 over the mesh" wait_for 10 mesh_ping n1 "$(mesh_ip4 n3)"

# no_key_in_memory NODE SECRET: NODE's rustynetd holds no copy of SECRET in its writable memory
# (heap, stacks, anonymous maps), while the scan does find its server URL there (alive).
no_key_in_memory() {
	python3 - "${MESH_PID[$1]}" "$2" "$MESH_URL" <<'PY'
import sys
pid, secret, alive = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode()
hits = {secret: 0, alive: 0}
with open(f"/proc/{pid}/maps") as f:
    maps = f.read().splitlines()
with open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        f = line.split()
        if "r" not in f[1] or (len(f) > 5 and (f[5].startswith("/") or f[5] in ("[vvar]", "[vsyscall]", "[vdso]"))):
            continue
        a, b = (int(x, 16) for x in f[0].split("-"))
        if b - a > 1 << 32:  # ASan's shadow: reserved, never the heap
            continue
        for at in range(a, b, 1 << 24):  # chunks overlapping by a needle's length
            try:
                mem.seek(at)
                data = mem.read(min(b - at, (1 << 24) + 256))
            except (OSError, ValueError, OverflowError):
                break
            for k in hits:
                hits[k] += data[: 1 << 24].count(k) + (data[(1 << 24) - len(k) + 1 :].count(k) if len(data) > 1 << 24 else 0)
print(f"copies of the server URL: {hits[alive]}, of the key's secret: {hits[secret]}")
sys.exit(0 if hits[alive] > 0 and hits[secret] == 0 else 1)
PY
}
check "n3's rustynetd keeps no copy of the auth key after enrolling" no_key_in_memory n3 "$SECRET3"

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
