#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# control-relay: the relay embedded in the control server (serve --relay-udp/--relay-tls) and
# the admin's relays (relay add/list/remove/secret) in every node's map, with its credential.
#
#            ns sw: bridge br0 (198.51.100.0/24)
#     +-----------------------------+
#   ctl .1                        n1 .10, n2 .11
#   rustynet-control serve        rustynetd (alice, bob): their netmap.json is read;
#     --relay-udp .1:3479           rustynet-relay probe registers with the credential
#     --relay-tls .1:8444           from it (UDP and TLS)
#     --relay-stats-file
#
# Checks: serve logs the relay and makes STATE/relay.secret 0600 (a relay.secret others may
# read is refused); n1's stored map lists the relay "control" first with the pin of the control
# server's certificate (as `rustynet-relay spki` computes it) and a credential for n1's own key
# on the 12 h grid; a probe with that credential registers over UDP and over TLS (pinned); a
# forged one is refused and counted as bad_cred; n1 reaches n2 through it, each with its own
# map's credential; `relay add` with bad input (loopback, TLS without a pin, the reserved name,
# a file that is not the network's secret, a secret file others may read) fails and changes
# nothing (no relay, no audit entry); after `relay add` the map lists the external relay after
# the server's own, `relay list --json` shows it, and after `relay remove` it is gone; the
# credential never appears in the control server's log; no sanitizer report.
set -eu
TEST_TAG=ctl-relay
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 24
need_root
need_cmds python3

RELAY=$BUILD_DIR/src/rustynet-relay/rustynet-relay
if ! mesh_have_bins || [ ! -x "$RELAY" ]; then
	skip "control-relay: all checks" "rustynetd, rustynet, rustynet-control or rustynet-relay missing in $BUILD_DIR"
	t_done
fi

CTL4=198.51.100.1
STATS=$T_DIR/relay-stats.json
EXT_PIN=AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=
# --relay: UDP on --listen's address, port 3479; its TLS port 443 is replaced here (tests use 8444)
MESH_CTL_ARGS=(--relay --relay-tls "$CTL4:8444" --relay-stats-file "$STATS")

mesh_init_or_end
check "serve runs the relay and names it in the maps" \
	grep -qF "relaying on udp $CTL4:3479, tls $CTL4:8444 (the maps name udp $CTL4:3479, tls $CTL4:8444)" "$MESH_CTL_LOG"
relay_443_refused() {
	local rc=0
	ctl serve --listen "$CTL4:443" --relay >"$T_DIR/r443.out" 2>&1 || rc=$?
	cat "$T_DIR/r443.out"
	[ "$rc" = 2 ] && grep -qF -- "--relay wants TLS port 443, which --listen takes" "$T_DIR/r443.out"
}
check "serve --relay with --listen on port 443 is refused (exit 2), saying why" relay_443_refused
check "the relay secret is made, mode 0600" \
	sh -c "[ \"\$(stat -c %a '$MESH_CTL_ST/relay.secret')\" = 600 ]"
mesh_nodes_or_end n1 n2
both_up() { mesh_up n1 alice && mesh_up n2 bob; }
check "n1 and n2 up (alice, bob)" both_up

PIN=$("$RELAY" spki --cert "$MESH_CTL_ST/tls-cert.pem")

