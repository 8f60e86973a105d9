#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# mesh-basic: a control server and three enrolled nodes, the starter policy (everyone reaches
# everyone).
#
#            ns sw: bridge br0 (198.51.100.0/24, 2001:db8:1::/64)
#     +-------------+-------------+-------------+
#   ctl .1        n1 .10        n2 .11        n3 .12
#   rustynet-   rustynetd     rustynetd     rustynetd
#   control     (alice)       (alice)       (bob)
#   serve :8443    \____________ mesh: 100.64.0.0/10, fdxx::/48 _____/
#
# Checks: `rustynet up` enrolls each node with one command; each gets distinct addresses in
# 100.64.0.0/10 and one ULA /48; every pair pings over IPv4 and IPv6 mesh addresses; TCP works;
# status (text and --json) lists the peers with handshakes; `wg show` reads the interface;
# `rustynet ping NAME` works; re-login with a new key keeps the addresses; the state files are
# 0600; logout removes the node from the others' peers; logs have no sanitizer report.
set -eu
TEST_TAG=mesh
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 50
need_root
need_cmds python3 wg socat

if ! mesh_have_bins; then
	skip "mesh-basic: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi

mesh_init_or_end
mesh_nodes_or_end n1 n2 n3
check "n1 up (alice)" mesh_up n1 alice
check "n2 up (alice)" mesh_up n2 alice
check "n3 up (bob)" mesh_up n3 bob

declare -A IP4 IP6
for n in n1 n2 n3; do
	IP4[$n]=$(mesh_ip4 "$n" 2>/dev/null || echo none)
	IP6[$n]=$(mesh_ip6 "$n" 2>/dev/null || echo none)
done
note "addresses: n1 ${IP4[n1]} ${IP6[n1]}, n2 ${IP4[n2]} ${IP6[n2]}, n3 ${IP4[n3]} ${IP6[n3]}"

addrs_ok() {
	python3 - "${IP4[n1]}" "${IP4[n2]}" "${IP4[n3]}" "${IP6[n1]}" "${IP6[n2]}" "${IP6[n3]}" <<-'PY'
		import ipaddress, sys
		v4 = [ipaddress.ip_address(a) for a in sys.argv[1:4]]
		v6 = [ipaddress.ip_address(a) for a in sys.argv[4:7]]
		assert len(set(v4)) == 3 and len(set(v6)) == 3, "addresses not distinct"
		assert all(a in ipaddress.ip_network("100.64.0.0/10") for a in v4), "v4 not in CGNAT"
		nets = {ipaddress.ip_network(f"{a}/48", strict=False) for a in v6}
		assert len(nets) == 1 and next(iter(nets)).subnet_of(ipaddress.ip_network("fc00::/7")), \
			"v6 not in one ULA /48"
	PY
}
check "addresses distinct, IPv4 in 100.64.0.0/10, IPv6 in one ULA /48" addrs_ok
check "the address is on the interface" \
	sh -c "ip -n '${MESH_NS[n1]}' addr show dev '${MESH_IF[n1]}' | grep -qF '${IP4[n1]}/32'"

for a in n1 n2 n3; do
	for b in n1 n2 n3; do
		[ "$a" = "$b" ] && continue
		check "$a pings $b over IPv4" wait_for 5 mesh_ping "$a" "${IP4[$b]}"
		check "$a pings $b over IPv6" wait_for 5 mesh_ping "$a" "${IP6[$b]}"
	done
done

mesh_listen n3 tcp "${IP4[n3]}" 8080
mesh_listen n3 tcp "${IP6[n3]}" 8080
check "TCP from n1 to n3 over IPv4" mesh_reach n1 tcp "${IP4[n3]}" 8080
check "TCP from n2 to n3 over IPv6" mesh_reach n2 tcp "${IP6[n3]}" 8080

status_json_ok() {
	rnn n1 status --json >"$T_DIR/s1.json" || return 1
	python3 - "$T_DIR/s1.json" "${IP4[n2]}" "${IP4[n3]}" <<-'PY'
		import json, sys
		j = json.load(open(sys.argv[1]))
		assert j["state"] == "Running", j["state"]
		assert j["self"]["name"] == "n1" and j["self"]["dns_name"] == "n1.rustynet", j["self"]
		assert j["self"]["user"] == "alice", j["self"]
		peers = {p["name"]: p for p in j["peers"]}
		assert set(peers) == {"n2", "n3"}, peers.keys()
		assert peers["n2"]["ipv4"] == sys.argv[2] and peers["n3"]["ipv4"] == sys.argv[3]
		for p in peers.values():
		    assert p["latest_handshake"] > 0, p
		    assert p["rx_bytes"] > 0 and p["tx_bytes"] > 0, p
		    assert (p["endpoint"] or "").startswith(("198.51.100.", "[2001:db8:1::")), p
		assert j["netmap"]["version"] >= 1 and j["netmap"]["last_rejected"] is None
		assert j["server"]["connected"] is True
	PY
}
check "status --json: self, both peers with handshakes, bytes, endpoints" status_json_ok
check "status (text) names the peers and addresses" \
	sh -c "'$RNCLI' --socket '${MESH_SOCK[n1]}' status | tee /dev/stderr | grep -F n2 | grep -qF '${IP4[n2]}'"
