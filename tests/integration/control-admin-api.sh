#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# control-admin-api: the admin API (/admin/v1/ on serve's HTTPS listener, docs/admin-api.md)
# driven by curl with tokens from `rustynet-control token create`, against two running nodes.
#
#            ns sw: bridge br0 (198.51.100.0/24)
#     +-------------+-------------+
#   ctl .1 (.3)   a .10         b .11
#   control       offers 192.168.77.0/24 and to be an exit
#   serve :8443   <- curl from .1 (and from .3 for the rate limit)
#
# Checks: tokens are printed once as rnadm_..., listed without secrets, stored only hashed;
# every endpoint of the slice answers JSON; a read token gets 403 from each change endpoint
# and a keys token from the node ones, while a keys token makes and revokes auth keys; a
# missing, unknown, revoked or expired token gets the same 401; a rename through the API
# reaches b's map (rustynet status --json); tags, route and exit approvals, expiry and removal
# show in the store; policy get with an ETag, check with line:col, PUT without If-Match 428,
# with a stale one 412 (nothing stored), two racing PUTs
# on one revision: exactly one 200 and one 412; the audit log pages back and names the token;
# malformed JSON, unknown fields, a 70 KB body (with a length or chunked), an unknown path and a wrong method are refused
# and change nothing; 11 bad tokens from .3 get 429 while .1 is served; no secret in the log.
set -eu
TEST_TAG=capi
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 79
need_root
need_cmds curl python3 wg

if ! mesh_have_bins; then
	skip "control-admin-api: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
mesh_init_or_end
mesh_nodes_or_end a b

# api TOKEN METHOD PATH [CURL ARGS...]: the body, then the status on a line of its own. TOKEN
# "-" sends no Authorization header. FROM (default .1) is the source address.
api() {
	local tok=$1 m=$2 p=$3 auth=()
	shift 3
	[ "$tok" = - ] || auth=(-H "Authorization: Bearer $tok")
	nsx "$MESH_CTL_NS" curl -s --cacert "$MESH_CTL_ST/tls-cert.pem" --interface "${FROM:-198.51.100.1}" \
		-m 20 -X "$m" "${auth[@]}" -w '\n%{http_code}\n' "$@" "$MESH_URL/admin/v1/$p"
}
# st WANT TOKEN METHOD PATH [CURL ARGS...]: the status is WANT (the body is printed).
st() {
	local want=$1 out
	shift
	out=$(api "$@")
	echo "$out"
	[ "$(tail -n 1 <<<"$out")" = "$want" ]
}
# js WANT PYEXPR TOKEN METHOD PATH [ARGS...]: status WANT and PYEXPR true of the body (as j).
js() {
	local want=$1 expr=$2 out
	shift 2
	out=$(api "$@")
	echo "$out"
	[ "$(tail -n 1 <<<"$out")" = "$want" ] &&
		head -n -1 <<<"$out" | python3 -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if ($expr) else 1)"
}
sql() { db_value "$MESH_CTL_ST/control.db" "$1"; }
audit_last() { sql "SELECT coalesce(max(id), 0) FROM audit"; }

# ---------------------------------------------------------------- tokens
W=$(ctl token create --name ci --scope write --expires 90d 2>"$T_DIR/create.err")
R=$(ctl token create --name viewer --scope read --expires never 2>/dev/null)
K=$(ctl token create --name provision --scope keys --expires 2027-12-31 2>/dev/null)
check "token create prints each secret once, rnadm_ID_SECRET" sh -c "
	for t in '$W' '$R' '$K'; do echo \"\$t\" | grep -Eq '^rnadm_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\$' || exit 1; done
	grep -q 'scope write' '$T_DIR/create.err'"
