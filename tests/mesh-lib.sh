# shellcheck shell=bash disable=SC2317 # functions run indirectly (check DESC FUNC...)
# SPDX-License-Identifier: MIT
# tests/mesh-lib.sh: a control server and enrolled nodes in network namespaces, for the mesh
# scenarios, the benchmarks and the demo. Source it after tests/lib.sh.
#
#   ns $T_ID-sw: bridge br0, the "internet" every underlay hangs off
#        |-- ns $T_ID-ctl  c0 198.51.100.1/24 2001:db8:1::1/64  rustynet-control serve :8443
#        |-- ns $T_ID-NAME e0 198.51.100.N/24 2001:db8:1::N/64  rustynetd (one per node)
#        ...
#
# mesh_init                      switch + control namespace, `init`, `serve` started
# mesh_init_or_end, mesh_nodes_or_end NAME...: the same as checks; a failure ends the script
# mesh_node NAME                 namespace, underlay and a running rustynetd for node NAME
# mesh_up NAME USER [KEYFLAGS..] an auth key for USER, then `rustynet up` on NAME
# rnn NAME ARGS...               the rustynet CLI against NAME's daemon
# ctl ARGS...                    rustynet-control on the server's state dir
# mesh_ip4/mesh_ip6 NAME         NAME's mesh addresses (from its status)
# MESH_NS[NAME] MESH_IF[NAME] MESH_PID[NAME] MESH_LOG[NAME] MESH_ST[NAME]
# MESH_RESOLV[NAME]: the node's own resolv.conf ($T_DIR/NAME.resolv.conf, made if missing), which
# its Magic DNS rewrites: a test never touches the real /etc/resolv.conf.

BUILD_DIR=$(dirname "$(dirname "$(dirname "${RUSTYNET_WG:-/nonexistent/x/y/z}")")")
RND=$BUILD_DIR/src/rustynetd/rustynetd
RNCLI=$BUILD_DIR/src/rustynet/rustynet
RNC=$BUILD_DIR/src/rustynet-control/rustynet-control
MESH_SW="$T_ID-sw"
MESH_CTL_NS="$T_ID-ctl"
MESH_CTL_ST=$T_DIR/ctl
MESH_CTL_LOG=$T_DIR/control.log
MESH_CTL_PID=
MESH_URL=https://198.51.100.1:8443
MESH_N=10 # last octet of the next node's underlay address
MESH_CTL_ARGS=() # more `serve` arguments (e.g. --stun-listen ADDR): set before mesh_init
declare -A MESH_NS=() MESH_IF=() MESH_PID=() MESH_LOG=() MESH_ST=() MESH_SOCK=() MESH_RESOLV=()

# mesh_have_bins: all three binaries are built (else the caller skips).
mesh_have_bins() { [ -x "$RND" ] && [ -x "$RNCLI" ] && [ -x "$RNC" ]; }

ctl() { "$RNC" --state "$MESH_CTL_ST" "$@"; }
rnn() { local n=$1; shift; "$RNCLI" --socket "${MESH_SOCK[$n]}" "$@"; }
# rnx NAME ARGS...: the CLI run inside NAME's namespace (ping needs the interface there).
rnx() { local n=$1; shift; nsx "${MESH_NS[$n]}" "$RNCLI" --socket "${MESH_SOCK[$n]}" "$@"; }

# mesh_link NS IFACE OCTET: a veth from NS to the switch with its underlay addresses.
mesh_link() {
	local sw_if="s$$-$3"
	veth_add "$1" "$2" "$MESH_SW" "$sw_if" || return 1
	ip -n "$MESH_SW" link set "$sw_if" master br0 || return 1
	addr_add "$1" "$2" "198.51.100.$3/24" && addr_add "$1" "$2" "2001:db8:1::$3/64"
}

# mesh_upstream_start NS: a namespace NS on the switch at .53 running dnsmasq, the upstream
# resolver of the DNS scenarios (www.example.test = 192.0.2.80); returns once it answers.
MESH_UPSTREAM_IP=198.51.100.53
mesh_upstream_start() {
	ns_add "$1" && mesh_link "$1" e0 53 || return 1
	nsx "$1" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
		--listen-address="$MESH_UPSTREAM_IP" --address=/www.example.test/192.0.2.80 \
		--pid-file="$T_DIR/dnsmasq.pid" >"$T_DIR/dnsmasq.log" 2>&1 </dev/null &
	T_BG+=("$!")
	wait_for 5 nsx "$1" dig +time=1 +tries=1 @"$MESH_UPSTREAM_IP" www.example.test
}

