#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# control-ephemeral: nodes enrolled with an ephemeral auth key are removed once they go offline.
#
#            ns sw: bridge br0 (198.51.100.0/24)
#     +-------------+-------------+-------------+
#   ctl .1        n1 .10        n2 .11        e1 .12
#   control       (alice)       (alice)       (alice, ephemeral key)
#
# Test hooks (test builds only; the defaults are a 25 s long-poll and 180 s):
# RUSTYNET_CONTROL_POLL_S=2 and RUSTYNET_CONTROL_EPHEMERAL_GONE_S=6.
# Checks: the ephemeral key's node is marked ephemeral, the others not; while it runs (polling)
# it stays past the gone time; once its rustynetd stops it is removed within the gone time and
# the check interval, audited as control:ephemeral, and n1 drops it from its peers; n2 (not
# ephemeral) stopped at the same moment stays.
set -eu
TEST_TAG=ceph
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 16
need_root
need_cmds python3

if ! mesh_have_bins; then
	skip "control-ephemeral: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
if ! rn_has_test_hooks "$RNC"; then
	skip "control-ephemeral: all checks" "$RNC has no test hooks (the gone time would be 180 s)"
	t_done
fi
export RUSTYNET_CONTROL_POLL_S=2 RUSTYNET_CONTROL_EPHEMERAL_GONE_S=6

mesh_init_or_end
mesh_nodes_or_end n1 n2 e1
check "n1 up (alice)" mesh_up n1 alice
check "n2 up (alice)" mesh_up n2 alice
check "e1 up (alice, an ephemeral key)" mesh_up e1 alice --ephemeral
E1=$(mesh_ip4 e1 || echo none)

# listed NAME: NAME's ephemeral flag in `nodes list --json`, or "gone".
listed() {
	ctl nodes list --json | python3 -c "import json,sys
n=[n for n in json.load(sys.stdin)['nodes'] if n['dns_name']=='$1']
print(n[0]['ephemeral'] if n else 'gone')"
}
check "nodes list: e1 is ephemeral" [ "$(listed e1)" = True ]
check "nodes list: n1 is not" [ "$(listed n1)" = False ]
check "n1 pings e1" wait_for 5 mesh_ping n1 "$E1"
sleep 8
check "a running ephemeral node stays past the gone time (8 s > 6 s)" [ "$(listed e1)" = True ]

kill -TERM "${MESH_PID[e1]}" "${MESH_PID[n2]}"
gone() { [ "$(listed e1)" = gone ]; }
check "e1 stopped: removed within 15 s (6 s gone, checked every 5 s)" wait_for 15 gone
check "audit: removed by control:ephemeral" \
	[ "$(db_value "$MESH_CTL_ST/control.db" "SELECT count(*) FROM audit WHERE actor = 'control:ephemeral' AND action = 'node.remove'")" = 1 ]
n1_lacks_e1() { ! mesh_json n1 '" ".join(p["name"] for p in j["peers"])' | grep -qw e1; }
check "n1 drops e1 from its peers (within 3 s)" wait_for 3 n1_lacks_e1
check "n2 (not ephemeral), stopped as long, stays" [ "$(listed n2)" = False ]

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
