#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# nat-callme: "call me now" (POST /v1/call, docs/control-protocol.md): a node reaches an idle
# peer whose NAT forgot it within about 2 s, because the control server has the peer send to it.
#
#            ns sw: bridge br0 (198.51.100.0/24), the "internet"
#     +---------------+----------------+
#   ctl .1          ra .40            rb .42
#   control,        masquerade        masquerade
#   STUN :3478      10.41.0.0/24      10.42.0.0/24
#                   a 10.41.0.2       b 10.42.0.2
#
# a and b connect directly (nat-direct.sh), then b's persistent keepalive is turned off (with
# it on, b would reopen its NAT by itself within 25 s: that is the delay calls remove) and both
# routers' UDP conntrack entries are deleted (the long-polls' TCP mappings stay, as they would):
# b's NAT now drops everything a sends. a pings b: a notices its packets go unanswered, asks the
# server to have b call it, b gets the call on its long-poll and sends to a's endpoint from its
# map, b's NAT opens. Checks: the first reply within 4 s (about 2.4 s), and the calls counted
# and logged on both sides. At the API meanwhile: b may call a (200), not twice in 5 s (429); a
# call of a node outside a's policy, or of no node at all, is refused alike (403). Then the same
# as phase 1 with calls disabled on a (RUSTYNETD_TEST_NO_CALLS, a test build's hook) gets no
# reply in 5 s. The phases are timed so that nothing else opens b's NAT: WireGuard's passive
# keepalive (10 s after a received packet with nothing sent) and its handshake after 15 s of
# sending unanswered (see the comments below).
set -eu
TEST_TAG=natcallme
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
# shellcheck source=tests/nat-lib.sh
. "$(dirname "$0")/../nat-lib.sh"
plan 23
need_root
need_cmds python3 nft conntrack wg

if ! mesh_have_bins; then
	skip_n 23 "nat-callme" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi

# calls are disabled on a node while this file exists (test builds only)
NOCALLS=$T_DIR/nocalls
export RUSTYNETD_TEST_NO_CALLS=$NOCALLS
MESH_CTL_ARGS=(--stun-listen 198.51.100.1)
mesh_init_or_end
routers() { nat_router ra 40 41 preserve && nat_router rb 42 42 preserve; }
check_ok "two NAT routers" routers || { mesh_dump_logs; t_done; }
for n in a b; do
	check_ok "rustynetd $n starts behind r$n" mesh_node "$n" nat_link "r$n" || { mesh_dump_logs; t_done; }
done
for n in a b; do
	check "$n up" mesh_up "$n" alice
done
# alice's nodes see each other; carol's node (enrolled below, no daemon) sees nobody
check "a policy: alice with alice only" mesh_policy <<'POL'
{ "acls": [ { "action": "accept", "src": ["alice"], "dst": ["alice:*"] } ] }
POL
declare -A IP4
for n in a b; do IP4[$n]=$(mesh_ip4 "$n" 2>/dev/null || echo none); done

# b pings first: b's last packet is then its reply to a, not a reply it received, which would
# make its WireGuard send a keepalive 10 s later (and open its NAT without any call)
check "b pings a through the tunnel" wait_for 30 mesh_ping b "${IP4[a]}"
check "a pings b" wait_for 10 mesh_ping a "${IP4[b]}"

calls_of() { mesh_json "$1" "j['calls']['$2']"; }
keepalive_off() {
	local key
	key=$(mesh_json a 'j["public_key"]') &&
		nsx "${MESH_NS[b]}" wg set "${MESH_IF[b]}" peer "$key" persistent-keepalive 0 &&
		[ "$(nsx "${MESH_NS[b]}" wg show "${MESH_IF[b]}" persistent-keepalive | cut -f 2)" = off ]
}
check "b's persistent keepalive toward a is off" keepalive_off
# UDP mappings only, as they lapse (in 30-180 s) while the long-polls' TCP connections stay
forget() {
	sleep 1
	nsx "${NAT_NS[ra]}" conntrack -D -p udp >/dev/null 2>&1
	nsx "${NAT_NS[rb]}" conntrack -D -p udp >/dev/null 2>&1
	! nsx "${NAT_NS[rb]}" conntrack -L -p udp 2>/dev/null | grep -q 'dport=41641'
}
# first_reply SECONDS: pings b from a until a reply, or SECONDS; prints the ms it took
first_reply() {
	local t0 t1
	t0=$(now_ms)
	wait_for "$1" mesh_ping a "${IP4[b]}" || return 1
	t1=$(now_ms)
	echo "first reply after $((t1 - t0)) ms" >&2
	echo $((t1 - t0)) >"$T_DIR/first.ms"
}