# mesh_ctl_start [ENV=VALUE...]: (re)start the control server with extra environment.
mesh_ctl_start() {
	ip netns exec "$MESH_CTL_NS" env UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" "$@" \
		"$RNC" --state "$MESH_CTL_ST" serve --listen 198.51.100.1:8443 "${MESH_CTL_ARGS[@]}" \
		>>"$MESH_CTL_LOG" 2>&1 </dev/null &
	MESH_CTL_PID=$!
	T_BG+=("$MESH_CTL_PID")
	wait_for 15 nsx "$MESH_CTL_NS" bash -c 'exec 3<>/dev/tcp/198.51.100.1/8443' ||
		{ tail -n 20 "$MESH_CTL_LOG" >&2; return 1; }
}

mesh_ctl_stop() {
	[ -n "$MESH_CTL_PID" ] || return 0
	kill -TERM "$MESH_CTL_PID" 2>/dev/null || true
	wait "$MESH_CTL_PID" 2>/dev/null || true
	MESH_CTL_PID=
}

mesh_init() {
	ns_add "$MESH_SW" && ns_add "$MESH_CTL_NS" || return 1
	ip -n "$MESH_SW" link add br0 type bridge && ip -n "$MESH_SW" link set br0 up || return 1
	mesh_link "$MESH_CTL_NS" c0 1 || return 1
	ctl init --hostname 198.51.100.1 >"$T_DIR/init.out" 2>&1 ||
		{ cat "$T_DIR/init.out" >&2; return 1; }
	mesh_ctl_start
}

# mesh_node_start NAME [ENV=VALUE...]: (re)start NAME's rustynetd, wait for its socket.
mesh_node_start() {
	local n=$1
	shift
	ip netns exec "${MESH_NS[$n]}" env UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" "$@" \
		"$RND" --state "${MESH_ST[$n]}" --socket "${MESH_SOCK[$n]}" \
		--interface "${MESH_IF[$n]}" --resolv-conf "${MESH_RESOLV[$n]}" \
		>>"${MESH_LOG[$n]}" 2>&1 </dev/null &
	MESH_PID[$n]=$!
	T_BG+=("${MESH_PID[$n]}")
	wait_for 15 rnn "$n" status || { tail -n 20 "${MESH_LOG[$n]}" >&2; return 1; }
}

