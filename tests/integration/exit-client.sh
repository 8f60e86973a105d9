#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# exit-client: the client side of exit nodes and LAN access, checked on the client C.
#
#            ns sw: bridge br0 (198.51.100.0/24, 2001:db8:1::/64)
#     +-------------+-------------+
#   ctl .1        C .10         E .11
#   rustynet-   rustynetd     rustynetd
#   control     (alice)       (bob; the exit node when E can advertise one)
#   serve :8443   \___ mesh 100.64.0.0/10, fdxx::/48 ___/
#
# C's underlay has no on-link /24 route: everything, E's endpoint and the control server
# included, leaves by "default dev e0", so the WireGuard packets reach E only if the fwmark
# bypass of rustynet's routing works (without it they would loop into the tunnel).
#
# Checks: exit-node list is empty while E is no exit; selecting E (not an exit), C itself, an
# unknown name, and bad usage fail and change nothing (rule/route snapshots); lan-access is
# persisted (exit.json 0600) and installs nothing without LAN routes; an exit selection whose
# exit is no longer allowed (exit.json from an earlier run) installs the fail-closed routing:
# rules a/b/c both families (b: one per local range), table 5150, `ip route get 203.0.113.5` into the tunnel, mesh still
# up with WireGuard UDP to E on the underlay, no default allowed IP at E, status says why; kill -9
# and restart: same rules, none twice; `exit-node off` restores the snapshots exactly, `down` and
# `logout` leave no rule or route of ours (logout forgets the selection).
# With --advertise-exit-node (E's side, built elsewhere): list, select, allowed IPs 0/0 and ::/0,
# round trip select/off with identical snapshots.
set -eu
TEST_TAG=exitc
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 61
need_root
need_cmds python3 wg tcpdump

if ! mesh_have_bins; then
	skip "exit-client: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
mesh_init_or_end
mesh_nodes_or_end C E

# C reaches everything through a default route only (see the top).
underlay_default() {
	local ns=${MESH_NS[C]}
	ip -n "$ns" route del 198.51.100.0/24 dev e0 &&
		ip -n "$ns" route add default dev e0 &&
		ip -n "$ns" -6 route del 2001:db8:1::/64 dev e0 &&
		ip -n "$ns" -6 route add default dev e0
}
check "C's underlay: default dev e0, no on-link /24" underlay_default
check "C up (alice)" mesh_up C alice
check "E up (bob)" mesh_up E bob
C=${MESH_NS[C]}
TUN=${MESH_IF[C]}
E4=$(mesh_ip4 E 2>/dev/null || echo none)
E6=$(mesh_ip6 E 2>/dev/null || echo none)
E_ID=$(mesh_json E 'j["self"]["id"]' 2>/dev/null || echo 0)
check "C pings E over the mesh" wait_for 5 mesh_ping C "$E4"

# snap NAME: rules and every route of C, both families, into $T_DIR/NAME. Left out: the kernel's
# host routes of link-local addresses, new whenever rustynetd restarts (a new TUN) or DAD ends.
snap() {
	{
		ip -n "$C" rule
		ip -n "$C" -6 rule
		ip -n "$C" route show table all
		ip -n "$C" -6 route show table all
	} | grep -v -e 'expires' -e '^local fe80::' >"$T_DIR/$1"
}
same() { diff -u "$T_DIR/$1" "$T_DIR/$2"; }
snap_same() { snap "$2" && same "$1" "$2"; }
routed_via() { nsx "$C" ip route get "$1" | tee /dev/stderr | grep -q "dev $2 "; }

snap base
check "ip route get 203.0.113.5 leaves by the underlay with no exit" routed_via 203.0.113.5 e0
check "status: no exit node, LAN access off" \
	mesh_json C 'j["exit_node"] is None and j["lan_access"] is False and j["lan_routes"] == [] or exit(1)'
list_empty() { rnn C exit-node list --json | python3 -c 'import json,sys; assert json.load(sys.stdin)["exit_nodes"] == []'; }

# ---------------------------------------------------------------- refusals
# fails_with WHAT ARGS...: rustynet ARGS exits 1 (2 for usage) and says WHAT; nothing changes.
fails_with() {
	local want=$1 code=$2 rc=0
	shift 2
	rnn C "$@" >"$T_DIR/out" 2>&1 || rc=$?
	cat "$T_DIR/out"
	[ "$rc" = "$code" ] && grep -q -- "$want" "$T_DIR/out" && snap_same base after
}
if rnn C up --help 2>&1 | grep -q -- --advertise-exit-node; then
	HAVE_ADV=1
else
	HAVE_ADV=0
	check "exit-node list is empty (E offers no exit)" list_empty
	check "select E (not an exit) fails, changes nothing" fails_with "not an exit node" 1 exit-node select E
	check "select E's mesh IP fails, changes nothing" fails_with "not an exit node" 1 exit-node select "$E4"
