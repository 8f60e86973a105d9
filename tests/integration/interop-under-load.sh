#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC..., for_each_pair FUNC)
# interop-under-load: a real handshake flood puts the responder under load by the length of its
# handshake queue (whitepaper 5.3), not by the test hook: it answers with cookie replies, and a
# legitimate peer still completes its handshake with the cookie.
#
#   ns C (flooder)                 ns H (responder)                      ns O (initiator)
#   +------------------+          +-----------------------------+       +-------------------+
#   | cH 192.0.2.2/24 -+--veth----+- hC 192.0.2.1/24            |       |                   |
#   | python3: valid-  |          | IF  100.64.0.x, rustynet-wg |<=====>| IF wireguard-go   |
#   | mac1 initiations |          | (no FORCE_UNDER_LOAD)       |  WG   |                   |
#   +------------------+          | va/vb 198.51.100.x ---------+-veth--+- vb/va            |
#                                 +-----------------------------+       +-------------------+
#
# H is the rustynet-wg side of the pair, started WITHOUT RUSTYNET_WG_FORCE_UNDER_LOAD (its log is
# checked for the hook's warning). Control first: O's handshake with H completes with no cookie
# reply on the wire. Then O forgets H (peer removed and re-added, so it must handshake again)
# while C sends bursts of initiations that carry a valid mac1 for H's key (BURST every 50 ms
# for up to FLOOD_T s): H's queue passes RN_UNDER_LOAD_QUEUE_LEN and H answers C with cookie
# replies (counted in a capture on hC). During the flood O pings H: O's initiation without mac2
# gets a cookie reply, O retries with mac2, H answers it, and the ping gets through.
# Env: FLOOD_T (default 30), BURST (default 2000), LOAD_T (ping deadline, default 25).
# Measures the data plane under load: nothing runs beside it (scripts/run-tests.sh).
# run-tests: alone
set -eu
TEST_TAG=underload
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan_pairs 17
need_root
need_cmds wg wireguard-go ip ping tcpdump python3

FLOOD_T=${FLOOD_T:-30}
BURST=${BURST:-2000}
LOAD_T=${LOAD_T:-25}

