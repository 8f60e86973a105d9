#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo/demo.sh BUILD_DIR: a guided tour of a Rustynet network: a control server, three
# devices and an exit node, each a network namespace on this machine.
#
#                 ns sw: a switch (bridge): the devices' local network, 198.51.100.0/24
#      +----------------+---------------+---------------+---------------+-----------+
#   control .1        laptop .10      phone .11       server .12      exit .13    isp .254
#   rustynet-control  rustynetd       rustynetd       rustynetd       rustynetd     |
#   (each device's /etc/resolv.conf is its own: /etc/netns/NS/resolv.conf, removed at the end)
#   serve :8443       (alice)         (alice)         (bob)           (admin)    "internet"
#                     \___ mesh 100.64.0.0/10 + fdxx::/48, WireGuard ___/  |     203.0.113.10
#                                                        uplink 192.0.2.1 --+--- isp
#                                                        LAN 192.168.50.0/24: printer .10
#
#   desk 10.41.0.2 behind NAT router r1 (.40), travel 10.42.0.2 behind r2 (.42): see tests/nat-lib.sh
#
# Every command is printed before it runs. Everything is removed at the end (and on Ctrl-C).
# Env: DEMO_PAUSE=1 waits for Enter between steps. demo/wg-pair.sh is the lower-level tour of
# the data plane alone (two rustynet-wg daemons configured with wg(8)).
set -eu
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '3,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	exit 2
fi
BUILD=$(cd "$1" && pwd)
TEST_TAG=demo
RUSTYNET_WG=$BUILD/src/rustynet-wg/rustynet-wg
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../tests/mesh-lib.sh"
# shellcheck source=tests/nat-lib.sh
. "$(dirname "$0")/../tests/nat-lib.sh"
# shellcheck source=demo/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"
if [ "$(id -u)" != 0 ]; then
	echo "demo: run me as root (network namespaces and TUN devices need it)" >&2
	exit 1
fi
if ! mesh_have_bins; then
	echo "demo: build first (make): rustynetd, rustynet and rustynet-control are not in $BUILD" >&2
	exit 1
fi
for c in wg ip ping socat python3; do
	command -v "$c" >/dev/null || { echo "demo: $c is missing: run ./scripts/install-deps.sh" >&2; exit 1; }
done
cd "$T_DIR"
demo_cleanup() {
	cleanup
	rm -rf "/etc/netns/$T_ID-"*
}
trap demo_cleanup EXIT
trap 'demo_cleanup; exit 130' INT
trap 'demo_cleanup; exit 143' TERM
# in a namespace, as the commands a user would type there
on() { local n=$1; shift; run ip netns exec "${MESH_NS[$n]}" "$@"; }
rn_on() { local n=$1; shift; run ip netns exec "${MESH_NS[$n]}" rustynet --socket "${MESH_SOCK[$n]}" "$@"; }
PATH=$BUILD/src/rustynet:$BUILD/src/rustynetd:$BUILD/src/rustynet-control:$PATH

step "What we are going to build" \
	"A Rustynet network: one control server and three devices (alice's laptop and phone, bob's server). Each is a Linux network namespace on this machine with its own interfaces and routes; a bridge plays the internet between them (198.51.100.0/24)." \
	"The control server enrolls devices, holds the access policy and hands each device a signed map of the network. Each device runs rustynetd, which builds WireGuard tunnels to the others."
# the control server also answers STUN and relays for devices that cannot reach each other
MESH_CTL_ARGS=(--stun-listen 198.51.100.1 --relay-udp 198.51.100.1:3479 --relay-tls 198.51.100.1:8444)
mesh_init >/dev/null
# the ISP router and an "internet" host that answers with the address it sees
T_ISP="$T_ID-isp" T_NET="$T_ID-inet" T_LAN="$T_ID-printer"
for ns in "$T_ISP" "$T_NET" "$T_LAN"; do ns_add "$ns"; done
veth_add "$T_ISP" i0 "$MESH_SW" "s$$-254" && ip -n "$MESH_SW" link set "s$$-254" master br0
addr_add "$T_ISP" i0 198.51.100.254/24
veth_add "$T_ISP" i1 "$T_NET" w0 && addr_add "$T_ISP" i1 203.0.113.1/24
addr_add "$T_NET" w0 203.0.113.10/24 && ip -n "$T_NET" route add default via 203.0.113.1
nsx "$T_ISP" sysctl -qw net.ipv4.ip_forward=1
nsx "$T_NET" socat TCP-LISTEN:80,reuseaddr,fork \
	SYSTEM:'echo "internet host: you come from $SOCAT_PEERADDR"' >/dev/null 2>&1 &