fi
check "select C itself fails" fails_with "this node itself" 1 exit-node select C
check "select an unknown name fails" fails_with 'no node "nosuch"' 1 exit-node select nosuch
check "select without a name is a usage error" fails_with "Usage" 2 exit-node select
check "lan-access maybe is a usage error" fails_with "Usage" 2 lan-access maybe
check "exit-node off with none selected says so" \
	sh -c "'$RNCLI' --socket '${MESH_SOCK[C]}' exit-node off | grep -q 'no exit node was selected'"

# ---------------------------------------------------------------- LAN access, persisted
check "lan-access on" rnn C lan-access on
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }
check "exit.json is 0600" mode_is "${MESH_ST[C]}/exit.json" 600
check "status: lan_access true" mesh_json C 'j["lan_access"] is True or exit(1)'
check "no LAN routes granted: nothing installed" snap_same base after
restart_c() {
	kill -TERM "${MESH_PID[C]}" && wait "${MESH_PID[C]}" 2>/dev/null
	mesh_node_start C
}
lan_kept() { restart_c && mesh_json C 'j["lan_access"] is True or exit(1)'; }
check "restart: LAN access still on" lan_kept
check "lan-access off" rnn C lan-access off

# ---------------------------------------------------------------- a selected exit that is gone
# An earlier run selected E, and E has since lost the right (exit.json kept it): fail closed.
select_gone() {
	kill -TERM "${MESH_PID[C]}" && wait "${MESH_PID[C]}" 2>/dev/null
	printf '{"version": 1, "exit_node": {"id": %s, "name": "E"}, "lan_access": false}\n' \
		"$E_ID" >"${MESH_ST[C]}/exit.json"
	mesh_node_start C && wait_for 10 mesh_ping C "$E4"
}
# Rules a, b (main, only inside each local range: 5 for IPv4, 2 for IPv6) and c, none twice.
rules_ok() {
	local fam out n r
	for fam in -4 -6; do
		out=$(ip -n "$C" "$fam" rule)
		echo "$out"
		echo "$out" | grep -qE '^5200:.*fwmark 0x80000/0xff0000 lookup main' || return 1
		if [ "$fam" = -4 ]; then
			n=7
			set -- 10.0.0.0/8:7 172.16.0.0/12:11 192.168.0.0/16:15 169.254.0.0/16:15 100.64.0.0/10:9
		else
			n=4
			set -- fc00::/7:6 fe80::/10:9
		fi
		for r in "$@"; do
			echo "$out" | grep -qE "^5210:.*to ${r%:*} lookup main suppress_prefixlength ${r##*:}( |\$)" ||
				{ echo "no rule 5210 to ${r%:*}"; return 1; }
		done
		echo "$out" | grep -qE '^5220:.*not from all fwmark 0x80000/0xff0000 lookup 5150' || return 1
		[ "$(echo "$out" | grep -cE '^52[0-2]0:')" = "$n" ] || return 1
	done
}
table_ok() {
	local t4 t6
	t4=$(ip -n "$C" route show table 5150)
	t6=$(ip -n "$C" -6 route show table 5150)
	echo "$t4"; echo "$t6"
	echo "$t4" | grep -q "^default dev $TUN" && echo "$t6" | grep -q "^default dev $TUN" &&
		echo "$t4" | grep -q '^unreachable 10.0.0.0/8' &&
		echo "$t4" | grep -q '^unreachable 192.168.0.0/16' &&
		echo "$t6" | grep -q '^unreachable fc00::/7' &&
		[ "$(echo "$t4" | wc -l)" = 6 ] && [ "$(echo "$t6" | wc -l)" = 3 ]
}
# wg_lacks_default: wg answers, lists peers, and none has 0.0.0.0/0 (a dead interface lists
# nothing: that is a failure, not an absent default).
wg_lacks_default() {
	local a
	a=$(nsx "$C" wg show "$TUN" allowed-ips) || return 1
	echo "$a"
	[ -n "$a" ] && ! echo "$a" | grep -q '0.0.0.0/0'
}
# unreachable_locally ADDR: `ip route get` refuses ADDR with "No route to host" (an
# unreachable route), not with some other error.
unreachable_locally() {
	local out
	if out=$(ip -n "$C" route get "$1" 2>&1); then echo "routed: $out"; return 1; fi
	echo "$out"
	echo "$out" | grep -qi "no route to host"
}
gone_status() {
	mesh_json C 'j["exit_node"]' | tee /dev/stderr | grep -q "no longer allowed" &&
		mesh_json C 'j["fwmark"]' | grep -qx "$((0x80000))"
}
# E's underlay addresses, both: the path chooser may have C's endpoint for E at either (a check
# races E's candidates, and the IPv6 one on the same LAN can win).
mesh_udp_bypass() {
	capture_start "$C" e0 "udp and (host 198.51.100.11 or host 2001:db8:1::11)" || return 1
	nsx "$C" ping -n -c 3 -i 0.2 -W 1 "$E4" >/dev/null || { capture_stop; return 1; }
	capture_stop
	capture_has "$CAPTURE_FILE" 3 "udp and (dst host 198.51.100.11 or dst host 2001:db8:1::11)"
}
if check_ok "restart with a selected exit that is no longer allowed; mesh back" select_gone; then
	check "rules a/b/c for IPv4 and IPv6" rules_ok
	check "table 5150: default dev tun, unreachable private ranges" table_ok
	check "ip route get 203.0.113.5 goes into the tunnel (fail closed)" routed_via 203.0.113.5 "$TUN"
	check "ip route get 2001:db8:ffff::5 goes into the tunnel" routed_via 2001:db8:ffff::5 "$TUN"
	check "ip route get 192.168.7.7 is unreachable locally" unreachable_locally 192.168.7.7
	check "the mesh wins over the default: E's mesh IP via the tunnel, main" routed_via "$E4" "$TUN"
	check "C pings E over IPv6 with the exit routing on" wait_for 5 mesh_ping C "$E6"
	check "the control server is still reached (marked, bypasses)" \
		sh -c "'$RNCLI' --socket '${MESH_SOCK[C]}' status --json | grep -q '\"connected\": true'"
	check "a revoked exit gets no default allowed IP" wg_lacks_default
	check "status: exit no longer allowed; fwmark set" gone_status
	check "WireGuard UDP to E leaves the underlay during a mesh ping (fwmark bypass)" mesh_udp_bypass
	kill9_restart() {
		kill -KILL "${MESH_PID[C]}" && wait "${MESH_PID[C]}" 2>/dev/null
		mesh_node_start C && wait_for 10 mesh_ping C "$E4"
	}
	check "kill -9 and restart: mesh back" kill9_restart
	check "after kill -9: the same rules, none twice" rules_ok
	check "after kill -9: the same table" table_ok
	check "exit-node off" rnn C exit-node off
	check "after off: rules and routes exactly as before" snap_same base after
	check "after off: ip route get 203.0.113.5 by the underlay" routed_via 203.0.113.5 e0
	check "after off: status exit_node null, fwmark 0" \
		mesh_json C 'j["exit_node"] is None and j["fwmark"] == 0 or exit(1)'
	check "after off: the mesh still works" wait_for 5 mesh_ping C "$E4"
	select_gone
	check "down with an exit selected" rnn C down
	none_left() {
		! ip -n "$C" rule | grep -qE '^52[0-2]0:' && ! ip -n "$C" -6 rule | grep -qE '^52[0-2]0:' &&
			[ -z "$(ip -n "$C" route show table 5150)" ] &&
			[ -z "$(ip -n "$C" -6 route show table 5150 2>/dev/null)" ]
	}
	check "after down: no rule, no route of ours" none_left
	check "rustynetd C starts again" mesh_node_start C
	check "C's mesh is back" wait_for 10 mesh_ping C "$E4"
	select_gone
	check "logout with an exit selected" rnn C logout
	check "after logout: no rule, no route of ours" none_left
	check "after logout: the selection is forgotten" \
		mesh_json C 'j["exit_node"] is None or exit(1)'
	check "C up again" mesh_up C alice