check "token list --json: three, with scope and state, never a secret" sh -c "
	'$RNC' --state '$MESH_CTL_ST' token list --json >'$T_DIR/tokens.json' &&
	python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))[\"tokens\"]; sys.exit(0 if [(x[\"name\"], x[\"scope\"], x[\"state\"]) for x in t] == [(\"ci\",\"write\",\"valid\"),(\"viewer\",\"read\",\"valid\"),(\"provision\",\"keys\",\"valid\")] else 1)' '$T_DIR/tokens.json' &&
	! grep -q '${W#rnadm_*_}' '$T_DIR/tokens.json'"
check "the store keeps only a hash: no secret in control.db" \
	sh -c "! grep -qa -e '${W#rnadm_*_}' -e '${R#rnadm_*_}' '$MESH_CTL_ST'/control.db*"
check "a token name is unique" fails_with 1 "already exists" ctl token create --name ci --scope read --expires never
check "--scope admin is a usage error" fails_with 2 "give read, write or keys" ctl token create --name x --scope admin --expires never

check "a enrolls offering 192.168.77.0/24 and to be an exit" \
	rnn a up --server "$MESH_URL" --auth-key "$(mesh_key alice)" --hostname a \
	--advertise-routes 192.168.77.0/24 --advertise-exit-node
check "b enrolls" rnn b up --server "$MESH_URL" --auth-key "$(mesh_key bob)" --hostname b

# ---------------------------------------------------------------- authentication
check "alive: GET health with the read token" js 200 'j["status"]=="ok" and j["token"]=="viewer" and j["nodes"]==2' "$R" GET health
NOAUTH=$(api - GET health)
BADTOK=$(api "rnadm_0123456789abcdef_${W##*_}" GET health)
same_401() { echo "$NOAUTH"; [ "$(tail -n 1 <<<"$NOAUTH")" = 401 ] && [ "$NOAUTH" = "$BADTOK" ]; }
check "no token and an unknown token: the same 401" same_401
check "the token in a Basic header is no admin token (401)" \
	st 401 - GET health -H "Authorization: Basic $(echo -n "ci:$W" | base64 -w0)"

# ---------------------------------------------------------------- reads
check "GET nodes lists a and b with their users" \
	js 200 'sorted((n["dns_name"], n["user"]) for n in j["nodes"]) == [("a","alice"),("b","bob")]' "$R" GET nodes
check "GET nodes/a: its offer, not yet approved" \
	js 200 'j["advertised_routes"]==["192.168.77.0/24"] and j["advertises_exit"] and not j["exit_approved"]' "$R" GET nodes/a
check "GET nodes/zzz: 404" st 404 "$R" GET nodes/zzz
check "GET users" js 200 '[u["name"] for u in j["users"]] == ["alice","bob"]' "$R" GET users
check "GET authkeys: the two keys, no secret" \
	js 200 'len(j["authkeys"])==2 and all("secret" not in k and "key" not in k for k in j["authkeys"])' "$R" GET authkeys

# ---------------------------------------------------------------- scopes
A0=$(audit_last)
for ep in "POST nodes/a/rename --data {\"name\":\"x\"}" "POST nodes/a/tags --data {\"tags\":[]}" \
	"POST nodes/a/expire" "DELETE nodes/a" "POST nodes/a/routes/approve --data {\"routes\":[\"192.168.77.0/24\"]}" \
	"POST nodes/a/exit/approve" "PUT policy -H If-Match:1 --data {}" "POST authkeys --data {\"user\":\"eve\"}" \
	"DELETE authkeys/1"; do
	# shellcheck disable=SC2086 # the words of ep are the request
	check "read token: $ep is 403" st 403 "$R" $ep
done
check "nothing changed by the refused calls (no audit row)" [ "$(audit_last)" = "$A0" ]
check "keys token: rename is 403" st 403 "$K" POST nodes/a/rename --data '{"name":"x"}'
check "keys token: PUT policy is 403" st 403 "$K" PUT policy -H 'If-Match: "1"' --data '{}'
KEYOUT=$(api "$K" POST authkeys --data '{"user":"carol","reusable":true,"expires":"1h","tags":["tag:ci"]}')
made_key() { [ "$(tail -n 1 <<<"$KEYOUT")" = 201 ] && head -n 1 <<<"$KEYOUT" | grep -q '"key":"rnk1\.rnk_'; }
check "keys token: POST authkeys makes an rnk1 key (201)" made_key
KID=$(head -n 1 <<<"$KEYOUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null || echo 0)
check "keys token: DELETE authkeys/ID revokes it" st 200 "$K" DELETE "authkeys/$KID"
check "the key is listed revoked, made for carol with tag:ci" \
	js 200 "[(k['user'],k['state'],k['tags']) for k in j['authkeys'] if k['id']==$KID]==[('carol','revoked',['tag:ci'])]" "$R" GET authkeys

# ---------------------------------------------------------------- changes reach the nodes
check "write token: rename a to nas" st 200 "$W" POST nodes/a/rename --data '{"name":"nas"}'
check "b's map has a as nas within 3 s" \
	wait_for 3 sh -c "'$RNCLI' --socket '${MESH_SOCK[b]}' status --json | grep -q '\"nas\"'"
check "write token: tag nas" st 200 "$W" POST nodes/nas/tags --data '{"tags":["tag:nas"]}'
check "GET nodes/nas shows the tag" js 200 'j["tags"]==["tag:nas"]' "$R" GET nodes/nas
check "write token: routes approve" \
	js 200 'j["approved_routes"]==["192.168.77.0/24"]' "$W" POST nodes/nas/routes/approve --data '{"routes":["192.168.77.0/24"]}'
routes_cli() {
	ctl routes list --json | python3 -c 'import json,sys; print([r["approved_routes"] for r in json.load(sys.stdin)["routes"] if r["node"]=="nas"])'
}
check "the CLI's routes list shows it approved" [ "$(routes_cli)" = "[['192.168.77.0/24']]" ]
check "write token: routes unapprove" js 200 'j["approved_routes"]==[]' "$W" POST nodes/nas/routes/unapprove --data '{"routes":["192.168.77.0/24"]}'
check "unapproving a route not approved: 400, said why" \
	js 400 '"not an approved route" in j["error"]' "$W" POST nodes/nas/routes/unapprove --data '{"routes":["192.168.77.0/24"]}'
# exit_is WANT: nas's exit approval as `routes list --json` shows it
exit_is() {
	[ "$(ctl routes list --json | python3 -c 'import json,sys; print([r["exit_approved"] for r in json.load(sys.stdin)["routes"] if r["node"]=="nas"])')" = "[$1]" ]
}
exit_approve() { st 200 "$W" POST nodes/nas/exit/approve && exit_is True; }
exit_unapprove() {
	st 200 "$W" POST nodes/nas/exit/unapprove && exit_is False &&
		js 409 '"not an approved exit node" in j["error"]' "$W" POST nodes/nas/exit/unapprove
}
check "write token: exit approve, seen by the CLI" exit_approve
check "write token: exit unapprove; again is 409, said why" exit_unapprove

# ---------------------------------------------------------------- policy
check "GET policy: revision 1 and ETag \"1\"" sh -c "
	'$RNC' --state '$MESH_CTL_ST' policy get --json >/dev/null &&
	ip netns exec '$MESH_CTL_NS' curl -s -D - -o '$T_DIR/pol.json' --cacert '$MESH_CTL_ST/tls-cert.pem' \
		-H 'Authorization: Bearer $R' '$MESH_URL/admin/v1/policy' | tr -d '\r' | grep -qx 'ETag: \"1\"' &&
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j[\"revision\"]==1 and \"acls\" in j[\"text\"] else 1)' '$T_DIR/pol.json'"
BAD=$'{\n\t"acls": [\n\t\t{"action": "acept", "src": ["*"], "dst": ["*:*"]},\n\t],\n}\n'
GOOD=$'{\n\t"tagOwners": {"tag:nas": ["alice"]},\n\t"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],\n}\n'
check "POST policy/check: a bad policy gets line:col as policy check gives them" \
	js 400 'j["line"]==3 and j["column"]>1 and j["error"].startswith("policy:3:")' "$R" POST policy/check --data-binary "$BAD"
check "POST policy/check: a good one is ok" js 200 'j["ok"]' "$R" POST policy/check --data-binary "$GOOD"
check "PUT policy without If-Match: 428" st 428 "$W" PUT policy --data-binary "$GOOD"
policy_rev() { ctl policy get --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["revision"])'; }
check "PUT policy with a bad policy: 400 with line:col" \
	js 400 'j["error"].startswith("policy:3:")' "$W" PUT policy -H 'If-Match: "1"' --data-binary "$BAD"
check "...and nothing stored: revision 1" [ "$(policy_rev)" = 1 ]
check "PUT policy If-Match \"1\": 200, revision 2" js 200 'j["revision"]==2' "$W" PUT policy -H 'If-Match: "1"' --data-binary "$GOOD"
check "PUT policy with the stale If-Match \"1\": 412, said why" \
	js 412 '"not 1" in j["error"]' "$W" PUT policy -H 'If-Match: "1"' --data-binary "$GOOD"
check "...and the revision stays 2" [ "$(policy_rev)" = 2 ]
A1=$(audit_last)
api "$W" PUT policy -H 'If-Match: "2"' --data-binary "$GOOD" >"$T_DIR/race1" &
RACE1=$!
api "$W" PUT policy -H 'If-Match: "2"' --data-binary "$GOOD" >"$T_DIR/race2" &
wait "$RACE1" "$!" || true
check "two PUTs racing on revision 2: one 200 and one 412" \
	sh -c "[ \"\$(tail -qn 1 '$T_DIR/race1' '$T_DIR/race2' | sort | tr '\n' ' ')\" = '200 412 ' ]"
check "...and exactly one policy.set in the audit log" \
	[ "$(sql "SELECT count(*) FROM audit WHERE id > $A1 AND action = 'policy.set'")" = 1 ]

# ---------------------------------------------------------------- audit
check "every change is audited with the token's name" \
	[ "$(sql "SELECT group_concat(action, ' ') FROM (SELECT action FROM audit WHERE actor = 'token:ci' GROUP BY action ORDER BY action)")" = "node.approve_exit node.approve_routes node.rename node.tag policy.set" ]
check "the keys token's auth key and its revocation are audited as token:provision" \
	[ "$(sql "SELECT count(*) FROM audit WHERE actor = 'token:provision' AND action IN ('authkey.create','authkey.revoke')")" = 2 ]
P1=$(api "$R" GET 'audit?limit=3')
NEXT=$(head -n 1 <<<"$P1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_before"])' 2>/dev/null || echo 0)
first_page() {
	echo "$P1"
	head -n 1 <<<"$P1" | python3 -c 'import json,sys; j=json.load(sys.stdin); e=j["entries"]; sys.exit(0 if len(e)==3 and e[0]["id"]>e[1]["id"]>e[2]["id"]==j["next_before"] else 1)'
}
check "GET audit?limit=3: the newest 3, newest first, and where to go on" first_page
check "GET audit?before=NEXT: the page before, older" \
	js 200 "len(j['entries'])==3 and all(e['id'] < $NEXT for e in j['entries'])" "$R" GET "audit?limit=3&before=$NEXT"
check "GET audit?since=2000-01-01&limit=1000 holds token:ci's rename" \
	js 200 'any(e["actor"]=="token:ci" and e["action"]=="node.rename" for e in j["entries"])' "$R" GET 'audit?since=2000-01-01&limit=1000'
check "token list: last used is noted" sh -c "
	'$RNC' --state '$MESH_CTL_ST' token list --json | python3 -c 'import json,sys; sys.exit(0 if all(t[\"last_used\"] > 0 for t in json.load(sys.stdin)[\"tokens\"]) else 1)'"

# ---------------------------------------------------------------- bad input changes nothing
A2=$(audit_last)
check "malformed JSON: 400, said so" js 400 '"not a JSON object" in j["error"]' "$W" POST nodes/nas/rename --data '{"name":'
check "an unknown field: 400 naming it" js 400 '"nmae" in j["error"]' "$W" POST nodes/nas/rename --data '{"name":"x","nmae":"y"}'
head -c 70000 /dev/zero | tr '\0' 'x' >"$T_DIR/big"
# Expect: the answer comes before the body is sent (the server refuses it by its length, and a
# client still sending into the closed connection may lose the answer)
check "a 70 KB body: 413" st 413 "$W" PUT policy -H 'If-Match: "3"' -H 'Expect: 100-continue' --data-binary @"$T_DIR/big"
check "a 70 KB body sent chunked (no length): 413" \
	st 413 "$W" PUT policy -H 'If-Match: "3"' -H 'Transfer-Encoding: chunked' --data-binary @"$T_DIR/big"
check "an unknown path: 404" js 404 '"unknown path" in j["error"]' "$W" GET nodes/nas/frobnicate
check "a wrong method: 405 with Allow" sh -c "
	ip netns exec '$MESH_CTL_NS' curl -s -D - -o /dev/null -X PATCH --cacert '$MESH_CTL_ST/tls-cert.pem' \
		-H 'Authorization: Bearer $W' '$MESH_URL/admin/v1/nodes' | tr -d '\r' | grep -qx 'Allow: GET'"
check "none of it changed anything (no audit row, nas keeps its name)" \
	sh -c "[ '$(audit_last)' = '$A2' ] && [ \"\$('$RNC' --state '$MESH_CTL_ST' nodes list --json | grep -c '\"nas\"')\" -ge 1 ]"

# ---------------------------------------------------------------- expire, remove
check "write token: expire b" st 200 "$W" POST nodes/b/expire
check "the CLI sees b expired" sh -c "'$RNC' --state '$MESH_CTL_ST' nodes list --json | python3 -c '
import json,sys; sys.exit(0 if [n[\"expired\"] for n in json.load(sys.stdin)[\"nodes\"] if n[\"dns_name\"]==\"b\"]==[True] else 1)'"
remove_b() { st 200 "$W" DELETE nodes/b && st 404 "$W" GET nodes/b; }
check "write token: DELETE nodes/b, then GET nodes/b is 404" remove_b

# ---------------------------------------------------------------- revoked, expired, rate limit
check "alive: the read token works before its revocation" st 200 "$R" GET nodes
check "token revoke viewer" ctl token revoke viewer
check "a revoked token: the same 401" [ "$(api "$R" GET nodes)" = "$NOAUTH" ]
E=$(ctl token create --name short --scope read --expires 3s 2>/dev/null)
check "alive: a token expiring in 3 s works now" st 200 "$E" GET health
sleep 4
check "...and 4 s later gets the same 401" [ "$(api "$E" GET health)" = "$NOAUTH" ]
addr_add "$MESH_CTL_NS" c0 198.51.100.3/24
# flood: 10 bad tokens from .3 are 401, the 11th (even with a good token) 429 with Retry-After
flood() {
	local i
	for i in $(seq 10); do [ "$(FROM=198.51.100.3 api "rnadm_0123456789abcdef_${W##*_}" GET health | tail -n 1)" = 401 ] || return 1; done
	FROM=198.51.100.3 api "$W" GET health -D "$T_DIR/flood.h" | tail -n 1 | grep -qx 429 &&
		tr -d '\r' <"$T_DIR/flood.h" | grep -q '^Retry-After: [1-9]'
}
check "10 bad tokens from .3, then the 11th call is 429 with Retry-After" flood
check "...while .1 is still served" st 200 "$W" GET health
check "no secret in the control server's log" \
	sh -c "! grep -q -e '${W#rnadm_*_}' -e '${K#rnadm_*_}' -e rnk1 '$MESH_CTL_LOG'"
check "no sanitizer report in any log" mesh_logs_clean
t_done