T_BG+=("$!")
echo "   (made the switch, the control server, an ISP router and an internet host 203.0.113.10;"
echo "    see tests/mesh-lib.sh)"

step "Set up the control server" \
	"'init' creates its state: an SQLite database, the Ed25519 key that signs network maps, a TLS key and certificate, and a starter policy that lets every device reach every other. Then 'serve' runs the HTTPS API (TLS 1.3) on 198.51.100.1:8443."
run cat "$T_DIR/init.out"
echo "   \$ rustynet-control --state $MESH_CTL_ST serve --listen 198.51.100.1:8443 &   (already running)"

step "Make auth keys" \
	"An auth key lets a device join as a user. It also carries the server's certificate pin and its map-signing key, so the device trusts the right server from the first contact: no trust on first use."
run_sh "'$RNC' --state '$MESH_CTL_ST' authkey create --user alice --reusable 2>&1 | tail -n 1 | tee alice.key"
run_sh "'$RNC' --state '$MESH_CTL_ST' authkey create --user bob 2>&1 | tail -n 1 | tee bob.key"

step "Start rustynetd on each device and log in" \
	"rustynetd creates the device's key pair (the private key never leaves it) and a tunnel interface. 'rustynet up' enrolls it: the server assigns a stable address in 100.64.0.0/10 and one in the network's IPv6 ULA /48, and pushes the map."
for n in laptop phone server; do
	mesh_node "$n" >/dev/null
	ip -n "${MESH_NS[$n]}" route add default via 198.51.100.254
	# `ip netns exec` shows /etc/netns/NS/resolv.conf as the device's /etc/resolv.conf: link it
	# to the file this device's rustynetd manages (--resolv-conf), so names work in the demo
	mkdir -p "/etc/netns/${MESH_NS[$n]}"
	ln -sf "${MESH_RESOLV[$n]}" "/etc/netns/${MESH_NS[$n]}/resolv.conf"
done
rn_on laptop up --server "$MESH_URL" --auth-key "$(cat alice.key)" --hostname laptop
rn_on phone up --server "$MESH_URL" --auth-key "$(cat alice.key)" --hostname phone
rn_on server up --server "$MESH_URL" --auth-key "$(cat bob.key)" --hostname server
run "$RNC" --state "$MESH_CTL_ST" nodes list

LAPTOP=$(mesh_ip4 laptop) PHONE=$(mesh_ip4 phone) SERVER=$(mesh_ip4 server) SERVER6=$(mesh_ip6 server)
step "Ping each other by mesh address" \
	"Each device got the others as WireGuard peers from its map. The first packet triggers a handshake; after that everything is encrypted end to end, device to device."
on laptop ping -c 2 "$SERVER"
on phone ping -c 2 "$LAPTOP"
on server ping -c 2 "$PHONE"
on laptop ping -6 -c 2 "$SERVER6"
rn_on laptop ping -c 2 server

step "Reach them by name: Magic DNS" \
	"Every device also gets a DNS name from its hostname (laptop, phone, server; a second 'server' would be server-2). rustynetd answers for them on 100.100.100.100 and points the system resolver there (here each device's /etc/resolv.conf is its own file), so ordinary programs resolve mesh names; other names go to the usual resolvers."
on laptop cat /etc/resolv.conf
on laptop ping -c 2 server
on phone getent hosts laptop
rn_on laptop dns inspect

step "What a device knows" \
	"'rustynet status' shows this device, the control server connection, the map version, and each peer with its address, endpoint, last handshake and traffic. 'wg show' works on the same interface, as with kernel WireGuard."
rn_on laptop status
on laptop wg show "${MESH_IF[laptop]}"

step "Change the policy: only ssh from alice to the server" \
	"The policy is default-deny, in the shape of Tailscale's policy file. The server compiles it into a packet filter for each device and pushes new maps at once; each device enforces its filter on what it receives. Here alice may reach the server on tcp/22 only, and nothing else is allowed."
cat >policy.hujson <<-'EOF'
	{
		// alice may ssh to the server; nothing else
		"acls": [{"action": "accept", "src": ["alice"], "proto": "tcp", "dst": ["server:22"]}],
	}
