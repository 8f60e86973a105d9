#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# exit-rpfilter: the client side of an exit across the internet with strict reverse-path
# filtering (net.ipv4.conf.{all,e0}.rp_filter=1) on the client.
#
#   ns C (alice): e0 203.0.113.10/24, default via .1; rp_filter=1
#        |
#   ns isp: i1 203.0.113.1/24 ---- i0 198.51.100.254/24 (forwarding)
#                                     |
#            ns sw: bridge br0 198.51.100.0/24
#     +----------------+--------------+-----------------+
#   ctl .1           E .11          I .80
#   rustynet-       rustynetd       the "internet": a TCP listener that says who called
#   control         (the exit; default via isp)
#
# E's endpoint is neither on-link nor in a local range for C, so with E selected the replies to
# C's marked packets (E's WireGuard, the control server's TCP) come in on e0 unmarked and their
# reverse lookup without the mark goes to table 5150, the tunnel: strict rp_filter drops them,
# unless conntrack gives the mark back (table inet rustynet-exit) and src_valid_mark=1 makes
# the reverse lookup use it. Checks: C reaches I directly before selecting (the listener is
# alive, sees C); with E selected I sees E, the table holds the save and restore rules,
# src_valid_mark is 1 and journaled; without the table (deleted by hand) the exit path fails
# and the kernel counts reverse-path drops (what happened before the fix); `exit-node off`
# removes the table and puts src_valid_mark back; a src_valid_mark already 1 is left alone
# (not journaled, still 1 after off); a restart with E selected removes and re-installs it.
# IPv6 (no rp_filter sysctl): with a firewalld-style host rule (`fib saddr . mark . iif oif
# missing drop`) and the tunnel moved to E's IPv6 endpoint, the exit path works with the table
# and the host rule drops the replies without it.
set -eu
TEST_TAG=exitrpf
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
# shellcheck source=tests/exit-lib.sh
. "$(dirname "$0")/../exit-lib.sh"
plan 27
need_root
need_cmds python3 socat nft nstat

if ! mesh_have_bins; then
	skip "exit-rpfilter: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi
mesh_init_or_end
mesh_nodes_or_end C E
C=${MESH_NS[C]}
E_U4=198.51.100.11
I_U4=198.51.100.80
C_U4=203.0.113.10

# C's link to the switch becomes its link to the ISP router, which the rest reach by br0.
routed() {
	local isp="$T_ID-isp" sw_if="s$$-10"
	exit_host isp && exit_host inet || return 1
	ip -n "$MESH_SW" link set "$sw_if" nomaster &&
		ip -n "$MESH_SW" link set "$sw_if" netns "$isp" &&
		ip -n "$isp" link set "$sw_if" name i1 && ip -n "$isp" link set i1 up &&
		addr_add "$isp" i1 203.0.113.1/24 && addr_add "$isp" i1 2001:db8:113::1/64 &&
		mesh_link "$isp" i0 254 &&
		nsx "$isp" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
	ip -n "$C" addr flush dev e0 scope global &&
		addr_add "$C" e0 "$C_U4/24" && addr_add "$C" e0 2001:db8:113::10/64 &&
		ip -n "$C" route add default via 203.0.113.1 &&
		ip -n "$C" -6 route add default via 2001:db8:113::1 || return 1
	local ns
	for ns in "$MESH_CTL_NS" "${MESH_NS[E]}"; do
		ip -n "$ns" route add default via 198.51.100.254 &&
			ip -n "$ns" -6 route add default via 2001:db8:1::254 || return 1
	done
	mesh_link "${EXIT_NS[inet]}" e0 80 &&
		ip -n "${EXIT_NS[inet]}" route add default via 198.51.100.254 &&
		exit_listen inet tcp 8080 &&
		nsx "$C" sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.e0.rp_filter=1
}
check "topology: C behind a router, rp_filter=1 on C" routed
check "C up (alice)" mesh_up C alice
exit_ready() {
	mesh_policy <<-'EOF' || return 1
		{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]},
		          {"action": "accept", "src": ["*"], "dst": ["autogroup:internet:*"]}]}
	EOF
	local key
	key=$(mesh_key bob) || return 1
	rnn E up --server "$MESH_URL" --auth-key "$key" --hostname E --advertise-exit-node &&
		ctl exit approve E &&
		wait_for 10 sh -c "'$RNCLI' --socket '${MESH_SOCK[C]}' exit-node list | grep -q '^ *e\\.'"
}
check "E up, an approved exit C may use" exit_ready
E4=$(mesh_ip4 E 2>/dev/null || echo none)
check "C pings E over the mesh, across the router" wait_for 10 mesh_ping C "$E4"

# sees WHO: I's listener answers C's TCP probe with "from WHO".
sees() {
	local out
	out=$(exit_probe C tcp "$I_U4" 8080)
	echo "I answered: ${out:-nothing}"
	[ "$out" = "from $1" ]
}
svm() { nsx "$C" sysctl -n net.ipv4.conf.all.src_valid_mark; }
svm_is() { [ "$(svm)" = "$1" ]; }
table_ok() {
	local t
	t=$(nsx "$C" nft list ruleset) || return 1
	echo "$t"
	echo "$t" | grep -q 'table inet rustynet-exit' &&
		echo "$t" | grep -qE 'hook postrouting priority mangle' &&
		echo "$t" | grep -qE 'meta mark & 0x00ff0000 == 0x00080000 ct mark set meta mark' &&
		echo "$t" | grep -qE 'hook prerouting priority mangle' &&
		echo "$t" | grep -qE 'ct mark & 0x00ff0000 == 0x00080000 meta mark set ct mark'
}
no_table() { ! nsx "$C" nft list table inet rustynet-exit >/dev/null 2>&1; }
journaled() { grep -q '"net.ipv4.conf.all.src_valid_mark"' "${MESH_ST[C]}/system-journal.json"; }

