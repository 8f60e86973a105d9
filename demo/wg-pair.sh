#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo/wg-pair.sh BUILD_DIR: a guided tour of a WireGuard tunnel between two rustynet-wg peers
# (BUILD_DIR/src/rustynet-wg/rustynet-wg; wireguard-go stands in if it is not built yet).
#
#   "alice" (network namespace)                  "bob" (network namespace)
#   +-------------------------------+            +-------------------------------+
#   | tunnel  100.64.0.1            |  WireGuard |  tunnel  100.64.0.2           |
#   |   rustynet-wg, udp 51820      |<==========>|    rustynet-wg, udp 51821     |
#   | va      198.51.100.1 ---------+----veth----+------- vb 198.51.100.2        |
#   +-------------------------------+            +-------------------------------+
#
# Every command is printed before it runs. Everything is removed at the end (and on Ctrl-C).
# Env: DEMO_PAUSE=1 waits for Enter between steps; RUSTYNET_WG overrides the binary path.
set -eu
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '3,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	exit 2
fi
BUILD=$1
TEST_TAG=demo
RUSTYNET_WG=${RUSTYNET_WG:-$BUILD/src/rustynet-wg/rustynet-wg}
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
if [ "$(id -u)" != 0 ]; then
	echo "demo: run me as root (network namespaces and TUN devices need it)" >&2
	exit 1
fi
for c in wg ip ping iperf3 tcpdump; do
	command -v "$c" >/dev/null || { echo "demo: $c is missing: run ./scripts/install-deps.sh" >&2; exit 1; }
done

# shellcheck source=demo/demo-lib.sh
. "$(dirname "$0")/demo-lib.sh"

if rn_available; then
	IMPL=$RUSTYNET_WG
	NAME=rustynet-wg
else
	IMPL=wireguard-go
	NAME=wireguard-go
fi
ALICE="$T_ID-alice"
BOB="$T_ID-bob"
IFA="alice$$"
IFB="bob$$"
cd "$T_DIR"

step "What we are going to build" \
	"Two pretend computers, alice and bob, each a Linux network namespace on this machine (its own interfaces, addresses and routes). A virtual cable (a veth pair) connects them; its addresses 198.51.100.1 and .2 play the public internet." \
	"Then each side runs $NAME, a WireGuard implementation, and we build an encrypted tunnel: alice is 100.64.0.1 and bob 100.64.0.2 inside it."
if [ "$NAME" = wireguard-go ]; then
	echo "   NOTE: rustynet-wg is not built ($RUSTYNET_WG not found), so this demo uses wireguard-go,"
	echo "   which rustynet-wg replaces one for one. Build it with 'make' and run the demo again."
fi

step "Create the two computers and the cable between them" \
	"'ip netns add' makes a namespace; 'ip link add ... type veth' makes a cable whose two ends we put in alice and bob."
run ip netns add "$ALICE"
T_NS+=("$ALICE")
run ip netns add "$BOB"
T_NS+=("$BOB")
run ip link add va netns "$ALICE" type veth peer name vb netns "$BOB"
run ip -n "$ALICE" addr add 198.51.100.1/24 dev va
run ip -n "$BOB" addr add 198.51.100.2/24 dev vb
run ip -n "$ALICE" link set va up
run ip -n "$BOB" link set vb up
run ip netns exec "$ALICE" ping -c 1 198.51.100.2

step "Make a key pair for each side" \
	"WireGuard identifies peers by public keys. Each side keeps its private key to itself and tells the other its public key (like SSH keys, but 32 bytes of Curve25519)."
run_sh "umask 077; wg genkey > alice.key; wg genkey > bob.key"
run_sh "wg pubkey < alice.key > alice.pub; wg pubkey < bob.key > bob.pub"
run_sh "cat alice.pub bob.pub"

step "Start $NAME on both sides" \
	"The daemon creates a TUN interface (a network card whose packets go to a program instead of a wire) and listens on a UNIX socket, /var/run/wireguard/NAME.sock, for configuration. That socket speaks the same protocol as kernel WireGuard's, so the standard 'wg' tool configures it."
echo "   \$ ip netns exec $ALICE $NAME -f $IFA &"
echo "   \$ ip netns exec $BOB $NAME -f $IFB &"
wg_start "$ALICE" "$IFA" "$IMPL"
wg_start "$BOB" "$IFB" "$IMPL"
run ls -l "/var/run/wireguard/$IFA.sock" "/var/run/wireguard/$IFB.sock"
run ip -n "$ALICE" link show "$IFA"

step "Configure the tunnel with wg" \
	"Each side gets its private key and a UDP port, then learns about the other: its public key, where to reach it (the endpoint), and which tunnel addresses may come from it (allowed IPs). That last part is WireGuard's 'cryptokey routing': a packet from 100.64.0.2 is only accepted if bob's key encrypted it."
run ip netns exec "$ALICE" wg set "$IFA" private-key alice.key listen-port 51820 \
	peer "$(cat bob.pub)" endpoint 198.51.100.2:51821 allowed-ips 100.64.0.2/32
run ip netns exec "$BOB" wg set "$IFB" private-key bob.key listen-port 51821 \
	peer "$(cat alice.pub)" endpoint 198.51.100.1:51820 allowed-ips 100.64.0.1/32
run ip -n "$ALICE" addr add 100.64.0.1/24 dev "$IFA"
run ip -n "$BOB" addr add 100.64.0.2/24 dev "$IFB"
run ip -n "$ALICE" link set "$IFA" mtu 1420 up
run ip -n "$BOB" link set "$IFB" mtu 1420 up

step "Look at alice's side before any traffic" \
	"'wg show' lists the interface and its peer. There is no 'latest handshake' yet: WireGuard is silent until there is something to send."
run ip netns exec "$ALICE" wg show "$IFA"

step "Ping bob through the tunnel, and watch the cable" \
	"The first packet makes alice send a handshake initiation; bob answers; from then on packets travel encrypted. We record the cable with tcpdump at the same time: it only sees UDP between the two endpoints, never the ping inside."
capture_start "$BOB" vb udp
run ip netns exec "$ALICE" ping -c 3 100.64.0.2
capture_stop
echo "   What went over the cable (UDP payload: 148 bytes = handshake initiation, 92 = response,"
echo "   32 = keepalive, the rest = encrypted pings):"
run tcpdump -r "$CAPTURE_FILE" -n -q -c 8

step "Look again" \
	"Now there is a handshake and the transfer counters count encrypted bytes. The endpoint was learned from where bob's packets came from, so a peer can move (roam) without reconfiguration."
run ip netns exec "$ALICE" wg show "$IFA"

step "Move some data" \
	"iperf3 sends TCP data from alice to bob through the tunnel for 3 seconds. On this shared machine both computers, both daemons and iperf3 share the same CPU cores, so read the figure as a sanity check, not a benchmark (that is 'make bench')."
nsx "$BOB" iperf3 -s -1 -D -p 5201 >/dev/null
wait_for 10 iperf_listening "$BOB" 5201
run ip netns exec "$ALICE" iperf3 -c 100.64.0.2 -p 5201 -t 3 -f m
run ip netns exec "$BOB" wg show "$IFB" transfer

step "Clean up" \
	"Stopping the daemons removes their interfaces and sockets; deleting the namespaces removes the cable. The same cleanup runs if the demo is interrupted."
echo "   \$ kill <the two $NAME processes>"
wg_stop "$IFA"
wg_stop "$IFB"
run ip netns del "$ALICE"
run ip netns del "$BOB"
T_NS=()
echo
echo "Done. That is all it takes: keys, one 'wg set' per side, addresses, and traffic flows."
