#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/dns.sh BUILD_DIR: Magic DNS answer rate, rustynetd against dnsmasq, in the same run.
#
#   ns sw: bridge br0 (tests/mesh-lib.sh)
#     |-- ctl .1   rustynet-control serve; the store also holds NODES (50) simulated nodes
#     `-- n  .10   rustynetd (its map: NODES peers, NODES + 1 names) and, on 127.0.0.53,
#                  dnsmasq --no-resolv --addn-hosts=FILE --local=/DOMAIN/ with the same names
#
# dnsperf runs in n's namespace, DURATION (10) s against 100.100.100.100 and then against
# dnsmasq, with the same query file: A and AAAA of every name (full and relative), and one
# unknown name of the zone (NXDOMAIN) in every ten queries. The answers are checked first (a
# resolver that answers wrongly is not measured).
#
# Output, `name value` lines: dns_qps_rustynetd, dns_qps_dnsmasq, dns_ratio_vs_dnsmasq.
# Env: NODES, DURATION, CLIENTS (dnsperf -c, 4), OUTSTANDING (dnsperf -q, 100).
set -eu
TEST_TAG=bdns
BENCH_NAME=dns
# shellcheck source=bench/mesh-bench-lib.sh
. "$(dirname "$0")/mesh-bench-lib.sh" "$@"
NODES=${NODES:-50}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-100}
for c in dnsperf dnsmasq dig; do
	command -v "$c" >/dev/null || { echo "dns bench: $c is missing (apt-get install $c)" >&2; exit 1; }
done

mesh_init >/dev/null
"$CB" populate "$MESH_CTL_ST" "$NODES" >/dev/null
mesh_node n >/dev/null
mesh_up n bench >/dev/null
wait_for 10 sh -c "[ \"\$('$RNCLI' --socket '${MESH_SOCK[n]}' status --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"peers\"]))')\" -ge $NODES ]" ||
	{ echo "dns bench: n did not get $NODES peers" >&2; exit 1; }

# The names and addresses n's map holds: "NAME IPV4 IPV6" lines; the domain.
rnn n status --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
for p in [j["self"]] + j["peers"]:
    print(p["name"], p["ipv4"], p["ipv6"])' >"$T_DIR/names"
DOMAIN=$(rnn n dns inspect --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["domain"])')

awk -v d="$DOMAIN" '{print $2, $1 "." d, $1; print $3, $1 "." d, $1}' "$T_DIR/names" >"$T_DIR/hosts"
awk -v d="$DOMAIN" '{
	print $1 "." d " A"; print $1 "." d " AAAA"; print $1 " A"; print $1 " AAAA"
	if (NR % 2) { n++; print "nx" n "." d " A"; }
}' "$T_DIR/names" >"$T_DIR/queries"

nsx "${MESH_NS[n]}" ip addr add 127.0.0.53/8 dev lo 2>/dev/null || true
nsx "${MESH_NS[n]}" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
	--listen-address=127.0.0.53 --addn-hosts="$T_DIR/hosts" --local="/$DOMAIN/" \
	--log-facility=- >"$T_DIR/dnsmasq.log" 2>&1 </dev/null &
T_BG+=("$!")

# same_answers SERVER: both resolvers give the same sorted answer and status for a sample.
answer() { local s=$1; shift; nsx "${MESH_NS[n]}" dig +time=2 +tries=1 +noauthority +noadditional @"$s" "$@" | awk '/status:/ {print $6} /^[^;]/ && NF >= 5 {print $5}' | sort; }
same_answers() {
	local line a b
	while read -r line; do
		# shellcheck disable=SC2086 # "NAME TYPE"
		a=$(answer 100.100.100.100 $line) b=$(answer 127.0.0.53 $line)
		if [ "$a" != "$b" ] || [ -z "$a" ]; then
			echo "dns bench: '$line': rustynetd says '$a', dnsmasq '$b'" >&2
			return 1
		fi
	done < <(sed -n '1,12p' "$T_DIR/queries")
}
wait_for 5 nsx "${MESH_NS[n]}" dig +time=1 +tries=1 @127.0.0.53 "n.$DOMAIN" >/dev/null ||
	{ echo "dns bench: dnsmasq does not answer" >&2; exit 1; }
same_answers || exit 1

# qps SERVER: dnsperf's queries per second against SERVER.
qps() {
	nsx "${MESH_NS[n]}" dnsperf -s "$1" -d "$T_DIR/queries" -l "$DURATION" -c "$CLIENTS" \
		-q "$OUTSTANDING" >"$T_DIR/dnsperf-$1.out" 2>&1
	grep -E "Queries lost|Response codes" "$T_DIR/dnsperf-$1.out" | sed "s/^ */# $1: /" >&2
	awk '/Queries per second/ {print int($4)}' "$T_DIR/dnsperf-$1.out"
}
q_rn=$(qps 100.100.100.100)
q_dm=$(qps 127.0.0.53)
echo "dns_qps_rustynetd $q_rn"
echo "dns_qps_dnsmasq $q_dm"
awk -v a="$q_rn" -v b="$q_dm" 'BEGIN {printf "dns_ratio_vs_dnsmasq %.2f\n", b ? a / b : 0}'
