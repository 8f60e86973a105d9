#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# mesh-trust: what a node refuses, and that a refusal changes nothing.
#
#            ns sw: bridge br0 (198.51.100.0/24)
#     +-------------+-------------+-------------+-------------+
#   ctl .1        n1 .10        n2 .11        n3 .12        n4 .13
#   control       alice         alice         alice         (enrolls with bad keys)
#   serve :8443, later replaced by tests/tools/rogue-control.py on the same address, holding
#   the server's TLS key but not its netmap key
#
# Checks: an auth key with another server's TLS pin is refused before anything is sent, and
# the node stays logged out; a single-use key works once and not twice, also when two nodes
# race with it (exactly one wins); expired and revoked keys are refused; from a rogue server,
# a netmap with a broken signature, an older (replayed) netmap and one signed by another key
# are each refused, shown in status, and change nothing (version, peers, traffic, and the
# names n1's Magic DNS answers: the forged maps rename n3b to "evil", the replay brings back
# "n3"; dig keeps answering n3b and nothing else); the real
# server back, the node takes new maps again; a node removed by the admin loses access to the
# others within 2 s.
set -eu
TEST_TAG=mtru
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 39
need_root
need_cmds python3 openssl dig

ROGUE=$(dirname "$0")/../tools/rogue-control.py
if ! mesh_have_bins; then
	skip "mesh-trust: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
mesh_init_or_end
mesh_nodes_or_end n1 n2 n3 n4

# fails_with TEXT CMD...: CMD fails and says TEXT (case-insensitive, a regex) on stderr/stdout.
fails_with() {
	local text=$1 rc=0
	shift
	"$@" >"$T_DIR/out" 2>&1 || rc=$?
	cat "$T_DIR/out"
	[ "$rc" != 0 ] && grep -qiE -- "$text" "$T_DIR/out"
}
logged_out() { mesh_json "$1" 'j["state"]' | grep -qx NeedsLogin; }

# ---------------------------------------------------------------- auth keys
"$RNC" --state "$T_DIR/other" init --hostname 198.51.100.1 >/dev/null 2>&1
KEY=$(mesh_key alice)
OTHER=$("$RNC" --state "$T_DIR/other" authkey create --user alice 2>/dev/null | tail -n 1)
IFS=. read -r v secret _ nkey <<<"$KEY"
IFS=. read -r _ _ opin _ <<<"$OTHER"
check "an auth key with another server's TLS pin is refused" \
	fails_with "pin|not the (one|server)" rnn n4 up --server "$MESH_URL" --auth-key "$v.$secret.$opin.$nkey" --hostname n4
check "... and n4 stays logged out" logged_out n4
check "... and the key was not used up: n1 enrolls with it" \
	rnn n1 up --server "$MESH_URL" --auth-key "$KEY" --hostname n1
check "a single-use key does not work twice" \
	fails_with "used" rnn n4 up --server "$MESH_URL" --auth-key "$KEY" --hostname n4
check "... and n4 stays logged out" logged_out n4
check "a malformed auth key is refused with what is wrong" \
	fails_with "auth key" rnn n4 up --server "$MESH_URL" --auth-key "rnk1.nonsense" --hostname n4

race() {
	local k rc2=0 rc3=0
	k=$(mesh_key alice) || return 1
	rnn n2 up --server "$MESH_URL" --auth-key "$k" --hostname n2 >"$T_DIR/r2" 2>&1 &
	local p2=$!
	rnn n3 up --server "$MESH_URL" --auth-key "$k" --hostname n3 >"$T_DIR/r3" 2>&1 || rc3=$?
	wait "$p2" || rc2=$?
	cat "$T_DIR/r2" "$T_DIR/r3"
	echo "n2: $rc2, n3: $rc3"
	{ [ "$rc2" = 0 ] && [ "$rc3" != 0 ]; } || { [ "$rc2" != 0 ] && [ "$rc3" = 0 ]; }
}
check "two nodes race with one single-use key: exactly one wins" race
# whichever lost enrolls now with a key of its own
for n in n2 n3; do
	logged_out "$n" && check "$n enrolls with its own key" mesh_up "$n" alice