direct() { sees "$C_U4" && svm_is 0; }
check "before selecting: I sees C itself, src_valid_mark 0" direct
check "select E" rnn C exit-node select E
check "with E selected: I sees E (the exit path works under rp_filter=1)" wait_for 10 sees "$E_U4"
check "nft: table inet rustynet-exit saves and restores the mark" table_ok
svm_ours() { svm_is 1 && journaled; }
check "src_valid_mark is 1, journaled" svm_ours

# What happened before the fix: no mark restore, and the kernel drops E's replies. C's
# WireGuard to E's IPv6 candidate is dropped meanwhile: the path chooser would otherwise leave
# the dead IPv4 path for it in seconds (no rp_filter on IPv6), and the exit would work.
rpf_drops() { nsx "$C" nstat -asz TcpExtIPReversePathFilter | awk '/IPReversePath/ {print $2}'; }
without_restore() {
	local before after
	before=$(rpf_drops)
	nsx "$C" nft -f - <<-'EOF' || return 1
		table ip6 rnt_v6block {
			chain out {
				type filter hook output priority 0
				udp dport 41641 drop
			}
		}
	EOF
	nsx "$C" nft delete table inet rustynet-exit || return 1
	! sees "$E_U4" || return 1
	after=$(rpf_drops)
	echo "reverse-path drops: $before -> $after"
	[ "$after" -gt "$before" ]
}
check "without the table: the exit path fails, rp_filter drops the replies" without_restore
nsx "$C" nft delete table ip6 rnt_v6block 2>/dev/null || true
check "exit-node off" rnn C exit-node off
undone() { no_table && svm_is "$1" && ! journaled; }
check "after off: no table, src_valid_mark back to 0" undone 0
check "after off: I sees C itself again" sees "$C_U4"

# A src_valid_mark already 1 is not ours: left alone, not journaled.
svm_preset() { nsx "$C" sysctl -qw net.ipv4.conf.all.src_valid_mark=1 && rnn C exit-node select E; }
check "src_valid_mark set to 1 by hand; select E again" svm_preset
check "I sees E again" wait_for 10 sees "$E_U4"
not_ours() { table_ok && ! journaled; }
check "the table is installed; src_valid_mark 1 is not journaled" not_ours

restart_c() {
	kill -TERM "${MESH_PID[C]}" && wait "${MESH_PID[C]}" 2>/dev/null
	no_table || { echo "table left after SIGTERM"; return 1; }
	mesh_node_start C
}
check "SIGTERM removes the table; C starts again" restart_c
check "after the restart: I sees E" wait_for 15 sees "$E_U4"
check "... and the table is back" table_ok
# IPv6: no rp_filter sysctl, but a host rule like firewalld's (a fib lookup with the mark, at
# priority filter + 10) drops what fails the reverse path. The tunnel moved to E's IPv6
# endpoint (wg set; E roams to C's IPv6 source) with the table in place works; without it,
# the host rule drops E's replies.
TUN=${MESH_IF[C]}
v6_tunnel() {
	local pub port
	nsx "$C" nft -f - <<-'EOF' || return 1
		table inet hostrpf {
			chain pre {
				type filter hook prerouting priority filter + 10; policy accept;
				icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept
				meta nfproto ipv6 fib saddr . mark . iif oif missing counter drop
			}
		}
	EOF
	pub=$(nsx "${MESH_NS[E]}" wg show "${MESH_IF[E]}" public-key) &&
		port=$(nsx "${MESH_NS[E]}" wg show "${MESH_IF[E]}" listen-port) &&
		nsx "$C" wg set "$TUN" peer "$pub" endpoint "[2001:db8:1::11]:$port"
}
v6_works() {
	wait_for 10 sees "$E_U4" || return 1
	nsx "$C" wg show "$TUN" endpoints | tee /dev/stderr | grep -qF '[2001:db8:1::11]:' &&
		nsx "${MESH_NS[E]}" wg show "${MESH_IF[E]}" endpoints | tee /dev/stderr |
		grep -qF '[2001:db8:113::10]:'
}
v6_drops() { nsx "$C" nft list chain inet hostrpf pre | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }
v6_without_restore() {
	local before after
	before=$(v6_drops)
	nsx "$C" nft delete table inet rustynet-exit || return 1
	! sees "$E_U4" || return 1
	after=$(v6_drops)
	echo "host rpfilter drops: $before -> $after"
	[ "$after" -gt "$before" ]
}
check "IPv6: host rpfilter rule (fib saddr . mark . iif), tunnel to E's IPv6 endpoint" v6_tunnel
check "IPv6: I sees E, the tunnel runs over IPv6" v6_works
check "IPv6: without the table the host rule drops the replies" v6_without_restore

off_not_ours() { rnn C exit-node off && undone 1; }
check "exit-node off: no table, src_valid_mark still 1 (never ours)" off_not_ours

check "no sanitizer report in any log" mesh_logs_clean
[ "$T_FAIL" = 0 ] || mesh_dump_logs
t_done