check "wg show lists n2's key with its mesh /32" \
	sh -c "ip netns exec '${MESH_NS[n1]}' wg show '${MESH_IF[n1]}' allowed-ips | grep -qF '${IP4[n2]}/32'"
check "rustynet ping n3 (by name)" rnx n1 ping -c 2 n3
check "rustynet ping by IP" rnx n2 ping -c 1 "${IP4[n1]}"
unknown_fails() {
	local rc=0
	rnx n1 ping -c 1 nosuchnode >"$T_DIR/ping.out" 2>&1 || rc=$?
	cat "$T_DIR/ping.out"
	[ "$rc" != 0 ] && grep -q "nosuchnode" "$T_DIR/ping.out"
}
check "rustynet ping of an unknown name fails" unknown_fails

mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }
check "control.json (the node token) is 0600" mode_is "${MESH_ST[n1]}/control.json" 600

# ---------------------------------------------------------------- restart and re-login
relogin_keeps() {
	local key
	rnn n2 logout || return 1
	key=$(mesh_key alice) || return 1
	rnn n2 up --server "$MESH_URL" --auth-key "$key" --hostname n2 || return 1
	[ "$(mesh_ip4 n2)" = "${IP4[n2]}" ] && [ "$(mesh_ip6 n2)" = "${IP6[n2]}" ]
}
check "logout and up with a new key keep n2's addresses" relogin_keeps
check "n1 pings n2 again after re-login" wait_for 5 mesh_ping n1 "${IP4[n2]}"

restart_keeps() {
	kill -TERM "${MESH_PID[n3]}" && wait "${MESH_PID[n3]}" 2>/dev/null
	mesh_node_start n3 || return 1
	wait_for 5 mesh_ping n3 "${IP4[n1]}" && [ "$(mesh_ip4 n3)" = "${IP4[n3]}" ]
}
check "rustynetd restart: n3 logged in with the same address, mesh back" restart_keeps

# n1_lacks NAME: n1's daemon answers status, and NAME is not among its peers (a dead daemon
# or a status that does not parse is a failure, not an absent peer).
n1_peers() { mesh_json n1 '" ".join(p["name"] for p in j["peers"])'; }
n1_lacks() {
	local peers
	peers=$(n1_peers) || return 1
	echo "n1's peers: $peers"
	case " $peers " in *" $1 "*) return 1 ;; esac
}
n1_has() {
	local peers
	peers=$(n1_peers) || return 1
	echo "n1's peers: $peers"
	case " $peers " in *" $1 "*) return 0 ;; esac
	return 1
}
# ---------------------------------------------------------------- key expiry
setting_is() { [ "$(ctl settings get --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key-expiry"])')" = "$1" ]; }
check "settings set key-expiry 30d" ctl settings set key-expiry 30d
check "settings get --json: key-expiry 30d" setting_is 30d
check "nodes expiry n2 3s" ctl nodes expiry n2 3s
check "n1 drops n2 once its key expires (within 12 s)" wait_for 12 n1_lacks n2
n2_expired() {
	"$RNCLI" --socket "${MESH_SOCK[n2]}" status >"$T_DIR/n2.status" 2>&1 || true
	cat "$T_DIR/n2.status"
	grep -q "key expired" "$T_DIR/n2.status" && grep -q "auth-key" "$T_DIR/n2.status"
}
check "n2's status says its key expired and to re-authenticate (within 10 s)" wait_for 10 n2_expired
renew() { rnn n2 up --server "$MESH_URL" --auth-key "$(mesh_key alice)" --hostname n2; }
check "rustynet up --auth-key renews n2's key" renew
check "n1 pings n2 again after the renewal" wait_for 5 mesh_ping n1 "${IP4[n2]}"
renewed_30d() {
	ctl nodes list --json | python3 -c "import json,sys,time
n=[n for n in json.load(sys.stdin)['nodes'] if n['dns_name']=='n2'][0]
print(n['key_expires_at']); sys.exit(0 if abs(n['key_expires_at'] - time.time() - 30*86400) < 120 else 1)"
}
check "the renewed key expires in 30 days (the network's setting)" renewed_30d
never_expires() {
	ctl nodes list --json | python3 -c "import json,sys
n=[n for n in json.load(sys.stdin)['nodes'] if n['dns_name']=='n2'][0]
print(n['key_expires_at']); sys.exit(0 if n['key_expires_at'] == 'off' else 1)"
}
check "nodes expiry n2 disable: its key never expires" \
	eval "ctl nodes expiry n2 disable && never_expires"
check "settings set key-expiry off" ctl settings set key-expiry off
check "settings set with a bad duration is usage" fails_with 2 "bad duration" ctl settings set key-expiry 3x

n3_there() { n1_has n3 && wait_for 5 mesh_ping n1 "${IP4[n3]}"; }
check "before the logout: n1 lists n3 and pings it" n3_there
check "logout of n3" rnn n3 logout
check "n1 drops n3 from its peers within 2 s" wait_for 2 n1_lacks n3
check "n1 cannot reach n3 any more" mesh_no_ping n1 "${IP4[n3]}"
check "n3 status says it needs login" sh -c "'$RNCLI' --socket '${MESH_SOCK[n3]}' status --json | grep -q NeedsLogin"

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