done

EXP=$(mesh_key alice --expires 1s)
# key_expired: the server's list says the newest key (EXP) has expired (no fixed wait).
key_expired() {
	ctl authkey list --json | python3 -c 'import json, sys
k = max(json.load(sys.stdin)["authkeys"], key=lambda k: k["id"])
print(k)
sys.exit(0 if k["state"] == "expired" else 1)'
}
check "the 1 s key expires (the server's list, within 5 s)" wait_for 5 key_expired
check "an expired key is refused" \
	fails_with "expired" rnn n4 up --server "$MESH_URL" --auth-key "$EXP" --hostname n4
REV=$(mesh_key alice)
REV_ID=$(ctl authkey list --json | python3 -c 'import json,sys; print(max(k["id"] for k in json.load(sys.stdin)["authkeys"]))')
ctl authkey revoke "$REV_ID" >/dev/null 2>&1
check "a revoked key is refused" \
	fails_with "revoked" rnn n4 up --server "$MESH_URL" --auth-key "$REV" --hostname n4
check "n4 is still logged out" logged_out n4

N2=$(mesh_ip4 n2 || echo none)
check "n1 pings n2" wait_for 5 mesh_ping n1 "$N2"

# ---------------------------------------------------------------- a rogue server
cp "${MESH_ST[n1]}/netmap.json" "$T_DIR/old.json"
# a newer map, so that old.json is a replay
ctl nodes rename n3 n3b >/dev/null 2>&1
check "n1 takes the map that renames n3" \
	wait_for 3 sh -c "'$RNCLI' --socket '${MESH_SOCK[n1]}' status --json | grep -q n3b"
V=$(mesh_version n1)
cp "${MESH_ST[n1]}/netmap.json" "$T_DIR/good.json"
N3=$(mesh_ip4 n3 || echo none)
# dig1 NAME: the A record n1's Magic DNS answers for NAME.rustynet ("" for none).
dig1() { nsx "${MESH_NS[n1]}" dig +time=2 +tries=1 +short @100.100.100.100 "$1.rustynet" A; }
names_kept() {
	local cur evil old
	cur=$(dig1 n3b) evil=$(dig1 evil) old=$(dig1 n3)
	echo "n3b: '$cur' (want $N3), evil: '$evil', n3: '$old' (want none)"
	[ "$cur" = "$N3" ] && [ -z "$evil" ] && [ -z "$old" ]
}
check "n1's Magic DNS answers the current name n3b, not n3 (within 2 s)" wait_for 2 names_kept
# renamed ENVELOPE: the envelope with n3b's DNS name turned into "evil" and the version raised
# (its signature no longer matches).
renamed() {
	python3 - "$1" <<-'PY'
		import json, sys
		e = json.load(open(sys.argv[1]))
		m = json.loads(e["map"]); m["version"] += 1000
		for p in m["peers"]:
		    if p["dns_name"].startswith("n3b."):
		        p["dns_name"] = "evil." + p["dns_name"][4:]
		        p["name"] = "evil"
		e["map"] = json.dumps(m, separators=(",", ":"))
		json.dump(e, sys.stdout, separators=(",", ":"))
	PY
}

mesh_ctl_stop
cp "$T_DIR/old.json" "$T_DIR/rogue.json"
nsx "$MESH_CTL_NS" python3 "$ROGUE" 198.51.100.1 8443 "$MESH_CTL_ST/tls-cert.pem" \
	"$MESH_CTL_ST/tls-key.pem" "$T_DIR/rogue.json" >>"$T_DIR/rogue.log" 2>&1 </dev/null &
T_BG+=("$!")

