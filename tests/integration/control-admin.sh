#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# control-admin: rustynet-control's admin commands on a state dir, no server and no network.
#
#   $T_DIR/state  <- rustynet-control init / authkey / users / nodes / routes / policy
#                    (read back with python3: JSON output, and control.db opened read-only)
#
# Checks: init makes the dir 0700 with the db and private keys 0600 and refuses a second time;
# auth keys are created (single-use, reusable, expiring, tagged), listed as JSON, revoked; the
# printed key is rnk1.<secret>.<pin>.<key> and its pin is the certificate's; a bad duration is
# refused with a message; policy check passes a good file and points at line:col in a bad one;
# a refused policy set leaves the old policy in force; users list shows the user; every change
# has its audit entry with actor admin:<user>.
set -eu
TEST_TAG=ctl
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan 66
need_cmds python3 openssl

BUILD_DIR=$(dirname "$(dirname "$(dirname "${RUSTYNET_WG:-/nonexistent/x/y/z}")")")
CTL=$BUILD_DIR/src/rustynet-control/rustynet-control
if [ ! -x "$CTL" ]; then
	skip "control-admin: all checks" "no rustynet-control at $CTL (set RUSTYNET_WG)"
	t_done
fi

ST=$T_DIR/state
ME=$(id -un)
ctl() { "$CTL" --state "$ST" "$@"; }

# mode_is FILE MODE
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }

# json_has CMD... -- PYTHON-EXPR: the expression is true of the JSON CMD prints (as j).
json_has() {
	local expr=${*: -1}
	"${@:1:$#-2}" >"$T_DIR/json" &&
		python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($expr) else 1)" \
			"$T_DIR/json"
}

# sql QUERY: one value from control.db, opened read-only.
sql() { db_value "$ST/control.db" "$1"; }

# ---------------------------------------------------------------- init
check "init makes the state" ctl init --hostname ctl.example --hostname 127.0.0.1
check "state dir is 0700" mode_is "$ST" 700
check "control.db is 0600" mode_is "$ST/control.db" 600
check "netmap signing key is 0600" mode_is "$ST/netmap-signing.key" 600
check "TLS key is 0600" mode_is "$ST/tls-key.pem" 600
check "TLS cert has the SANs" sh -c "openssl x509 -in '$ST/tls-cert.pem' -noout -ext subjectAltName |
	grep -q 'DNS:ctl.example, IP Address:127.0.0.1'"
check "init twice is refused" fails_with 1 "refusing to overwrite" ctl init
check "init left the key in place" mode_is "$ST/netmap-signing.key" 600
check "bad --hostname is usage" fails_with 2 '"a,b"' "$CTL" init --state "$T_DIR/x" --hostname a,b

# ---------------------------------------------------------------- auth keys
KEY1=$(ctl authkey create --user alice 2>/dev/null)
check "single-use key is rnk1 with 4 parts" sh -c "echo '$KEY1' |
	grep -Eq '^rnk1\.rnk_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$'"
