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
# twice -> 403, two racing -> exactly one 200; revoked, expired and unknown keys refused; 11 bad
# enrollments from one address -> 429 with Retry-After; poll since=0 answers at once, since=current
# answers within 2 s of `policy set` and of `nodes rename` from the admin CLI; unknown token ->
# 401; logout then poll -> 401; bad bodies -> 400/413/404/405; the server survives all of it and
# stops cleanly on SIGTERM.
set -eu
TEST_TAG=csrv
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
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
for a in 1 2 3; do addr_add "$NS" lo 198.51.100.$a/32; done

ctl init --hostname "$SRV" >/dev/null
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
enroll_body() { # SECRET HOSTNAME
	printf '{"auth_key":"%s","public_key":"%s","hostname":"%s","endpoints":["198.51.100.2:41641"]}' \
		"$1" "$(wg genkey | wg pubkey)" "$2"
}
# field FILE KEY: one member of the JSON body in FILE (its last line is the status)
field() { head -n -1 "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

# ---------------------------------------------------------------- enroll, TLS
req 198.51.100.2 /v1/enroll "$(enroll_body "$(secret_of "$KEY")" laptop)" >"$T_DIR/e1"
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
check "single-use key: first use 200" status_is 200 198.51.100.2 /v1/enroll \
	"$(enroll_body "$(secret_of "$ONCE")" phone)"
check "single-use key: second use 403" status_is 403 198.51.100.2 /v1/enroll \
	"$(enroll_body "$(secret_of "$ONCE")" phone2)"
RACE=$(ctl authkey create --user bob 2>/dev/null)
RACERS=()
for i in 1 2; do
	req 198.51.100.2 /v1/enroll "$(enroll_body "$(secret_of "$RACE")" race$i)" >"$T_DIR/race$i" &
	RACERS+=($!)
done
wait "${RACERS[@]}" || true
check "two racing enrollments with one single-use key: exactly one 200" sh -c \
	"[ \"\$(tail -qn 1 '$T_DIR/race1' '$T_DIR/race2' | sort | tr '\n' ' ')\" = '200 403 ' ]"
REV=$(ctl authkey create --user bob 2>/dev/null)
ctl authkey revoke "$(ctl authkey list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["authkeys"][-1]["id"])')" >/dev/null
check "revoked key: 403" status_is 403 198.51.100.2 /v1/enroll "$(enroll_body "$(secret_of "$REV")" r)"
EXP=$(ctl authkey create --user bob --expires 1s 2>/dev/null)
sleep 1.1
check "expired key: 403" status_is 403 198.51.100.2 /v1/enroll "$(enroll_body "$(secret_of "$EXP")" x)"
check "unknown key: 401" status_is 401 198.51.100.2 /v1/enroll \
	"$(enroll_body rnk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA u)"

# ---------------------------------------------------------------- bad requests
check "unknown member: 400" status_is 400 198.51.100.2 /v1/poll '{"since":0,"x":1}' \
	-H "Authorization: Bearer $TOKEN"
check "not JSON: 400" status_is 400 198.51.100.2 /v1/poll '{"since":' -H "Authorization: Bearer $TOKEN"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T_DIR/big"
check "body over 64 KiB: 413" status_is 413 198.51.100.2 /v1/poll "@$T_DIR/big"
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
check "another address is not limited" status_is 200 198.51.100.2 /v1/enroll \
	"$(enroll_body "$(secret_of "$KEY")" other)"

# ---------------------------------------------------------------- poll
req 198.51.100.2 /v1/poll '{"since":0}' -H "Authorization: Bearer $TOKEN" >"$T_DIR/p0"
check "poll since=0: 200 with the map at once" [ "$(tail -n 1 "$T_DIR/p0")" = 200 ]
VER=$(head -n -1 "$T_DIR/p0" | python3 -c 'import json,sys; print(json.loads(json.load(sys.stdin)["map"])["version"])')
# waits_then_200 WHAT CMD...: a poll at the current version answers 200 within 2 s of CMD
waits_then_200() {
	local what=$1 t0 pid code
	shift
	req 198.51.100.2 /v1/poll "{\"since\":$VER}" -H "Authorization: Bearer $TOKEN" >"$T_DIR/pw" &
	pid=$!
	sleep 1
	if ! kill -0 "$pid" 2>/dev/null; then echo "the poll answered before $what"; cat "$T_DIR/pw"; return 1; fi
	t0=$(now_ms)
	"$@" >/dev/null
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
check "no sanitizer report in the server log" sh -c "! grep -E 'Sanitizer|runtime error' '$T_DIR/serve.log'"
[ "$T_FAIL" = 0 ] || { echo "# server log:"; sed 's/^/#   /' "$T_DIR/serve.log" | tail -n 30; }
t_done
