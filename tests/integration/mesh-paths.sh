#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# mesh-paths: a peer whose first candidate is dead is reached on its next one (src/path/choose.h).
#
#            ns sw: bridge br0 (198.51.100.0/24, 2001:db8:1::/64)
#     +-------------+-------------+
#   ctl .1        n1 .10        n2 .11
#                               nft: WireGuard over IPv4 in dropped (counted)
#
# n2 reports its endpoints IPv4 first, so n1 starts on n2's IPv4 candidate, where nothing
# answers; its initiations also go to the IPv6 one (the direct candidates race), whose answer
# moves the session there, and the tunnel comes up (at the latest after one handshake try on
# IPv4, 5.5 s). Without the chooser n1 stayed on the first candidate for good. Checks: the drop rule sees
# n1's initiations (the dead candidate was tried), n1 then pings n2 through the tunnel, status
# says the path is direct and working on n2's IPv6 endpoint with 2 candidates, and the
# tunnel keeps working; `rustynet ping` says which path each reply took; then the block moves to IPv6 and the session survives by moving back.
set -eu
TEST_TAG=paths
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 15
need_root
need_cmds python3 nft

if ! mesh_have_bins; then
	skip "mesh-paths: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi

mesh_init_or_end
mesh_nodes_or_end n1 n2

# block FAMILY: WireGuard (UDP 41641) into n2 over FAMILY (ip, ip6) dropped and counted.
block() {
	nsx "${MESH_NS[n2]}" nft -f - <<-EOF2
		table inet rnt_block
		flush table inet rnt_block
		table inet rnt_block {
			chain in {
				type filter hook input priority -10;
				meta nfproto $1 udp dport 41641 counter drop
			}
		}
	EOF2
}
dropped() { nsx "${MESH_NS[n2]}" nft list table inet rnt_block | grep -o 'packets [0-9]*' | awk '{print $2}'; }
some_dropped() { [ "$(dropped)" -gt 0 ]; }

# n1's view of n2 in status --json, as "kind working candidates endpoint".
n1_path() {
	rnn n1 status --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
p = [p for p in j["peers"] if p.get("name") == "n2"][0]
print(p["path"]["kind"], p["path"]["working"], p["path"]["candidates"], p["endpoint"])'
}
# n1_on ENDPOINT [WORKING]: n1 sends to n2 at ENDPOINT (and its path is working: True/False).
n1_on() {
	local p kind working n ep
	p=$(n1_path) && echo "n1's path to n2: $p" || return 1
	read -r kind working n ep <<<"$p"
	[ "$kind" = direct ] && [ "$n" = 2 ] && [ "$ep" = "$1" ] &&
		{ [ -z "${2:-}" ] || [ "$working" = "$2" ]; }
}
n1_is_on() { wait_for 5 n1_on "$1"; }

N2_EP4=198.51.100.11:41641
N2_EP6='[2001:db8:1::11]:41641'
# Blocked before the map arrives: the lower key of a new pair starts a handshake at once.
check "IPv4 WireGuard into n2 blocked" block ipv4
check "n1 up" mesh_up n1 alice
check "n2 up" mesh_up n2 alice
N2_4=$(mesh_ip4 n2 2>/dev/null || echo none)
# n1 is given n2's first candidate (IPv4), but its initiations race to the IPv6 one too, which
# may already have answered: either is a start.
n1_starts() { n1_on "$N2_EP4" || n1_on "$N2_EP6"; }
check "n1 starts on one of n2's candidates (IPv4, the first, or IPv6 if the race is over)" \
	wait_for 5 n1_starts
check "n1 pings n2 through the tunnel within 15 s" wait_for 15 mesh_ping n1 "$N2_4"
check "the dead IPv4 candidate was tried (n2 dropped n1's initiations)" some_dropped
check "n1's path to n2: direct, working, on its IPv6 endpoint, 2 candidates" \
	wait_for 3 n1_on "$N2_EP6" True

# rustynet ping says, per reply, which path it took.
ping_says() {
	rnx n1 ping -c 2 n2 --json >"$T_DIR/ping.json" || return 1
	python3 - "$T_DIR/ping.json" "$1" <<-'PY'
		import json, sys
		j = json.load(open(sys.argv[1]))
		print(j["replies"])
		assert j["received"] == 2 and len(j["replies"]) == 2, "not two replies"
		assert all(r["path"] == "direct" and r["endpoint"] == sys.argv[2] for r in j["replies"])
	PY
	rnx n1 ping -c 1 n2 | grep -F "via direct $1"
}
check "rustynet ping n2: each reply says it went direct to n2's IPv6 endpoint" ping_says "$N2_EP6"

# The working path dies: n1 notices its unanswered retry and moves back to IPv4.
check "the block moves to IPv6" block ipv6
keep_pinging() { while :; do mesh_ping n1 "$N2_4" || true; sleep 0.5; done; }
keep_pinging &
PINGER=$!
T_BG+=("$PINGER")
check "n1 moves to n2's IPv4 endpoint once IPv6 goes quiet, within 40 s" \
	wait_for 40 n1_on "$N2_EP4" True
kill "$PINGER" 2>/dev/null || true
check "n1 pings n2 again" wait_for 5 mesh_ping n1 "$N2_4"

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
