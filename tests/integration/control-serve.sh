#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# control-serve: `rustynet-control serve` driven by curl over HTTPS, in one namespace.
#
#   ns srv: lo with 198.51.100.1 (server :8443), .2 (client A), .3 (client B, rate limit)
#           rustynet-control serve --listen 198.51.100.1:8443  <- curl --interface 198.51.100.x
#           rustynet-control (admin CLI, another process) changes the same state dir
#
# Checks: enroll returns node_id, node_token and a netmap that decodes; the pin from the auth
# key is the one that works and a wrong pin fails; a TLS 1.2-only client fails; a single-use key
# twice -> 403, two racing -> exactly one 200; revoked, expired and unknown keys refused; an
# older state dir gets its enrollment key (0600) from serve; enroll without a proof of the node
# key -> 400, with a wrong one or a used nonce -> 401; endpoints on loopback or in the mesh ->
# 400, on a LAN -> 200; bob's valid key with alice's node's public key is refused (no proof:
# 400, another key's proof: 401, even A's own proof: 403) and A's user, name, tags and token
# stay, while A's owner re-enrolls it (same id); 11 bad
# enrollments from one address -> 429 with Retry-After; poll since=0 answers at once, since=current
# answers within 2 s of `policy set` and of `nodes rename` from the admin CLI; unknown token ->
# 401; logout then poll -> 401; bad bodies -> 400/413/404/405; the server survives all of it and
# stops cleanly on SIGTERM.
set -eu
TEST_TAG=csrv
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan 48
need_root
need_cmds curl python3 wg

BUILD_DIR=$(dirname "$(dirname "$(dirname "${RUSTYNET_WG:-/nonexistent/x/y/z}")")")
CTL=$BUILD_DIR/src/rustynet-control/rustynet-control
if [ ! -x "$CTL" ]; then
	skip "control-serve: all checks" "no rustynet-control at $CTL (set RUSTYNET_WG)"
	t_done
fi

NS=$T_ID-srv
SRV=198.51.100.1
URL=https://$SRV:8443
ST=$T_DIR/state
ctl() { "$CTL" --state "$ST" "$@"; }

ns_add "$NS"
for a in 1 2 3 4; do addr_add "$NS" lo 198.51.100.$a/32; done

ctl init --hostname "$SRV" >/dev/null
# a state dir from before enrollment proofs: serve makes the key
rm "$ST/enroll.key"
KEY=$(ctl authkey create --user alice --reusable 2>/dev/null)
# the pin as curl wants it: standard base64 with padding
pin_of() { echo "$1" | cut -d. -f3 | tr -- '-_' '+/' | sed 's/$/=/'; }
secret_of() { echo "$1" | cut -d. -f2; }
PIN=$(pin_of "$KEY")
NETMAP_PUB=$(echo "$KEY" | cut -d. -f4)

ip netns exec "$NS" "$CTL" --state "$ST" serve --listen "$SRV:8443" >"$T_DIR/serve.log" 2>&1 &
SERVE_PID=$!
T_BG+=("$SERVE_PID")
check "server starts" wait_for 10 sh -c "grep -q 'serving the control protocol' '$T_DIR/serve.log'"
check "serve made the enrollment key of an older state dir, 0600" \
	sh -c "[ \"\$(stat -c %a '$ST/enroll.key')\" = 600 ]"