# refused NAME REASON-REGEX [SINCE]: n1 shows a rejected map whose reason matches, rejected at
# SINCE (unix seconds) or later, and still runs version V. SINCE ties the check to the map
# being served now, not to an earlier rejection whose reason happens to match too.
refused() {
	local r t
	r=$(mesh_json n1 '(j["netmap"]["last_rejected"] or {}).get("reason", "")') &&
		t=$(mesh_json n1 '(j["netmap"]["last_rejected"] or {}).get("time", 0)') || return 1
	echo "last_rejected at $t (want >= ${3:-0}): $r; version $(mesh_version n1) (want $V)"
	echo "$r" | grep -qiE -- "$2" && [ "$t" -ge "${3:-0}" ] && [ "$(mesh_version n1)" = "$V" ]
}
check "a replayed older netmap is refused" wait_for 10 refused n1 "version|older|replay|stale" "$(date +%s)"
check "... the node still reaches n2" mesh_ping n1 "$N2"
check "... Magic DNS still answers n3b, and n3 (the replay's name) is not back" names_kept

T_SIG=$(date +%s)
renamed "$T_DIR/good.json" >"$T_DIR/rogue.json"
has_evil() {
	python3 -c 'import json,sys; m=json.loads(json.load(open(sys.argv[1]))["map"]); n=[p["dns_name"] for p in m["peers"]]; print(n); assert "evil.rustynet" in n' "$1"
}
check "(the forged map does rename n3b to evil)" has_evil "$T_DIR/rogue.json"
check "a netmap with a broken signature is refused" wait_for 10 refused n1 "bad signature" "$T_SIG"
check "... the node still reaches n2" mesh_ping n1 "$N2"
check "... Magic DNS still answers n3b, not the forged name evil" names_kept

renamed "$T_DIR/good.json" >"$T_DIR/evil.json"
T_FORGE=$(date +%s)
python3 "$ROGUE" forge "$T_DIR/evil.json" "$T_DIR/other/netmap-signing.key" 2000 >"$T_DIR/forged.json"
FORGED_KID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key_id"])' "$T_DIR/forged.json")
cp "$T_DIR/forged.json" "$T_DIR/rogue.json"
# the rejection of this map: it names the forged map's key id (not the pinned key's)
check "a netmap signed by another key is refused, naming its key id $FORGED_KID" \
	wait_for 20 refused n1 "key_id \"?$FORGED_KID\"? is not that of the pinned" "$T_FORGE"
check "... the node still reaches n2" mesh_ping n1 "$N2"
check "... Magic DNS still answers n3b, not the forged name evil" names_kept
check "... and lists the same peers" \
	sh -c "'$RNCLI' --socket '${MESH_SOCK[n1]}' status --json | grep -q n3b"

# ---------------------------------------------------------------- the real server again
for p in $(ip netns pids "$MESH_CTL_NS"); do kill -TERM "$p" 2>/dev/null || true; done
ctl_ns_empty() { [ -z "$(ip netns pids "$MESH_CTL_NS")" ]; }
wait_for 5 ctl_ns_empty || true
check "the real server restarts on its state" mesh_ctl_start
ctl nodes rename n3b n3c >/dev/null 2>&1
check "n1 takes new maps from the real server again" \
	wait_for 15 sh -c "'$RNCLI' --socket '${MESH_SOCK[n1]}' status --json | grep -q n3c"

# ---------------------------------------------------------------- removal
# n1_lacks_n2: n1's daemon answers status, and n2's address is not among its peers'.
n1_lacks_n2() {
	local a
	a=$(mesh_json n1 '" ".join(p["ipv4"] for p in j["peers"])') || return 1
	echo "n1's peers: $a"
	case " $a " in *" $N2 "*) return 1 ;; esac
}
check "before the removal: n1 pings n2" wait_for 5 mesh_ping n1 "$N2"
check "admin removes n2" ctl nodes remove n2
check "n1 drops n2 within 2 s" wait_for 2 n1_lacks_n2
check "n1 cannot reach n2" mesh_no_ping n1 "$N2"
check "n2 is told it is logged out" wait_for 5 logged_out n2

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || { mesh_dump_logs; tail -n 5 "$T_DIR/rogue.log" | sed 's/^/#   /'; }
t_done