EOF
run cat policy.hujson
V=$(mesh_version laptop)
run "$RNC" --state "$MESH_CTL_ST" policy set policy.hujson
wait_for 5 sh -c "[ \"\$('$RNCLI' --socket '${MESH_SOCK[laptop]}' status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"netmap\"][\"version\"])')\" -gt $V ]" || true
mesh_listen server tcp "$SERVER" 22
mesh_listen server tcp "$SERVER" 80
printf '   %s$ %s%s\n' "$C" "echo | socat - TCP:$SERVER:22   (from the laptop)" "$N"
if mesh_reach laptop tcp "$SERVER" 22; then echo "     connected: tcp/22 is allowed"; else echo "     NOT connected"; fi
printf '   %s$ %s%s\n' "$C" "echo | socat - TCP:$SERVER:80   (from the laptop)" "$N"
if mesh_reach laptop tcp "$SERVER" 80; then echo "     connected (unexpected!)"; else echo "     no answer: tcp/80 is not in the policy, the server's filter drops it"; fi
on laptop ping -c 1 -W 1 "$SERVER" || true

step "An exit node" \
	"An exit node carries other devices' internet traffic. Here 'exit' has an uplink to the ISP (192.0.2.1) and a LAN behind it (192.168.50.0/24, with a printer at .10). It offers both; nothing is exposed until the admin approves and the policy grants it." \
	"The policy below keeps the mesh open and lets alice use exit nodes and reach that LAN."
mesh_node exit >/dev/null
veth_add "${MESH_NS[exit]}" up0 "$T_ISP" up1 && addr_add "${MESH_NS[exit]}" up0 192.0.2.1/24
addr_add "$T_ISP" up1 192.0.2.254/24 && ip -n "${MESH_NS[exit]}" route add default via 192.0.2.254
veth_add "${MESH_NS[exit]}" lan0 "$T_LAN" p0 && addr_add "${MESH_NS[exit]}" lan0 192.168.50.1/24
addr_add "$T_LAN" p0 192.168.50.10/24 && ip -n "$T_LAN" route add default via 192.168.50.1
nsx "$T_LAN" socat TCP-LISTEN:80,reuseaddr,fork SYSTEM:'echo "printer: ready"' >/dev/null 2>&1 &
T_BG+=("$!")
cat >exit-policy.hujson <<-'EOF'
	{
		"acls": [
			{"action": "accept", "src": ["*"], "dst": ["*:*"]},
			{"action": "accept", "src": ["alice"], "dst": ["autogroup:internet:*", "192.168.50.0/24:*"]},
		],
	}
EOF
run cat exit-policy.hujson
run "$RNC" --state "$MESH_CTL_ST" policy set exit-policy.hujson
rn_on exit up --server "$MESH_URL" --auth-key "$(mesh_key admin)" --hostname exit \
	--advertise-exit-node --advertise-routes 192.168.50.0/24
run "$RNC" --state "$MESH_CTL_ST" exit approve exit
run "$RNC" --state "$MESH_CTL_ST" routes approve exit 192.168.50.0/24
sleep 1

# web_from NODE ADDR: what a small web service at ADDR says to NODE
web_from() {
	printf '   %s$ %s%s\n' "$C" "curl http://$2/   (on the $1)" "$N"
	echo | timeout 4 ip netns exec "${MESH_NS[$1]}" socat -T 3 - "TCP:$2:80,connect-timeout=3" \
		2>&1 | sed -e 's/^.* E connect.*: /(no connection: /' -e 's/^(no connection: .*/&)/' \
		-e 's/^/     /' | grep . || echo "     (no answer)"
}
step "Use it from the laptop" \
	"Without an exit node the laptop goes to the internet directly: the internet host sees the laptop's own address. After 'exit-node select', the laptop's internet traffic goes through the tunnel to the exit, which forwards it: the internet host sees the exit's address. rustynetd does this with a routing table of its own and an fwmark on its WireGuard packets (docs/exit-nodes.md)."
rn_on laptop exit-node list
web_from laptop 203.0.113.10
rn_on laptop exit-node select exit
sleep 1
web_from laptop 203.0.113.10
on laptop ip route get 203.0.113.10

step "The LAN behind the exit: off, then on" \
	"LAN access is off by default: the exit's LAN subnets are not reachable. 'lan-access on' routes the subnets this user is granted (and the admin approved) into the tunnel. The exit node enforces the policy on every packet, so a client cannot reach a LAN it was not granted, whatever routes it sets itself."
web_from laptop 192.168.50.10
rn_on laptop lan-access on
sleep 1
web_from laptop 192.168.50.10
rn_on laptop status

step "Back to direct" \
	"'exit-node off' and 'lan-access off' remove exactly the rules, routes and the kill switch they added."
rn_on laptop lan-access off
rn_on laptop exit-node off
web_from laptop 203.0.113.10

