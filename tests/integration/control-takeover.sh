#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# control-takeover: a node cannot be taken over by enrolling its public key, which every netmap
# lists. Enrollment proves the node key (docs/control-protocol.md, "Proof of the node key").
#
#            ns sw: bridge br0 (198.51.100.0/24)
#     +-------------+-------------+
#   ctl .1        a .10         b .11
#   control       alice's NAS   bob's laptop, and bob trying to take a over
#   serve :8443   tag:nas, offers 192.168.77.0/24 (approved)
#
# Checks: with bob's valid auth key and a's public key (read from b's own netmap), enrolling
# without a proof (400), with a proof made by another private key (401) and with random bytes
# (401) is refused, and so is bob's key with a proof made with a's real key (403: a belongs to
# alice). After all of it a's user, name, tags, routes, approvals, token and address are
# unchanged, a still takes new maps and a and b still ping each other. a re-enrolling itself
# (logout, up with another of alice's keys, without the tag) keeps its id, user, tags and
# approvals. Alive: the attacker's request with alice's key and a's key's proof is a 200 for
# the same node.
set -eu
TEST_TAG=ctko
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 27
need_root
need_cmds python3 wg

ENROLL=$(dirname "$0")/../tools/enroll-client.py
python3 -c 'import cryptography' 2>/dev/null || need_cmds python3-cryptography
if ! mesh_have_bins; then
	skip "control-takeover: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
mesh_init_or_end
mesh_nodes_or_end a b

KEY_A=$(mesh_key alice --tag tag:nas)
BOB=$(mesh_key bob --reusable)
ALICE=$(mesh_key alice --reusable)
check "a policy where alice owns tag:nas" mesh_policy <<'POL'
{
	"tagOwners": { "tag:nas": ["alice"] },
	"acls": [ { "action": "accept", "src": ["*"], "dst": ["*:*"] } ],
}
POL
check "a (alice, tag:nas) enrolls offering 192.168.77.0/24" \
	rnn a up --server "$MESH_URL" --auth-key "$KEY_A" --hostname a --advertise-routes 192.168.77.0/24
check "the admin approves a's route" ctl routes approve a 192.168.77.0/24
check "b (bob) enrolls" rnn b up --server "$MESH_URL" --auth-key "$BOB" --hostname b
A4=$(mesh_ip4 a || echo none)
B4=$(mesh_ip4 b || echo none)
check "a pings b" wait_for 10 mesh_ping a "$B4"
check "b pings a" wait_for 10 mesh_ping b "$A4"

# what must not change: the store's view of a, and a's own login
node_a() {
	ctl nodes list --json | python3 -c '
import json, sys
n = [n for n in json.load(sys.stdin)["nodes"] if n["name"] == "a"][0]
print(n["id"], n["user"], n["dns_name"], n["ipv4"], n["expired"], n["tags"], n["advertised_routes"],
      n["approved_routes"])'
}
A_BEFORE=$(node_a)
A_LOGIN=$(sha256sum <"${MESH_ST[a]}/control.json")
echo "# a: $A_BEFORE"
check "a is alice's, tagged, with its route approved" \
	grep -q "^[0-9]* alice a $A4 False \['tag:nas'\] \['192.168.77.0/24'\] \['192.168.77.0/24'\]" <<<"$A_BEFORE"

# bob knows a's public key: it is in his own netmap
A_PUB=$(mesh_json b '[p["public_key"] for p in j["peers"] if p["ipv4"] == "'"$A4"'"][0]')
check "b's netmap lists a's public key" [ "$A_PUB" = "$(wg pubkey <"${MESH_ST[a]}/node.key")" ]
PIN=$(echo "$BOB" | cut -d. -f3)
# attempt KEY HOSTNAME [enroll-client.py options]: from b's namespace, as bob would
attempt() {
	local secret
	secret=$(echo "$1" | cut -d. -f2)
	nsx "${MESH_NS[b]}" python3 "$ENROLL" "$MESH_URL" 198.51.100.11 "$PIN" "$secret" "$2" "${@:3}"
}
refused() { # WANT SAYS KEY HOSTNAME [options]
	local want=$1 says=$2 out
	shift 2
	out=$(attempt "$@")
	echo "$out"
	[ "$(tail -n 1 <<<"$out")" = "$want" ] && grep -q -- "$says" <<<"$out"
}
check "bob's key + a's public key, no proof: 400" \
	refused 400 'nonce.* is missing' "$BOB" a-evil --pub "$A_PUB" --no-proof
check "bob's key + a's public key, a proof made with another private key: 401" \
	refused 401 'does not verify' "$BOB" a-evil --pub "$A_PUB"
check "bob's key + a's public key, a proof of random bytes: 401" \
	refused 401 'does not verify' "$BOB" a-evil --pub "$A_PUB" --garbage-proof
check "bob's key + a proof made with a's real key (a stolen key): 403, a is alice's" \
	refused 403 'another user' "$BOB" a-evil --priv "$(cat "${MESH_ST[a]}/node.key")"

check "a's id, user, name, address, tags, routes and approvals are unchanged" \
	[ "$(node_a)" = "$A_BEFORE" ]
check "a's login (its node token) is unchanged" \
	[ "$(sha256sum <"${MESH_ST[a]}/control.json")" = "$A_LOGIN" ]
check "a is still logged in and connected" \
	sh -c "'$RNCLI' --socket '${MESH_SOCK[a]}' status --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(j[\"state\"], j[\"logged_in\"], j[\"server\"])
sys.exit(0 if j[\"logged_in\"] and j[\"server\"][\"connected\"] else 1)'"
ctl nodes rename b b2 >/dev/null 2>&1
check "a still takes new maps: it sees b renamed within 3 s" \
	wait_for 3 sh -c "'$RNCLI' --socket '${MESH_SOCK[a]}' status --json | grep -q '\"b2\"'"
check "a pings b" wait_for 5 mesh_ping a "$B4"
check "b pings a" wait_for 5 mesh_ping b "$A4"

# a re-enrolls itself: alice's key, untagged this time, the same offer
check "a logs out" rnn a logout
check "a logs in again with another of alice's keys (no tag)" \
	rnn a up --server "$MESH_URL" --auth-key "$ALICE" --hostname a --advertise-routes 192.168.77.0/24
check "a keeps its id, user, address, tags, routes and approvals" [ "$(node_a)" = "$A_BEFORE" ]
check "a pings b after its re-enrollment" wait_for 10 mesh_ping a "$B4"

# alive: the attacker's request, with alice's key and a proof by a's key, works
alive() {
	local out
	out=$(attempt "$ALICE" a --priv "$(cat "${MESH_ST[a]}/node.key")")
	echo "$out"
	[ "$(tail -n 1 <<<"$out")" = 200 ] &&
		[ "$(head -n -1 <<<"$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["node_id"])')" = "$(node_a | cut -d' ' -f1)" ]
}
check "alive: alice's key + a proof by a's key re-enrolls a (200, same id)" alive
check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