fi

# ---------------------------------------------------------------- E as a real exit
if [ "$HAVE_ADV" = 0 ]; then
	skip "select an advertised exit, allowed IPs, round trip" \
		"rustynet up has no --advertise-exit-node yet (the exit-node side)"
else
	exit_ready() {
		mesh_policy <<-'EOF' || return 1
			{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]},
			          {"action": "accept", "src": ["*"], "dst": ["autogroup:internet:*"]}]}
		EOF
		local key
		rnn E logout >/dev/null 2>&1 || true
		key=$(mesh_key bob) || return 1
		rnn E up --server "$MESH_URL" --auth-key "$key" --hostname E --advertise-exit-node || return 1
		ctl exit approve E || return 1
		wait_for 10 sh -c "'$RNCLI' --socket '${MESH_SOCK[C]}' exit-node list | grep -q '^ *e\\.'"
	}
	if check_ok "E advertises an exit, approved, granted" exit_ready; then
		snap base2
		check "select E" rnn C exit-node select E
		check "E's allowed IPs gain 0.0.0.0/0 and ::/0" \
			sh -c "ip netns exec '$C' wg show '$TUN' allowed-ips | grep -F '0.0.0.0/0' | grep -qF '::/0'"
		check "rules a/b/c" rules_ok
		check "ip route get 203.0.113.5 into the tunnel" routed_via 203.0.113.5 "$TUN"
		# (within 10 s: until the first handshake with E, status says E has not answered yet)
		check "status: exit E, no problem" wait_for 10 \
			mesh_json C 'j["exit_node"]["name"] == "e" and j["exit_node"]["problem"] == "" or exit(1)'
		check "select E again: a no-op" rnn C exit-node select e
		check "WireGuard UDP to E leaves the underlay" mesh_udp_bypass
		still_e() { restart_c && mesh_json C 'j["exit_node"]["name"] == "e" or exit(1)'; }
		check "restart keeps the selection" still_e
		check "exit-node off" rnn C exit-node off
		check "after off: snapshots equal" snap_same base2 after2
		check "after off: no default allowed IP" wg_lacks_default
	fi
fi

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
