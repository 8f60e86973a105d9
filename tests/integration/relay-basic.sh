#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# relay-basic: rustynet-relay forwards between two nodes that cannot reach each other, over UDP,
# over TLS and mixed, and drops what it should, using `rustynet-relay probe` as the nodes.
#
#   ns A 198.51.100.2 ---- 198.51.100.1  ns R  203.0.113.1 ---- 203.0.113.2 ns B
#        2001:db8:a::2      2001:db8:a::1       rustynet-relay serve
#                          (UDP [::]:3478, TLS [::]:443, dual-stack); R does not route
#
# Checks: serve refuses a secret others can read and a bad address; A cannot reach B directly;
# A's message reaches B (from A's key) over UDP, over TLS, UDP to TLS and IPv6 UDP to TLS; a wrong pin is refused;
# garbage, a forged credential and a SEND to an unregistered key are dropped and counted, and A
# and B are still served; the counters show the forwarded packets; the relay exits clean.
set -eu
TEST_TAG=relay
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan 13
need_root
need_cmds python3 openssl wg

BUILD_DIR=$(dirname "$(dirname "$(dirname "${RUSTYNET_WG:-/nonexistent/x/y/z}")")")
RELAY=$BUILD_DIR/src/rustynet-relay/rustynet-relay
if [ ! -x "$RELAY" ]; then
	skip "relay-basic: all checks" "no rustynet-relay at $RELAY (set RUSTYNET_WG)"
	t_done
fi

NS_A=$T_ID-a NS_R=$T_ID-r NS_B=$T_ID-b
ns_add "$NS_A"
ns_add "$NS_R"
ns_add "$NS_B"
veth_add "$NS_A" a-r "$NS_R" r-a
veth_add "$NS_B" b-r "$NS_R" r-b
addr_add "$NS_A" a-r 198.51.100.2/24
addr_add "$NS_R" r-a 198.51.100.1/24
addr_add "$NS_R" r-b 203.0.113.1/24
addr_add "$NS_B" b-r 203.0.113.2/24
addr_add "$NS_A" a-r 2001:db8:a::2/64
addr_add "$NS_R" r-a 2001:db8:a::1/64
ip -n "$NS_A" route add default via 198.51.100.1
ip -n "$NS_B" route add default via 203.0.113.1

S=$T_DIR/secret STATS=$T_DIR/stats.json LOG=$T_DIR/relay.log
"$RELAY" genkey --secret "$S"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_DIR/key.pem" \
	-out "$T_DIR/cert.pem" -days 1 -subj /CN=relay.test 2>/dev/null
PIN=$("$RELAY" spki --cert "$T_DIR/cert.pem")
KA=$(wg genkey | wg pubkey) KB=$(wg genkey | wg pubkey) KX=$(wg genkey | wg pubkey)
CA=$("$RELAY" issue --secret "$S" --node-key "$KA")
CB=$("$RELAY" issue --secret "$S" --node-key "$KB")
UDP_A=198.51.100.1:3478 TLS_A=198.51.100.1:443 UDP_B=203.0.113.1:3478 TLS_B=203.0.113.1:443

refuses_open_secret() {
	cp "$S" "$T_DIR/open" && chmod 644 "$T_DIR/open" &&
		fails_with 1 "chmod 600" "$RELAY" serve --secret "$T_DIR/open" --udp 127.0.0.1:0
}
check "relay: serve refuses a secret others can read" refuses_open_secret
check "relay: serve refuses a non-numeric address (usage)" \
	fails_with 2 '--udp "relay.test:3478"' "$RELAY" serve --secret "$S" --udp relay.test:3478

# not through nsx (a function): $! must be the relay itself, not a subshell
ip netns exec "$NS_R" "$RELAY" serve --secret "$S" --udp "[::]:3478" --tls "[::]:443" \
	--cert "$T_DIR/cert.pem" --key "$T_DIR/key.pem" --stats-file "$STATS" 2>"$LOG" &
RELAY_PID=$!
T_BG+=("$RELAY_PID")
check "relay: serving, stats file written" wait_for 5 test -s "$STATS"
check "relay: A cannot reach B directly" ping_fails "$NS_A" 203.0.113.2