diag() {
	{
		echo "== $1 $(date +%T.%N)"
		nsx "${MESH_NS[b]}" wg show "${MESH_IF[b]}" persistent-keepalive
		nsx "${MESH_NS[b]}" wg show "${MESH_IF[b]}" latest-handshakes
		nsx "${MESH_NS[b]}" wg show "${MESH_IF[b]}" transfer
		mesh_json a "j['calls']"; mesh_json b "j['calls']"
		nsx "${NAT_NS[rb]}" conntrack -L -p udp 2>/dev/null
	} >>"$T_DIR/diag.txt" 2>&1
}
RECV0=$(calls_of b received 2>/dev/null || echo 0)
echo "b received $RECV0 calls before" >"$T_DIR/diag.txt"
diag before-phase1
# (again while a datagram in flight makes the entry anew: a last keepalive or probe)
check_ok "both NATs forget the pair (UDP conntrack entries deleted)" wait_for 5 forget
check "with calls, a's ping reaches b within 4 s" first_reply 4
check "b received a's call" [ "$(calls_of b received 2>/dev/null || echo 0)" -gt "$RECV0" ]
check "a counts the call sent" [ "$(calls_of a sent 2>/dev/null || echo 0)" -ge 1 ]
check "the logs say so" sh -c "grep -q 'callme: asked node' '${MESH_LOG[a]}' && grep -q 'callme: a (node' '${MESH_LOG[b]}'"

diag after-phase1
PHASE1_END=$(now_ms)

# ---- the API (meanwhile): POST /v1/call with a node token
ENROLL=$(dirname "$0")/../tools/enroll-client.py
CAROL=$(mesh_key carol)
A_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["node_id"])' "${MESH_ST[a]}/control.json" 2>/dev/null || echo 0)
carol() {
	nsx "$MESH_CTL_NS" python3 "$ENROLL" "$MESH_URL" 198.51.100.1 "$(echo "$CAROL" | cut -d. -f3)" \
		"$(echo "$CAROL" | cut -d. -f2)" carol >"$T_DIR/carol.out" && [ "$(tail -n 1 "$T_DIR/carol.out")" = 200 ]
}
check "carol's node enrolls (no daemon)" carol
C_ID=$(head -n -1 "$T_DIR/carol.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["node_id"])' 2>/dev/null || echo 0)
B_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["node_id"])' "${MESH_ST[b]}/control.json" 2>/dev/null || echo 0)
# call ID [NODE]: POST /v1/call {"peer": ID} as NODE (a); prints "STATUS BODY"
call() {
	nsx "$MESH_CTL_NS" python3 - "$1" "${MESH_ST[${2:-a}]}/control.json" <<'PY'
import http.client, json, ssl, sys
tok = json.load(open(sys.argv[2]))["node_token"]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # a test only reads statuses; nodes pin the key
c = http.client.HTTPSConnection("198.51.100.1", 8443, context=ctx, timeout=10)
c.request("POST", "/v1/call", '{"peer":%s}' % sys.argv[1],
          {"Content-Type": "application/json", "Authorization": "Bearer " + tok})
r = c.getresponse()
print(r.status, r.read().decode())
PY
}
# call_is ID STATUS [NODE]
call_is() { local out; out=$(call "$1" "${3:-a}") && echo "$out" | tee "$T_DIR/call.out" && [ "${out%% *}" = "$2" ]; }
# b never called a (a's daemon may have called b lately: its pair is limited)
check "b may call a (200): the endpoint works" call_is "$A_ID" 200 b
check "b calls a again at once: 429" call_is "$A_ID" 429 b
check "a calls carol's node (outside its policy): 403" call_is "$C_ID" 403
same_refusal() {
	local x y
	x=$(sed "s/node $C_ID /node N /" "$T_DIR/call.out") &&
		y=$(call 987654 | sed 's/node 987654 /node N /') &&
		echo "$x / $y" && [ "$x" = "$y" ]
}
check "a call of no node at all is refused the same way (who exists does not leak)" same_refusal

# ---- the same without calls: nothing opens b's NAT (the test's subject, proven able to fail)
touch "$NOCALLS"
# Wait until phase 1 is 11 s old: a's last call is over 5 s old (any call would be allowed
# again), and a's WireGuard has sent its passive keepalive (10 s after a's last reply) while b's
# NAT was still open. Without that b, having sent its last reply and heard nothing since, would
# start a handshake 15 s after it (WireGuard's timer), and open its NAT by itself.
while [ "$(now_ms)" -lt $((PHASE1_END + 11000)) ]; do sleep 0.2; done
check_ok "both NATs forget the pair again" wait_for 5 forget
no_reply() { ! wait_for "$1" mesh_ping a "${IP4[b]}"; }
diag before-phase2
check "without calls, a's ping gets no reply in 5 s" no_reply 5
diag after-phase2
rm -f "$NOCALLS"


check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