PIN=$(openssl x509 -in "$ST/tls-cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')
check "key carries the certificate's pin" [ "$(echo "$KEY1" | cut -d. -f3)" = "$PIN" ]
PUB=$(tr -d '\n' <"$ST/netmap-signing.pub" | tr '+/' '-_' | tr -d '=')
check "key carries the netmap signing key" [ "$(echo "$KEY1" | cut -d. -f4)" = "$PUB" ]
check "reusable key" ctl authkey create --user alice --reusable
check "expiring tagged key" ctl authkey create --user bob --expires 12h --tag tag:server
check "zero duration refused" fails_with 2 '"0d" is zero' ctl authkey create --user bob --expires 0d
check "garbage duration refused" fails_with 2 '"7days"' ctl authkey create --user bob --expires 7days
check "negative duration refused" fails_with 2 '"-1h"' ctl authkey create --user bob --expires -1h
check "bad tag refused" fails_with 2 '"server"' ctl authkey create --user bob --tag server
check "missing --user is usage" fails_with 2 "--user NAME is required" ctl authkey create
check "authkey list --json shows 3 keys" json_has ctl authkey list --json -- \
	"[k['id'] for k in j['authkeys']] == [1, 2, 3]"
check "key kinds listed" json_has ctl authkey list --json -- \
	"[(k['reusable'], k['expires_at'] > 0, k['tags']) for k in j['authkeys']] == \
	 [(False, False, []), (True, False, []), (False, True, ['tag:server'])]"
check "no secret in the list" sh -c "! '$CTL' --state '$ST' authkey list --json |
	grep -q rnk_"
check "revoke key 1" ctl authkey revoke 1
check "key 1 is revoked" json_has ctl authkey list --json -- \
	"j['authkeys'][0]['state'] == 'revoked' and j['authkeys'][0]['revoked_at'] > 0"
check "revoke of an unknown key fails" fails_with 1 "no auth key 42" ctl authkey revoke 42
check "revoke of a non-id is usage" fails_with 2 '"abc"' ctl authkey revoke abc

# ---------------------------------------------------------------- users, nodes, routes
check "users list --json shows alice and bob" json_has ctl users list --json -- \
	"[u['name'] for u in j['users']] == ['alice', 'bob']"
check "users list shows alice" sh -c "'$CTL' --state '$ST' users list | grep -q alice"
check "users start as members" json_has ctl users list --json -- \
	"[u['role'] for u in j['users']] == ['member', 'member']"
check "users role bob admin" ctl users role bob admin
check "users list --json: bob is an admin" json_has ctl users list --json -- \
	"[u['role'] for u in j['users']] == ['member', 'admin']"
check "users list shows bob's role" sh -c "'$CTL' --state '$ST' users list | grep -q 'bob .*admin'"
check "users role with a bad role is usage" fails_with 2 '"admin" or "member"' ctl users role bob owner
check "users role of an unknown user fails" fails_with 1 'no user "ghost"' ctl users role ghost admin
check "users role bob member" ctl users role bob member
check "audit: two role changes" [ "$(sql "SELECT count(*) FROM audit WHERE action = 'user.role'")" = 2 ]
check "nodes list --json is empty" json_has ctl nodes list --json -- "j['nodes'] == []"
check "routes list --json is empty" json_has ctl routes list --json -- "j['routes'] == []"
check "nodes remove of an unknown node fails" fails_with 1 'no node "ghost"' ctl nodes remove ghost
check "exit approve of an unknown node fails" fails_with 1 'no node "ghost"' ctl exit approve ghost
check "nodes tag of an unknown node fails" fails_with 1 'no node "ghost"' ctl nodes tag ghost tag:a
check "nodes tag needs the tags" fails_with 2 "missing argument" ctl nodes tag ghost
check "routes approve needs a CIDR" fails_with 2 "missing argument" ctl routes approve ghost

# ---------------------------------------------------------------- policy
ctl policy get >"$T_DIR/start.hujson"
check "starter policy installed" grep -q "every node reach every other node" "$T_DIR/start.hujson"
cat >"$T_DIR/good.hujson" <<'POL'
{
	// alice may ssh anywhere; bob's servers may talk among themselves
	"tagOwners": { "tag:server": ["bob"] },
	"acls": [
		{ "action": "accept", "src": ["alice"], "dst": ["*:22"] },
		{ "action": "accept", "src": ["tag:server"], "dst": ["tag:server:*"] },
	],
}
POL
cat >"$T_DIR/bad.hujson" <<'POL'
{
	"acls": [
		{ "action": "accept", "src": ["mallory"], "dst": ["*:22"] },
	],
}
POL
check "policy check of a good file" ctl policy check "$T_DIR/good.hujson"
check "policy check of a bad file says line:col" \
	fails_with 1 "$T_DIR/bad.hujson:3:" ctl policy check "$T_DIR/bad.hujson"
check "policy set of a bad file fails" fails_with 1 "old one stays" ctl policy set "$T_DIR/bad.hujson"
check "policy unchanged after a bad set" sh -c "'$CTL' --state '$ST' policy get |
	cmp -s - '$T_DIR/start.hujson'"
check "policy set of a good file" ctl policy set "$T_DIR/good.hujson"
check "policy get returns it" sh -c "'$CTL' --state '$ST' policy get | cmp -s - '$T_DIR/good.hujson'"
check "policy get --json has revision 2" json_has ctl policy get --json -- "j['revision'] == 2"
check "policy check of a missing file fails" fails_with 1 "cannot read" ctl policy check "$T_DIR/nope"

# ---------------------------------------------------------------- audit, usage
check "audit: user add by admin" [ "$(sql "SELECT count(*) FROM audit WHERE actor = 'admin:$ME' \
	AND action LIKE 'user.%'")" -ge 2 ]
check "audit: 3 key creations" [ "$(sql "SELECT count(*) FROM audit WHERE actor = 'admin:$ME' \
	AND action = 'authkey.create'")" = 3 ]
check "audit: key revoked" [ "$(sql "SELECT count(*) FROM audit WHERE action = 'authkey.revoke'")" = 1 ]
check "audit: policy set twice (init, good)" [ "$(sql "SELECT count(*) FROM audit \
	WHERE action LIKE 'policy.%'")" = 2 ]
check "audit holds no secret" [ "$(sql "SELECT count(*) FROM audit WHERE details LIKE '%rnk_%'")" = 0 ]
check "audit --json: every entry, the role change with its details" json_has ctl audit --json -- \
	"len(j['entries']) == $(sql "SELECT count(*) FROM audit") and any(e['action'] == 'user.role' and e['details']['role'] == 'admin' and e['actor'] == 'admin:$ME' for e in j['entries'])"
check "audit (text) shows the policy set" sh -c "'$CTL' --state '$ST' audit | grep -q 'admin:$ME .*policy.set'"
check "audit --since 1h has them all, --since a future date none" sh -c \
	"[ \"\$('$CTL' --state '$ST' audit --since 1h | wc -l)\" = \"\$('$CTL' --state '$ST' audit | wc -l)\" ] &&
	 [ \"\$('$CTL' --state '$ST' audit --since 2099-01-01 | wc -l)\" = 1 ]"
check "audit --since with a bad value is usage" fails_with 2 "neither a duration" ctl audit --since yesterday
check "unknown command is usage" fails_with 2 'unknown command "frob"' ctl frob
check "unknown option is usage" fails_with 2 '"--jsn"' ctl users list --jsn
check "missing state dir is an error" fails_with 1 "no state dir" "$CTL" --state "$T_DIR/none" users list
check "--help per command" sh -c "'$CTL' authkey create --help | grep -q 'rnk1.<secret>'"
check "version" sh -c "'$CTL' version | grep -q '^rustynet-control '"

t_done