step "If the exit node dies: blocked, not leaking" \
	"We select the exit again. While an exit node is selected, rustynetd keeps a kill switch, an nftables table of its own: nothing leaves the laptop's network interface except its WireGuard packets (and its control connection). We kill the exit node's daemon: the laptop's internet traffic stops instead of silently going direct, and tcpdump on the laptop's interface sees no packet to the internet host."
rn_on laptop exit-node select exit
sleep 1
web_from laptop 203.0.113.10
on laptop nft list table inet rustynet-killswitch
echo "   \$ kill -9 <rustynetd on exit>"
kill -KILL "${MESH_PID[exit]}"
wait "${MESH_PID[exit]}" 2>/dev/null || true
capture_start "${MESH_NS[laptop]}" e0 host 203.0.113.10
web_from laptop 203.0.113.10
capture_stop
echo "   packets to 203.0.113.10 on the laptop's own interface meanwhile: $(capture_count "$CAPTURE_FILE")"
run_sh "ip netns exec ${MESH_NS[laptop]} rustynet --socket ${MESH_SOCK[laptop]} status | grep -iE 'exit node|kill switch'"

step "Two devices behind home routers (NAT)" \
	"Most devices are not on the internet directly: they sit behind a router that translates their private address (NAT). Here 'desk' is behind one home router (10.41.0.2, the router's public side 198.51.100.40) and 'travel' behind another (10.42.0.2, public 198.51.100.42). Neither can be reached from outside unless it sends first." \
	"Each device asks the control server's STUN responder, from its WireGuard socket, how the internet sees it, and reports that address; both start their handshakes at once when the map arrives, so each router lets the other's packets in. 'rustynet netcheck' shows what the device learnt."
nat_router r1 40 41 preserve && nat_router r2 42 42 preserve
mesh_node desk nat_link r1 >/dev/null
mesh_node travel nat_link r2 >/dev/null
rn_on desk up --server "$MESH_URL" --auth-key "$(cat alice.key)" --hostname desk
rn_on travel up --server "$MESH_URL" --auth-key "$(cat alice.key)" --hostname travel
TRAVEL=$(mesh_ip4 travel)
wait_for 10 sh -c "'$RNCLI' --socket '${MESH_SOCK[desk]}' status --json | grep -q '198.51.100.40:'" || true
rn_on desk netcheck
wait_for 30 mesh_ping desk "$TRAVEL" || true
rn_on desk ping -c 3 travel
run_sh "ip netns exec ${MESH_NS[desk]} rustynet --socket ${MESH_SOCK[desk]} status | grep -A 3 'travel'"

step "The NAT hardens: through the relay" \
	"Some NATs (carrier-grade NAT on phones, some corporate firewalls) give every destination a new port, so the address STUN saw is useless to a peer. We switch travel's router to such a NAT. The direct path goes quiet; after its retry the devices move to the relay that runs inside the control server. The relay only forwards WireGuard ciphertext between the two keys it was shown valid credentials for: it cannot read the traffic. The tunnel, and any connection inside it, stays up: the relay is just another endpoint of the same WireGuard session."
nat_mode r2 random
rn_on travel netcheck
echo "   (meanwhile desk keeps pinging travel, twice a second: WireGuard notices a silent path after"
echo "    about 20 s, and the path moves to the relay)"
( while :; do nsx "${MESH_NS[desk]}" ping -n -c 1 -W 1 "$TRAVEL" >/dev/null 2>&1 || true; sleep 0.5; done ) &
PINGER=$!
T_BG+=("$PINGER")
wait_for 90 sh -c "'$RNCLI' --socket '${MESH_SOCK[desk]}' status --json | python3 -c 'import json,sys; sys.exit(0 if [p for p in json.load(sys.stdin)[\"peers\"] if p.get(\"name\") == \"travel\" and p[\"path\"][\"kind\"] == \"relay\"] else 1)'" || true
kill "$PINGER" 2>/dev/null || true
rn_on desk ping -c 3 travel
run_sh "ip netns exec ${MESH_NS[desk]} rustynet --socket ${MESH_SOCK[desk]} status | grep -A 3 'travel'"

step "Clean up" \
	"Stopping rustynetd removes exactly the interface, addresses and routes it installed (it keeps a journal of them, so even after a crash a restart cleans up). Deleting the namespaces removes the rest."
for n in laptop phone server desk travel; do rn_on "$n" down; done
echo
echo "Done: devices enrolled with one command each, reaching each other by address and name, an"
echo "exit node carrying the laptop's internet traffic and LAN, a dead exit node blocking instead"
echo "of leaking, under a policy pushed in well under a second; and two devices behind NATs reaching"
echo "each other directly, then through the relay when one NAT hardened."
