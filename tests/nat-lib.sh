# shellcheck shell=bash disable=SC2317 # functions run indirectly (check DESC FUNC...)
# SPDX-License-Identifier: MIT
# tests/nat-lib.sh: NAT routers between nodes and the mesh's "internet" switch, for the NAT
# traversal scenarios (docs/nat-traversal.md). Source it after tests/lib.sh and tests/mesh-lib.sh.
#
#   switch 198.51.100.0/24 --- e0 198.51.100.OCTET  ns $T_ID-ROUTER  l0 10.LAN.0.1/24
#                                                                      |
#                                                   node ns  e0 10.LAN.0.2/24, default via .1
#
# nat_router NAME OCTET LAN MODE   a router namespace; MODE says how it maps the LAN:
#     preserve   masquerade: one mapping per (source, destination), keeping the source port
#                when it is free (what most home routers do: "easy" NAT); nothing unsolicited
#                reaches the router itself
#     random     masquerade fully-random: every new destination gets a new random port
#                ("hard" NAT: what a mapping learnt from STUN says is useless to a peer)
#     cone       preserve, and unsolicited UDP to the router goes to the LAN host on the same
#                port: endpoint-independent filtering ("full cone", what many home routers
#                do), so a peer behind a random NAT gets in from whatever port its NAT chose
#     oneone     a 1:1 NAT (cloud style): 198.51.100.(OCTET+1) is the LAN host's public
#                address, both ways, every port; the host only knows 10.LAN.0.2
# nat_mode NAME MODE [CT-ARGS...]  switch a router's mode (and flush its conntrack; with
#                                  CT-ARGS, delete only the entries `conntrack -D CT-ARGS` names)
# nat_link ROUTER NS               NS's underlay behind ROUTER (for mesh_node NAME nat_link ROUTER)
# nat_public NAME                  the router's WAN address (what STUN sees of its LAN)
# nat_path_of X Y                  X's path to peer Y from status: "KIND RELAY WORKING"
# nat_path_is X Y "KIND RELAY WORKING"  the same, compared (and shown)
declare -A NAT_NS=() NAT_OCTET=() NAT_LAN=()

nat_router() {
	local n=$1 o=$2 lan=$3 mode=$4 ns="$T_ID-$1"
	NAT_NS[$n]=$ns
	NAT_OCTET[$n]=$o
	NAT_LAN[$n]=$lan
	ns_add "$ns" && mesh_link "$ns" e0 "$o" || return 1
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 || return 1
	nat_mode "$n" "$mode"
}

nat_mode() {
	local n=$1 mode=$2 ns=${NAT_NS[$1]} o=${NAT_OCTET[$1]} lan=${NAT_LAN[$1]} rules
	shift 2
	case $mode in
	preserve | random | cone)
		# What a home router does: masquerade out, and nothing unsolicited in. The drop
		# also matters to conntrack: an unsolicited packet to the router itself that were
		# accepted would hold the port a simultaneous outbound mapping wants.
		rules="chain post {
			type nat hook postrouting priority 100
			oifname e0 masquerade$([ "$mode" != random ] || echo ' fully-random')
		}
		chain in {
			type filter hook input priority 0
			iifname e0 ct state new drop
		}"
		[ "$mode" != cone ] || rules="$rules
		chain pre {
			type nat hook prerouting priority -100
			iifname e0 meta l4proto udp ct state new dnat to 10.$lan.0.2
		}" ;;
	oneone)
		ip -n "$ns" addr replace "198.51.100.$((o + 1))/24" dev e0 || return 1
		rules="chain pre {
			type nat hook prerouting priority -100
			iifname e0 ip daddr 198.51.100.$((o + 1)) dnat to 10.$lan.0.2
		}
		chain post {
			type nat hook postrouting priority 100
			oifname e0 ip saddr 10.$lan.0.2 snat to 198.51.100.$((o + 1))
		}"
		;;
	*) echo "nat_mode: unknown mode $mode" >&2; return 1 ;;
	esac
	nsx "$ns" nft -f - <<-EOF || return 1
		table ip rnt_nat
		delete table ip rnt_nat
		table ip rnt_nat {
			$rules
		}
	EOF
	if [ $# -gt 0 ]; then
		nsx "$ns" conntrack -D "$@" >/dev/null 2>&1 || true
	else
		nsx "$ns" conntrack -F >/dev/null 2>&1 || true
	fi
}

nat_public() {
	if nsx "${NAT_NS[$1]}" nft list table ip rnt_nat 2>/dev/null | grep -q 'snat to'; then
		echo "198.51.100.$((NAT_OCTET[$1] + 1))"
	else
		echo "198.51.100.${NAT_OCTET[$1]}"
	fi
}

nat_link() {
	local r=$1 ns=$2 lan=${NAT_LAN[$1]} rif="l$$-${NAT_OCTET[$1]}"
	veth_add "$ns" e0 "${NAT_NS[$r]}" "${rif:0:15}" || return 1
	ip -n "${NAT_NS[$r]}" addr add "10.$lan.0.1/24" dev "${rif:0:15}" || return 1
	ip -n "$ns" addr add "10.$lan.0.2/24" dev e0 &&
		ip -n "$ns" route add default via "10.$lan.0.1"
}

nat_path_of() {
	rnn "$1" status --json | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin)["peers"] if p.get("name") == sys.argv[1]][0]
print(p["path"]["kind"], p["path"].get("relay"), p["path"]["working"])' "$2"
}
nat_path_is() { local p; p=$(nat_path_of "$1" "$2") && echo "$1 -> $2: $p" && [ "$p" = "$3" ]; }