# mesh_node NAME [LINK-CMD...]: NAME's namespace, its underlay (mesh_link onto the switch, or
# LINK-CMD run with the namespace appended, e.g. nat_link in tests/nat-lib.sh) and rustynetd.
mesh_node() {
	local n=$1 o=$MESH_N
	shift
	MESH_N=$((MESH_N + 1))
	MESH_NS[$n]="$T_ID-$n"
	MESH_IF[$n]="rm$$$o"
	MESH_IF[$n]=${MESH_IF[$n]:0:15}
	MESH_ST[$n]=$T_DIR/$n
	MESH_SOCK[$n]=$T_DIR/$n.sock
	MESH_LOG[$n]=$T_DIR/$n.log
	MESH_RESOLV[$n]=$T_DIR/$n.resolv.conf
	[ -e "${MESH_RESOLV[$n]}" ] || printf 'nameserver 192.0.2.53\n' >"${MESH_RESOLV[$n]}"
	T_SOCKS+=("$UAPI_DIR/${MESH_IF[$n]}.sock")
	ns_add "${MESH_NS[$n]}" || return 1
	if [ $# -gt 0 ]; then
		"$@" "${MESH_NS[$n]}" || return 1
	else
		mesh_link "${MESH_NS[$n]}" e0 "$o" || return 1
	fi
	mesh_node_start "$n"
}

# mesh_init_or_end / mesh_nodes_or_end NAME...: mesh_init, or a rustynetd per NAME, each as a
# check; the first failure dumps the logs and ends the script (nothing after it could run).
mesh_init_or_end() {
	if ! check_ok "control server starts" mesh_init; then
		mesh_dump_logs
		t_done
	fi
}
mesh_nodes_or_end() {
	local n
	for n in "$@"; do
		check_ok "rustynetd $n starts" mesh_node "$n" || { mesh_dump_logs; t_done; }
	done
}

# mesh_key USER [FLAGS...]: a fresh auth key for USER on stdout.
mesh_key() {
	local u=$1
	shift
	ctl authkey create --user "$u" "$@" 2>/dev/null | tail -n 1
}

mesh_up() {
	local n=$1 u=$2 key
	shift 2
	key=$(mesh_key "$u" "$@") || return 1
	rnn "$n" up --server "$MESH_URL" --auth-key "$key" --hostname "$n"
}

# mesh_json NAME PYEXPR: PYEXPR of NAME's `status --json` (as j), printed.
mesh_json() {
	rnn "$1" status --json | python3 -c "import json,sys; j=json.load(sys.stdin); print($2)"
}
mesh_ip4() { mesh_json "$1" 'j["self"]["ipv4"]'; }
mesh_ip6() { mesh_json "$1" 'j["self"]["ipv6"]'; }
mesh_version() { mesh_json "$1" 'j["netmap"]["version"]'; }

# mesh_ping NAME ADDR: one ping from NAME's namespace to ADDR (v4 or v6) answered within 1 s.
mesh_ping() { nsx "${MESH_NS[$1]}" ping -n -c 1 -W 1 "$2" >/dev/null 2>&1; }
mesh_no_ping() { ! nsx "${MESH_NS[$1]}" ping -n -c 2 -i 0.2 -W 1 "$2" >/dev/null 2>&1; }

# mesh_policy FILE-CONTENTS: install a policy (stdin text) with `policy set`.
mesh_policy() {
	cat >"$T_DIR/policy.hujson" && ctl policy set "$T_DIR/policy.hujson"
}

# mesh_stop_all: SIGTERM every rustynetd still running and the control server, and wait for
# them (LeakSanitizer reports at exit); prints "NAME: exit status N" for each one stopped
# ("NAME: still running 10 s after SIGTERM" before a SIGKILL).
mesh_stop_all() {
	local n
	for n in "${!MESH_PID[@]}"; do mesh_stop_pid "rustynetd $n" "${MESH_PID[$n]}" "$RND"; done
	[ -z "$MESH_CTL_PID" ] || mesh_stop_pid rustynet-control "$MESH_CTL_PID" "$RNC"
	MESH_CTL_PID=
}
# mesh_stop_pid WHAT PID BINARY: stop PID if it still runs BINARY (a daemon that died earlier
# may have had its pid reused by some other process, which is left alone).
mesh_stop_pid() {
	local what=$1 pid=$2 rc=0
	[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(realpath "$3")" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "$what: still running 10 s after SIGTERM"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || rc=$?
	echo "$what: exit status $rc"
}

# mesh_logs_clean: stops every daemon and the server (mesh_stop_all), then: each exited 0 on
# SIGTERM, and no sanitizer report in any daemon's or the server's log nor in a sanitizer report
# file (san_clean). The script's last check: nothing runs after it.
mesh_logs_clean() {
	local re='ERROR: [A-Za-z]+Sanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer' f bad=0
	mesh_stop_all >"$T_DIR/stop.out"
	cat "$T_DIR/stop.out"
	if grep -v ": exit status 0$" "$T_DIR/stop.out"; then
		echo "# a daemon did not exit 0 on SIGTERM (above)"
		bad=1
	fi
	for f in "$MESH_CTL_LOG" "${MESH_LOG[@]}"; do
		[ -f "$f" ] || continue
		if grep -qE "$re" "$f"; then
			echo "# $f:"
			grep -m 1 -A 14 -E "$re" "$f"
			bad=1
		fi
	done
	san_clean || bad=1
	return $bad
}

# mesh_dump_logs: the tails of every log, for a failed run.
mesh_dump_logs() {
	local f
	for f in "$MESH_CTL_LOG" "${MESH_LOG[@]}"; do
		[ -f "$f" ] || continue
		echo "# --- $f:"
		tail -n 25 "$f" | sed 's/^/#   /'
	done
}

# ---------------------------------------------------------------- TCP/UDP probes
# A listener answers "open" to every connection / datagram; a probe succeeds when it reads it.

# mesh_listen NAME PROTO ADDR PORT: background listener in NAME's namespace (tcp or udp).
mesh_listen() {
	local ns=${MESH_NS[$1]} a=$3 v=''
	case $a in *:*) a="[$a]" v=6 ;; esac
	case $2 in
	tcp)
		nsx "$ns" socat "TCP$v-LISTEN:$4,bind=$a,reuseaddr,fork" SYSTEM:'echo open' \
			>/dev/null 2>&1 </dev/null &
		T_BG+=("$!")
		;;
	udp) udp_serve "$ns" "$3" "$4" open ;;
	esac
	wait_for 10 listening "$ns" "$2" "$3" "$4"
}

# listening NS PROTO ADDR PORT: a socket in NS is bound to ADDR:PORT (ADDR "*": any address);
# for TCP, listening.
listening() {
	local a=$3 o=-Hln
	case $a in *:*) a="[$a]" ;; esac
	[ "$2" = tcp ] && o=-Hltn || o=-Hlun
	nsx "$1" ss "$o" "sport = :$4" | awk -v a="$a:$4" '$4 == a || $4 ~ /^(\*|0\.0\.0\.0|\[::\]):/ {f = 1} END {exit !f}'
}

# mesh_reach NAME PROTO ADDR PORT: NAME gets "open" back from ADDR:PORT within 2 s.
mesh_reach() {
	local a=$3 out
	case $a in *:*) a="[$a]" ;; esac
	case $2 in
	tcp) out=$(tcp_get "${MESH_NS[$1]}" "$3" "$4") ;;
	udp) out=$(udp_get "${MESH_NS[$1]}" "$3" "$4") ;;
	esac
	echo "$1 -> $2 $a:$4: ${out:-nothing}"
	case $out in *open*) return 0 ;; esac
	return 1
}

mesh_no_reach() { ! mesh_reach "$@"; }