# map_relays WANT: n1's stored map (the envelope's "map" string, itself JSON) lists relays
# named WANT (space-separated, in order), the first the server's own with its endpoints and
# PIN, and a credential on the grid (expires a multiple of 12 h, 24-36 h away); prints the
# credential as KEY:EXPIRY:TOKEN into $T_DIR/cred.
map_relays() {
	python3 - "${MESH_ST[n1]}/netmap.json" "$1" "$PIN" "$CTL4" "$T_DIR/cred" <<-'PY'
		import json, sys, time
		env = json.load(open(sys.argv[1]))
		m = json.loads(env["map"])
		relays = m.get("relays", [])
		names = [r["name"] for r in relays]
		print("version %d, relays %s" % (m["version"], names))
		if names != sys.argv[2].split():
		    sys.exit(1)
		own = relays[0]
		ctl = sys.argv[4]
		assert own == {"name": "control", "udp": ctl + ":3479", "tls": ctl + ":8444",
		               "spki": sys.argv[3]}, own
		c = m["relay_credential"]
		left = c["expires"] - time.time()
		assert c["expires"] % 43200 == 0 and 24 * 3600 - 60 < left <= 36 * 3600 + 60, c
		open(sys.argv[5], "w").write("%s:%d:%s" % (m["self"]["public_key"], c["expires"],
		                                            c["token"]))
	PY
}
check "n1's map lists the relay \"control\" with the certificate's pin and a credential" \
	wait_for 10 map_relays control
CRED=$(cat "$T_DIR/cred" 2>/dev/null || echo none)

# stat_above NAME N: the relay's counter (a drop reason's) passes N within 3 s.
stat_above() { wait_for 3 python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); n=sys.argv[2]
sys.exit(0 if (j[n] if n in j else j["drops"][n]) > int(sys.argv[3]) else 1)' "$STATS" "$1" "$2"; }

probe() { nsx "${MESH_NS[n1]}" "$RELAY" probe "$@"; }
check "a probe with n1's credential registers over UDP" \
	sh -c "ip netns exec '${MESH_NS[n1]}' '$RELAY' probe --relay $CTL4:3479 \
		--cred '$CRED' --timeout 5 | grep -qx registered"
check "... and over TLS, pinning the control server's certificate" \
	sh -c "ip netns exec '${MESH_NS[n1]}' '$RELAY' probe --relay $CTL4:8444 --tls \
		--pin '$PIN' --cred '$CRED' --timeout 5 | grep -qx registered"
# forged: the token's end changed; refused (never registered) and counted as bad_cred.
forged() {
	local f0
	f0=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["drops"]["bad_cred"])' "$STATS") || return 1
	fails_with 1 "never registered" probe --relay "$CTL4:3479" --cred "${CRED%?????=}AAAAA=" \
		--timeout 1 || return 1
	stat_above bad_cred "$f0"
}
check "a forged credential is refused, counted as bad_cred" forged

# cred_of NODE: the credential in NODE's stored map, as KEY:EXPIRY:TOKEN.
cred_of() {
	python3 - "${MESH_ST[$1]}/netmap.json" <<-'PY'
		import json, sys
		m = json.loads(json.load(open(sys.argv[1]))["map"])
		c = m["relay_credential"]
		print("%s:%d:%s" % (m["self"]["public_key"], c["expires"], c["token"]))
	PY
}
# relayed: n2 registers over TLS with its map's credential and waits; n1 sends over UDP to n2's
# key with its own; n2 prints the message, from n1's key.
relayed() {
	local c2 k1 k2 msg="hello-$RANDOM" pid rc=0
	c2=$(cred_of n2) || return 1
	k1=${CRED%%:*} k2=${c2%%:*}
	nsx "${MESH_NS[n2]}" "$RELAY" probe --relay "$CTL4:8444" --tls --pin "$PIN" --cred "$c2" \
		--receive 1 --timeout 8 >"$T_DIR/n2.out" 2>&1 &
	pid=$!
	wait_for 5 grep -q registered "$T_DIR/n2.out" || rc=1
	[ "$rc" != 0 ] || probe --relay "$CTL4:3479" --cred "$CRED" --send "$k2" --message "$msg" \
		--timeout 5 || rc=1
	wait "$pid" || rc=1
	cat "$T_DIR/n2.out"
	[ "$rc" = 0 ] && grep -qxF "recv $k1 $msg" "$T_DIR/n2.out" && stat_above fwd_tls_packets 0
}
check "the relay forwards n1 (UDP) to n2 (TLS), each with its own map's credential" relayed

# ---------------------------------------------------------------- relay add/list/remove