# req FROM PATH BODY [CURL ARGS...]: prints the body, then the status on its own last line.
req() {
	local from=$1 path=$2 body=$3
	shift 3
	nsx "$NS" curl -s --cacert /dev/null -k --pinnedpubkey "sha256//$PIN" --interface "$from" \
		-m 40 -H 'Content-Type: application/json' -w '\n%{http_code}\n' "$@" \
		--data-binary "$body" "$URL$path"
}
status_is() { # WANT FROM PATH BODY [ARGS...]
	local want=$1 got
	shift
	got=$(req "$@" | tail -n 1)
	echo "status $got, wanted $want"
	[ "$got" = "$want" ]
}
ENROLL=$(dirname "$0")/../tools/enroll-client.py
# enroll FROM SECRET HOSTNAME [enroll-client.py options]: challenge, proof, enroll; prints the
# body, then the status on its own last line (a fresh node key unless --priv)
enroll() {
	local from=$1 secret=$2 host=$3
	shift 3
	nsx "$NS" python3 "$ENROLL" "$URL" "$from" "$(echo "$KEY" | cut -d. -f3)" "$secret" "$host" "$@"
}
enroll_is() { # WANT FROM SECRET HOSTNAME [options]: also wants its error to say $SAYS if set
	local want=$1 out
	shift
	out=$(enroll "$@")
	echo "$out"
	[ "$(tail -n 1 <<<"$out")" = "$want" ] && { [ -z "${SAYS:-}" ] || grep -q -- "$SAYS" <<<"$out"; }
}
# field FILE KEY: one member of the JSON body in FILE (its last line is the status)
field() { head -n -1 "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

# ---------------------------------------------------------------- enroll, TLS
enroll 198.51.100.2 "$(secret_of "$KEY")" laptop >"$T_DIR/e1"
check "enroll: 200" [ "$(tail -n 1 "$T_DIR/e1")" = 200 ]
check "enroll: node_id, rnt_ token, netmap envelope" python3 - "$T_DIR/e1" <<'PY'
import json, re, sys
j = json.loads(open(sys.argv[1]).read().rsplit("\n", 2)[0])
assert j["node_id"] == 1, j
assert re.fullmatch(r"rnt_[A-Za-z0-9_-]{43}", j["node_token"])
assert j["netmap"]["format"] == "rustynet-netmap/1"
m = json.loads(j["netmap"]["map"])
assert m["self"]["name"] == "laptop" and m["version"] >= 1, m
PY
check "enroll: the netmap verifies under the auth key's netmap key" python3 - "$T_DIR/e1" "$NETMAP_PUB" <<'PY'
import base64, hashlib, json, sys
j = json.loads(open(sys.argv[1]).read().rsplit("\n", 2)[0])
pub = base64.urlsafe_b64decode(sys.argv[2] + "=")
assert j["netmap"]["key_id"] == hashlib.sha256(pub).hexdigest()[:16]
try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:
    sys.exit(0)  # key_id checked; no Ed25519 in this python
Ed25519PublicKey.from_public_bytes(pub).verify(base64.b64decode(j["netmap"]["sig"]),
                                               j["netmap"]["map"].encode())
PY
TOKEN=$(field "$T_DIR/e1" node_token)
WRONG_PIN=$(head -c 32 /dev/urandom | base64)
check "a wrong pin fails the TLS handshake" sh -c "! ip netns exec '$NS' curl -sk -m 10 \
	--pinnedpubkey 'sha256//$WRONG_PIN' -d '{}' '$URL/v1/poll'"
check "a TLS 1.2-only client fails" sh -c "! ip netns exec '$NS' curl -sk -m 10 --tls-max 1.2 \
	-d '{}' '$URL/v1/poll'"
check "enrollment logged, without secrets" sh -c "grep -q 'enrolled node 1' '$T_DIR/serve.log' &&
	! grep -E 'rnk_|rnt_' '$T_DIR/serve.log'"

# ---------------------------------------------------------------- auth keys
ONCE=$(ctl authkey create --user bob 2>/dev/null)
check "single-use key: first use 200" enroll_is 200 198.51.100.2 "$(secret_of "$ONCE")" phone
check "single-use key: second use 403" enroll_is 403 198.51.100.2 "$(secret_of "$ONCE")" phone2
RACE=$(ctl authkey create --user bob 2>/dev/null)
RACERS=()
for i in 1 2; do
	enroll 198.51.100.2 "$(secret_of "$RACE")" race$i >"$T_DIR/race$i" &
	RACERS+=($!)
done
wait "${RACERS[@]}" || true
check "two racing enrollments with one single-use key: exactly one 200" sh -c \
	"[ \"\$(tail -qn 1 '$T_DIR/race1' '$T_DIR/race2' | sort | tr '\n' ' ')\" = '200 403 ' ]"
REV=$(ctl authkey create --user bob 2>/dev/null)
ctl authkey revoke "$(ctl authkey list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["authkeys"][-1]["id"])')" >/dev/null
check "revoked key: 403" enroll_is 403 198.51.100.2 "$(secret_of "$REV")" r
EXP=$(ctl authkey create --user bob --expires 1s 2>/dev/null)
# newest_expired: the server's own list says the newest key (EXP) has expired (no fixed wait)
newest_expired() {
	ctl authkey list --json | python3 -c 'import json,sys; sys.exit(0 if max(json.load(sys.stdin)["authkeys"], key=lambda k: k["id"])["state"] == "expired" else 1)'
}
wait_for 5 newest_expired || true
check "expired key: 403" enroll_is 403 198.51.100.2 "$(secret_of "$EXP")" x
check "unknown key: 401" enroll_is 401 198.51.100.2 rnk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA u

# ---------------------------------------------------------------- proof of the node key (own address)
req 198.51.100.4 /v1/enroll/challenge '{}' >"$T_DIR/ch"
check "challenge: 200 with a nonce and the server's key" python3 - "$T_DIR/ch" <<'PY'
import base64, json, sys
text, status = open(sys.argv[1]).read().rsplit("\n", 2)[:2]
j = json.loads(text)
assert status == "200", status
assert len(base64.urlsafe_b64decode(j["nonce"] + "=")) == 32
assert len(base64.b64decode(j["server_key"])) == 32 and j["expires_in"] == 60, j
PY
SAYS='nonce.* is missing' check "enroll without a proof (an older client): 400" \
	enroll_is 400 198.51.100.4 "$(secret_of "$KEY")" old --no-proof
SAYS='does not verify' check "enroll with a proof of random bytes: 401" \
	enroll_is 401 198.51.100.4 "$(secret_of "$KEY")" junk --garbage-proof
SAYS='unknown, used or expired' check "a nonce used twice: the second enroll is 401" \
	enroll_is 401 198.51.100.4 "$(secret_of "$KEY")" twice --replay
SAYS='loopback' check "an endpoint on loopback: 400" \
	enroll_is 400 198.51.100.4 "$(secret_of "$KEY")" lo --endpoint 127.0.0.1:41641
SAYS='mesh address' check "an endpoint in the mesh: 400" \
	enroll_is 400 198.51.100.4 "$(secret_of "$KEY")" mesh --endpoint 100.64.0.9:41641
check "a private LAN endpoint is fine: 200" \
	enroll_is 200 198.51.100.4 "$(secret_of "$KEY")" lan --endpoint 192.168.1.20:41641

# alice's node A; bob holds a valid key and A's public key (every netmap lists it)
A_PRIV=$(wg genkey)
A_PUB=$(wg pubkey <<<"$A_PRIV")
enroll 198.51.100.2 "$(secret_of "$KEY")" nas --priv "$A_PRIV" >"$T_DIR/a1"
A_ID=$(field "$T_DIR/a1" node_id)
A_TOKEN=$(field "$T_DIR/a1" node_token)
BOB=$(ctl authkey create --user bob --reusable 2>/dev/null)
node_a() { ctl nodes list --json | python3 -c "import json,sys; n=[n for n in json.load(sys.stdin)['nodes'] if n['id']==$A_ID][0]; print(n['user'], n['name'], n['expired'], n['tags'])"; }
A_BEFORE=$(node_a)
check "A enrolled as alice's" grep -q '^alice nas False' <<<"$A_BEFORE"
SAYS='does not verify' check "takeover: bob's key, A's public key, a proof by another key: 401" \
	enroll_is 401 198.51.100.4 "$(secret_of "$BOB")" evil --pub "$A_PUB"
SAYS='nonce.* is missing' check "takeover: bob's key, A's public key, no proof: 400" \
	enroll_is 400 198.51.100.4 "$(secret_of "$BOB")" evil --pub "$A_PUB" --no-proof
SAYS='another user' check "even with A's own key's proof, bob's key cannot re-enroll A: 403" \
	enroll_is 403 198.51.100.4 "$(secret_of "$BOB")" evil --priv "$A_PRIV"
check "A's user, name and tags unchanged" [ "$(node_a)" = "$A_BEFORE" ]
check "A's token still polls: 200" status_is 200 198.51.100.2 /v1/poll '{"since":0}' \
	-H "Authorization: Bearer $A_TOKEN"
same_node() {
	enroll 198.51.100.2 "$(secret_of "$KEY")" nas --priv "$A_PRIV" >"$T_DIR/a2"
	cat "$T_DIR/a2"
	[ "$(tail -n 1 "$T_DIR/a2")" = 200 ] && [ "$(field "$T_DIR/a2" node_id)" = "$A_ID" ]
}
check "alive: A's owner re-enrolls it with A's key and alice's key: 200, same node" same_node

# ---------------------------------------------------------------- bad requests
check "unknown member: 400" status_is 400 198.51.100.2 /v1/poll '{"since":0,"x":1}' \
	-H "Authorization: Bearer $TOKEN"
check "not JSON: 400" status_is 400 198.51.100.2 /v1/poll '{"since":' -H "Authorization: Bearer $TOKEN"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T_DIR/big"
# Expect: 100-continue: the server answers 413 from Content-Length before the body, and a
# client still sending it could otherwise lose the answer in the reset.
check "body over 64 KiB: 413" status_is 413 198.51.100.2 /v1/poll "@$T_DIR/big" -H 'Expect: 100-continue'
check "unknown path: 404" status_is 404 198.51.100.2 /v1/nope '{}'
check "GET: 405" status_is 405 198.51.100.2 /v1/poll '' -G

# ---------------------------------------------------------------- rate limit (own address)
codes=""
for i in $(seq 11); do
	codes="$codes $(req 198.51.100.3 /v1/enroll '{"auth_key":1}' -D "$T_DIR/rl.h" | tail -n 1)"
done
check "11 bad enrollments from one address: the 11th is 429" sh -c \
	"[ '$codes' = ' 400 400 400 400 400 400 400 400 400 400 429' ] || { echo '$codes'; false; }"
check "429 carries Retry-After" grep -qi '^Retry-After: [0-9]' "$T_DIR/rl.h"
check "another address is not limited" enroll_is 200 198.51.100.2 "$(secret_of "$KEY")" other

# ---------------------------------------------------------------- poll
req 198.51.100.2 /v1/poll '{"since":0}' -H "Authorization: Bearer $TOKEN" >"$T_DIR/p0"
check "poll since=0: 200 with the map at once" [ "$(tail -n 1 "$T_DIR/p0")" = 200 ]
VER=$(head -n -1 "$T_DIR/p0" | python3 -c 'import json,sys; print(json.loads(json.load(sys.stdin)["map"])["version"])')
# waits_then_200 WHAT CMD...: a poll at the current version answers 200 within 2 s of CMD's end
waits_then_200() {
	local what=$1 t0 pid code
	shift
	req 198.51.100.2 /v1/poll "{\"since\":$VER}" -H "Authorization: Bearer $TOKEN" >"$T_DIR/pw" &
	pid=$!
	sleep 1
	if ! kill -0 "$pid" 2>/dev/null; then echo "the poll answered before $what"; cat "$T_DIR/pw"; return 1; fi
	# from when the command has made its change (an ASan build of it may take a while to
	# start on a loaded machine): what is measured is how fast the server notices
	"$@" >/dev/null
	t0=$(now_ms)
	wait "$pid" || true
	code=$(tail -n 1 "$T_DIR/pw")
	echo "$what: status $code after $(($(now_ms) - t0)) ms"
	[ "$code" = 200 ] && [ $(($(now_ms) - t0)) -lt 2000 ] || return 1
	VER=$(head -n -1 "$T_DIR/pw" | python3 -c 'import json,sys; print(json.loads(json.load(sys.stdin)["map"])["version"])')
}
cat >"$T_DIR/pol.hujson" <<'POL'
{ "acls": [ { "action": "accept", "src": ["alice"], "proto": "tcp", "dst": ["*:22"] } ] }
POL
check "poll wakes within 2 s of policy set (another process)" waits_then_200 "policy set" \
	ctl policy set "$T_DIR/pol.hujson"
check "poll wakes within 2 s of nodes rename (another process)" waits_then_200 "nodes rename" \
	ctl nodes rename phone handset
check "unknown token: 401" status_is 401 198.51.100.2 /v1/poll '{"since":0}' \
	-H "Authorization: Bearer rnt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
check "no token: 401" status_is 401 198.51.100.2 /v1/poll '{"since":0}'
check "logout: 200" status_is 200 198.51.100.2 /v1/logout '{}' -H "Authorization: Bearer $TOKEN"
check "poll after logout: 401" status_is 401 198.51.100.2 /v1/poll '{"since":0}' \
	-H "Authorization: Bearer $TOKEN"
check "logout is audited as the node" sh -c "python3 -c \"import sqlite3,sys
db = sqlite3.connect('file:$ST/control.db?mode=ro', uri=True)
sys.exit(0 if db.execute(\\\"SELECT count(*) FROM audit WHERE action = 'node.logout' AND actor = 'node:1'\\\").fetchone()[0] == 1 else 1)\""

# ---------------------------------------------------------------- shutdown
check "server still running after all of that" kill -0 "$SERVE_PID"
kill -TERM "$SERVE_PID"
stopped() { ! kill -0 "$SERVE_PID" 2>/dev/null; }
check "SIGTERM stops it within 5 s" wait_for 5 stopped
wait "$SERVE_PID" 2>/dev/null && rc=0 || rc=$?
check "exit status 0" [ "$rc" = 0 ]
check "no sanitizer report in the server log (stopped) nor in a report file" logs_clean "$T_DIR/serve.log"
[ "$T_FAIL" = 0 ] || { echo "# server log:"; sed 's/^/#   /' "$T_DIR/serve.log" | tail -n 30; }
t_done