# The flooder: distinct initiations (random body, valid mac1, no mac2), BURST at a time every
# 50 ms, until killed or SECS pass. Prints how many it sent.
FLOOD_PY=$(
	cat <<'PYEOF'
import base64, hashlib, os, signal, socket, sys, time
addr, port, secs, pub, burst = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
mk = hashlib.blake2s(b"mac1----" + base64.b64decode(pub)).digest()
msgs = []
for _ in range(4096):
    b = b"\x01\0\0\0" + os.urandom(112)
    msgs.append(b + hashlib.blake2s(b, key=mk, digest_size=16).digest() + bytes(16))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
n, i, end = 0, 0, time.monotonic() + secs
def done(*_):
    print("sent %d initiations" % n, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while time.monotonic() < end:
    for _ in range(burst):
        try:
            s.sendto(msgs[i], (addr, port))
            n += 1
        except OSError:
            pass
        i = (i + 1) % len(msgs)
    time.sleep(0.05)
done()
PYEOF
)

# no_answer_without_mac2 LOG O H: every response from H follows an initiation from O with mac2.
no_answer_without_mac2() {
	awk -v o="$2" -v h="$3" '
		$1 == o && $2 == 1 {last = $3}
		$1 == h && $2 == 2 && last != 1 {bad++}
		{print}
		END {exit bad > 0}' "$1"
}

# hook_off IFNAME: the daemon did not turn the forced under-load hook on.
hook_off() {
	if grep -q "always under load" "${WG_LOG[$1]}"; then
		echo "the log says RUSTYNET_WG_FORCE_UNDER_LOAD is on" >&2
		return 1
	fi
}

# c_setup NS_H: namespace C with a veth to H (192.0.2.0/24).
c_setup() {
	NS_C="$T_ID-${T_ROUND}c"
	ns_add "$NS_C" && veth_add "$NS_C" cH "$1" hC &&
		addr_add "$NS_C" cH 192.0.2.2/24 && addr_add "$1" hC 192.0.2.1/24
}

# o_forget: O drops its peer H and gets it back, so its next packet starts a new handshake.
o_forget() {
	nsx "$ons" wg set "$oif" peer "$hpub" remove &&
		nsx "$ons" wg set "$oif" peer "$hpub" allowed-ips "$ht4/32" endpoint "$hu:$hport"
}

scenario() {
	local ia=$1 ib=$2 L H O hns hif hu ht4 hport hpub hveth ons oif ou cap cap_c log fpid out
	if ! is_wggo "$ia"; then
		H=A O=B
	elif ! is_wggo "$ib"; then
		H=B O=A
	else
		H=A O=B
		note "both sides are wireguard-go: A plays the responder (wireguard-go has its own under-load logic)"
	fi
	L="underload [$(pair_label "$ia" "$ib"), $H flooded, $O initiates]"
	ENV_A=()
	ENV_B=()
	if ! check_ok "$L: set up namespaces, daemons and peers" pair_setup "$ia" "$ib"; then
		pair_down "$L"
		return 0
	fi
	if [ "$H" = A ]; then
		hns=$NS_A hif=$IF_A hu=$U4_A ht4=$T4_A hport=$PORT_A hpub=$PUB_a hveth=va
		ons=$NS_B oif=$IF_B ou=$U4_B
	else
		hns=$NS_B hif=$IF_B hu=$U4_B ht4=$T4_B hport=$PORT_B hpub=$PUB_b hveth=vb
		ons=$NS_A oif=$IF_A ou=$U4_A
	fi
	check "$L: $H runs without the forced under-load hook" hook_off "$hif"

	# Control: no flood, no cookie.
	capture_start "$hns" "$hveth" udp and udp[8] \>= 1 and udp[8] \<= 3
	cap=$CAPTURE_FILE
	check "$L: without a flood, ping $O->$H gets through" ping_until "$ons" "$ht4" 10
	capture_stop "$cap"
	log="$T_DIR/control-wire.txt"
	wire_log "$cap" >"$log"
	check "$L: without a flood, $H sent a handshake response" msgs_cmp "$log" "$hu" 2 ge 1
	check "$L: without a flood, $H sent no cookie reply" msgs_cmp "$log" "$hu" 3 eq 0

	if ! check_ok "$L: set up namespace C for the flooder" c_setup "$hns"; then
		pair_down "$L"
		return 0
	fi
	capture_start "$NS_C" cH udp and src host 192.0.2.1 and udp[8] = 3
	cap_c=$CAPTURE_FILE
	capture_start "$hns" "$hveth" udp and udp[8] \>= 1 and udp[8] \<= 3
	cap=$CAPTURE_FILE
	out="$T_DIR/flood.txt"
	# Not through nsx (a function: $! would be a subshell): ip execs python3, which gets the TERM.
	ip netns exec "$NS_C" python3 -c "$FLOOD_PY" 192.0.2.1 "$hport" "$FLOOD_T" "$hpub" "$BURST" \
		>"$out" 2>&1 </dev/null &
	fpid=$!
	T_BG+=("$fpid")
	check "$L: $H answers the flood with cookie replies (its queue is long: under load)" \
		wait_for 15 capture_has "$cap_c" 100
	check "$L: $O forgets $H's session" o_forget
	check "$L: during the flood, ping $O->$H gets through within ${LOAD_T}s" ping_until "$ons" "$ht4" "$LOAD_T"
	kill -TERM "$fpid" 2>/dev/null || true
	wait "$fpid" 2>/dev/null || true
	capture_stop "$cap"
	capture_stop "$cap_c"
	note "flooder: $(tail -n 1 "$out"); cookie replies to C: $(capture_count "$cap_c")"
	log="$T_DIR/flood-wire.txt"
	wire_log "$cap" >"$log"
	note "handshake messages between $O and $H (source, type, mac2 set): $(tr '\n' ';' <"$log")"
	check "$L: $H sent $O a cookie reply (type 3)" msgs_cmp "$log" "$hu" 3 ge 1
	check "$L: $O retried with a mac2 (the cookie) in its initiation" msgs_cmp "$log" "$ou" 1 ge 1 1
	check "$L: $H answered no initiation of $O that lacked mac2" no_answer_without_mac2 "$log" "$ou" "$hu"
	check "$L: $H sent $O a handshake response" msgs_cmp "$log" "$hu" 2 ge 1
	check "$L: wg show on $O reports a handshake" has_handshake "$ons" "$oif"
	check "$L: both daemons still running" both_alive
	pair_down "$L"
}

for_each_pair scenario
t_done
