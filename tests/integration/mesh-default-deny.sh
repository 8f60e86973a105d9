#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# mesh-default-deny: a node whose map's packet filter cannot be installed lets nothing in from
# the tunnel, and says why. x runs a test build with RUSTYNET_TEST_FILTER_FAIL=1, so every
# filter install fails; the policy is the open starter policy.
#
#            ns sw: bridge br0 (198.51.100.0/24)
#     +-------------+-------------+-------------+
#   ctl .1        a1 .10        b1 .11        x .12
#   control      (alice)       (alice)       (alice; filter install fails)
#
# Checks: a1 and b1 reach each other (the mesh works); x has its peers and a handshake with a1
# (the tunnel to x works), yet a1 -> x ICMP and tcp, and x -> a1, are all dropped; status says
# filter deny-all and why, in --json and in text. x restarted without the hook reaches a1.
set -eu
TEST_TAG=mdeny
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 25
need_root
need_cmds python3 socat

if ! mesh_have_bins; then
	skip "mesh-default-deny: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
if ! rn_has_test_hooks "$RND"; then
	skip "mesh-default-deny: all checks" "$RND is not a test build (meson -Dtest_hooks=true)"
	t_done
fi
mesh_init_or_end
mesh_nodes_or_end a1 b1 x
restart_x() {
	kill -TERM "${MESH_PID[x]}" && wait "${MESH_PID[x]}" 2>/dev/null
	mesh_node_start x "$@"
}
check "x restarted with RUSTYNET_TEST_FILTER_FAIL=1" restart_x RUSTYNET_TEST_FILTER_FAIL=1
check "a1 up" mesh_up a1 alice
check "b1 up" mesh_up b1 alice
check "x up" mesh_up x alice
A4=$(mesh_ip4 a1 || echo none) B4=$(mesh_ip4 b1 || echo none) X4=$(mesh_ip4 x || echo none)
X6=$(mesh_ip6 x || echo none)
mesh_listen x tcp "$X4" 22
mesh_listen a1 tcp "$A4" 22

# The subject alive: the same policy lets a1 and b1 through to each other.
check "a1 pings b1" wait_for 5 mesh_ping a1 "$B4"
check "b1 reaches a1 tcp/22" wait_for 3 mesh_reach b1 tcp "$A4" 22
n_peers() { [ "$(mesh_json x 'len(j["peers"])')" = 2 ]; }
check "x has its two peers" n_peers

# x: its filter could not be installed, so nothing from the tunnel gets in.
check "a1 -> x ICMP is dropped" mesh_no_ping a1 "$X4"
check "a1 -> x ICMP over IPv6 is dropped" mesh_no_ping a1 "$X6"
check "a1 -> x tcp/22 is dropped" mesh_no_reach a1 tcp "$X4" 22
check "x -> a1 tcp/22 gets no answer (the reply is dropped at x)" mesh_no_reach x tcp "$A4" 22
hs_with_a1() {
	local k
	k=$(mesh_json a1 'j["public_key"]')
	mesh_json x "[p['latest_handshake'] for p in j['peers'] if p['public_key'] == '$k'][0]" |
		grep -qv '^0$'
}
check "... though x and a1 have a handshake (the tunnel itself works)" hs_with_a1
check "status --json: filter deny-all" test "$(mesh_json x 'j["netmap"]["filter"]')" = deny-all
check "status --json: filter_error says why" \
	sh -c "'$RNCLI' --socket '${MESH_SOCK[x]}' status --json | grep -q 'could not be installed'"
check "status (text) says DENY-ALL" \
	sh -c "'$RNCLI' --socket '${MESH_SOCK[x]}' status | grep -q 'packet filter: DENY-ALL'"
check "a1's status: filter installed" test "$(mesh_json a1 'j["netmap"]["filter"]')" = installed

# Without the hook the same node on the same map reaches a1: only the filter made it deny.
check "x restarted without the hook (cached map)" restart_x
check "x pings a1" wait_for 5 mesh_ping x "$A4"
check "a1 reaches x tcp/22" wait_for 3 mesh_reach a1 tcp "$X4" 22
check "x's status: filter installed" test "$(mesh_json x 'j["netmap"]["filter"]')" = installed

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