check "relay secret --out writes the network's secret, 0600" \
	sh -c "'$RNC' --state '$MESH_CTL_ST' relay secret --out '$T_DIR/net.secret' &&
		cmp '$T_DIR/net.secret' '$MESH_CTL_ST/relay.secret' &&
		[ \"\$(stat -c %a '$T_DIR/net.secret')\" = 600 ]"
# open_refused: the state dir's secret readable by others is refused (and nothing written).
open_refused() {
	local rc=0
	chmod 644 "$MESH_CTL_ST/relay.secret"
	fails_with 1 "chmod 600" ctl relay secret --out "$T_DIR/leak.secret" || rc=1
	chmod 600 "$MESH_CTL_ST/relay.secret"
	[ "$rc" = 0 ] && [ ! -e "$T_DIR/leak.secret" ]
}
check "... but not from a relay.secret others may read" open_refused
"$RELAY" genkey --secret "$T_DIR/other.secret" >/dev/null 2>&1 || true
cp "$T_DIR/net.secret" "$T_DIR/open.secret" && chmod 644 "$T_DIR/open.secret"

bad_adds() {
	fails_with 2 '--udp "127.0.0.1:3479" is a loopback address' \
		ctl relay add ext --udp 127.0.0.1:3479 || return 1
	fails_with 2 "--tls needs --spki PIN" ctl relay add ext --tls 203.0.113.9:443 || return 1
	fails_with 2 "the control server's own relay's" \
		ctl relay add control --udp 203.0.113.9:3479 || return 1
	fails_with 1 "is not this network's relay secret" ctl relay add ext \
		--udp 203.0.113.9:3479 --secret-file "$T_DIR/other.secret" || return 1
	fails_with 1 "chmod 600" ctl relay add ext \
		--udp 203.0.113.9:3479 --secret-file "$T_DIR/open.secret"
}
check "relay add with bad input fails (loopback, no pin, reserved name, wrong or open secret)" bad_adds
# unchanged: no relay listed, none in the audit log.
unchanged() {
	local n
	[ -z "$(ctl relay list)" ] || return 1
	n=$(db_value "$MESH_CTL_ST/control.db" "SELECT count(*) FROM audit WHERE action LIKE 'relay.%'")
	echo "audit entries about relays: $n"
	[ "$n" = 0 ]
}
check "... and nothing changed: no relay listed, no audit entry" unchanged
check "relay add ext (its secret checked)" ctl relay add ext --udp 203.0.113.9:3479 \
	--tls "[2001:db8:9::9]:443" --spki "$EXT_PIN" --secret-file "$T_DIR/net.secret"
check "relay list --json shows it" sh -c "'$RNC' --state '$MESH_CTL_ST' relay list --json |
	python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"relays\"] ==
		[{\"name\": \"ext\", \"udp\": \"203.0.113.9:3479\", \"tls\": \"[2001:db8:9::9]:443\",
		  \"spki\": \"$EXT_PIN\"}] else 1)'"
check "n1's map: the server's relay first, then ext" wait_for 10 map_relays "control ext"
# audited: one relay.add, by an admin, naming ext.
audited() {
	python3 - "$MESH_CTL_ST/control.db" <<-'PY'
		import sqlite3, sys
		db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
		rows = db.execute("SELECT actor, details FROM audit WHERE action = 'relay.add'").fetchall()
		print(rows)
		sys.exit(0 if len(rows) == 1 and rows[0][0].startswith("admin:") and '"ext"' in rows[0][1] else 1)
	PY
}
check "the audit log has the addition, by the admin" audited
check "relay remove ext" ctl relay remove ext
check "n1's map lists only the server's relay again" wait_for 10 map_relays control
check "the credential's token is nowhere in the control server's log" \
	sh -c "! grep -qF '${CRED##*:}' '$MESH_CTL_LOG'"
check "daemons exit 0, no sanitizer report" mesh_logs_clean
t_done