# stat NAME: a counter from the stats file (drops by their reason name).
stat() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); n=sys.argv[2]
print(j[n] if n in j else j["drops"][n])' "$STATS" "$1"
}
# stat_above NAME N: the counter passes N within 3 s (the file is rewritten every second).
stat_above() { wait_for 3 python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); n=sys.argv[2]
sys.exit(0 if (j[n] if n in j else j["drops"][n]) > int(sys.argv[3]) else 1)' "$STATS" "$1" "$2"; }

# relayed A_ARGS B_ARGS: B (in ns B) waits for one message; A (in ns A) sends it; B prints it
# from A's key.
relayed() {
	local a=$1 b=$2 msg="hello-$RANDOM" bpid rc=0
	# shellcheck disable=SC2086 # the transport options are words
	nsx "$NS_B" "$RELAY" probe $b --cred "$CB" --receive 1 --timeout 8 >"$T_DIR/b.out" 2>&1 &
	bpid=$!
	wait_for 5 grep -q registered "$T_DIR/b.out" || rc=1
	# shellcheck disable=SC2086
	[ $rc != 0 ] || nsx "$NS_A" "$RELAY" probe $a --cred "$CA" --send "$KB" --message "$msg" \
		--timeout 5 || rc=1
	wait "$bpid" || rc=1
	cat "$T_DIR/b.out"
	[ "$rc" = 0 ] && grep -qxF "recv $KA $msg" "$T_DIR/b.out"
}
check "relay: A to B over UDP" relayed "--relay $UDP_A" "--relay $UDP_B"
check "relay: A to B over TLS" relayed "--relay $TLS_A --tls --pin $PIN" "--relay $TLS_B --tls --pin $PIN"
check "relay: A over UDP to B over TLS" relayed "--relay $UDP_A" "--relay $TLS_B --tls --pin $PIN"
check "relay: A over IPv6 UDP to B over IPv4 TLS" relayed "--relay [2001:db8:a::1]:3478" "--relay $TLS_B --tls --pin $PIN"
# the pin with its first character changed (still base64, another key's hash)
if [ "${PIN:0:1}" = A ]; then WRONG_PIN=B${PIN:1}; else WRONG_PIN=A${PIN:1}; fi
check "relay: a wrong certificate pin is refused" fails_with 1 "pin" \
	nsx "$NS_B" "$RELAY" probe --relay "$TLS_B" --tls --pin "$WRONG_PIN" --cred "$CB" --timeout 3

# hostile: garbage datagrams, a credential with its token changed, a SEND to a key nobody
# registered. Each dropped and counted, none answered.
hostile() {
	local m0 f0 u0 forged
	m0=$(stat malformed) f0=$(stat bad_cred) u0=$(stat unknown_dst)
	nsx "$NS_A" bash -c 'printf "garbage" >/dev/udp/198.51.100.1/3478; printf "\001\000\000\000x" >/dev/udp/198.51.100.1/3478'
	forged=${CA%?????=}AAAAA=
	fails_with 1 "never registered" nsx "$NS_A" "$RELAY" probe --relay "$UDP_A" \
		--cred "$forged" --timeout 1 || return 1
	nsx "$NS_A" "$RELAY" probe --relay "$UDP_A" --cred "$CA" --send "$KX" --timeout 3 ||
		return 1
	stat_above malformed $((m0 + 1)) && stat_above bad_cred "$f0" &&
		stat_above unknown_dst "$u0"
}
check "relay: garbage, a forged credential, a SEND to an unregistered key: dropped and counted" hostile
check "relay: A and B still served afterwards (UDP to TLS)" relayed "--relay $UDP_A" "--relay $TLS_B --tls --pin $PIN"
check "relay: counters show the forwarded packets" stat_above fwd_tls_packets 2

stop_relay() {
	kill -TERM "$RELAY_PID" && wait "$RELAY_PID" && cat "$LOG" && logs_clean "$LOG"
}
check "relay: stops on SIGTERM, exit 0, no sanitizer report" stop_relay
t_done
