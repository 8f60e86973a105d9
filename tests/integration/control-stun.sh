#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# control-stun: the control server's STUN responder (serve --stun-listen) and the admin's STUN
# servers (stun set/list/clear) in every node's map.
#
#            ns sw: bridge br0 (198.51.100.0/24, 2001:db8:1::/64)
#     +-----------------------------+-----------------------------+
#   ctl .1 / ::1                  n1 .10                        cli .20 / ::20
#   rustynet-control serve        rustynetd (alice)             turnutils_stunclient (coturn),
#     --stun-listen 0.0.0.0          its netmap.json is read      python3 STUN probes
#     --stun-listen [2001:db8:1::1]:3479
#
# Checks: serve names the address the maps carry for a wildcard (init --hostname's); the
# real STUN client turnutils_stunclient gets its own address and source port back, over IPv4
# (the wildcard) and IPv6 (the second --stun-listen); a non-STUN datagram, a Binding response
# and an oversized request get no answer (each after an answer on the same socket proved the
# responder alive) and it answers again after them; one source gets a burst of 40 answers out
# of 100 requests (the rate limit); a second serve on the same UDP port fails with a clear
# error; `stun set` refuses a loopback address and a list too long, changing nothing; the
# node's stored map lists the responder first, then the admin's servers after `stun set`, and
# only the responder again after `stun clear`; no sanitizer report.
set -eu
TEST_TAG=ctl-stun
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "$0")/../mesh-lib.sh"
plan 23
need_root
need_cmds python3 tcpdump turnutils_stunclient

if ! mesh_have_bins; then
	skip "control-stun: all checks" "rustynetd, rustynet or rustynet-control missing in $BUILD_DIR"
	t_done
fi

CLI_NS="$T_ID-cli"
CLI4=198.51.100.20
CLI6=2001:db8:1::20
CTL4=198.51.100.1
CTL6=2001:db8:1::1
OWN='["198.51.100.1:3478", "[2001:db8:1::1]:3479"]' # what every map lists first
export RUSTYNET_CONTROL_DEBUG=main                   # the responder's counters, at exit
MESH_CTL_ARGS=(--stun-listen 0.0.0.0 --stun-listen "[$CTL6]:3479")

mesh_init_or_end
check "serve names the wildcard responder by the address of init --hostname" \
	grep -qF "on udp 0.0.0.0:3478 (the maps name $CTL4:3478)" "$MESH_CTL_LOG"
mesh_nodes_or_end n1
check "n1 up (alice)" mesh_up n1 alice
if ! { ns_add "$CLI_NS" && mesh_link "$CLI_NS" e0 20; }; then
	mesh_dump_logs
	t_done
fi

# ---------------------------------------------------------------- the responder

# stunclient ADDR PORT WANT: turnutils_stunclient in the client namespace reports WANT (the
# client's own address) as its reflexive address; prints the port it reported.
stunclient() {
	local out
	out=$(timeout 10 ip netns exec "$CLI_NS" turnutils_stunclient -p "$2" "$1" 2>&1) || {
		echo "$out" >&2
		return 1
	}
	echo "$out" >&2
	echo "$out" | sed -n "s/.*UDP reflexive addr: $3:\([0-9][0-9]*\)[[:space:]]*$/\1/p" |
		head -n 1 | grep .
}

capture_start "$CLI_NS" e0 udp
P4=$(stunclient "$CTL4" 3478 "$CLI4" 2>"$T_DIR/sc4.err") || P4=
check "turnutils_stunclient over IPv4: its own address is its mapped address" \
	sh -c "cat '$T_DIR/sc4.err'; [ -n '$P4' ]"
P6=$(stunclient "$CTL6" 3479 "$CLI6" 2>"$T_DIR/sc6.err") || P6=
capture_stop
check "... and the mapped port is the one it sent from (capture), answered from :3478" \
	capture_has "$CAPTURE_FILE" 1 "src host $CTL4 and src port 3478 and dst host $CLI4 and dst port ${P4:-0}"
check "turnutils_stunclient over IPv6 ([$CTL6]:3479): its own address and port" \
	sh -c "cat '$T_DIR/sc6.err'; [ -n '$P6' ] && tcpdump -r '$CAPTURE_FILE' -n \
		'src host $CTL6 and src port 3479 and dst host $CLI6 and dst port $P6' 2>/dev/null | grep -q ."

# stun_py MODE: one socket in the client namespace asks 198.51.100.1:3478 (python, RFC 8489 by
# hand). MODE "ask": a Binding request is answered with the socket's own address and port.
# MODE junk / response / oversized: first "ask" (the responder is alive for this socket), then
# that datagram gets no answer within 1 s. MODE "burst": 100 requests at once, prints how many
# were answered.
stun_py() {
	ip netns exec "$CLI_NS" python3 - "$CTL4" 3478 "$1" <<-'PY'
		import os, socket, struct, sys, zlib
		host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
		MAGIC = 0x2112A442
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		s.bind(("0.0.0.0", 0))
		s.connect((host, port))
		me = s.getsockname()

		def msg(mtype, txid, attrs=b""):
		    body = attrs + b"\x80\x28\x00\x04" + b"\0\0\0\0"  # FINGERPRINT placeholder
		    m = struct.pack("!HHI", mtype, len(body), MAGIC) + txid + body
		    crc = (zlib.crc32(m[:-8]) ^ 0x5354554E) & 0xffffffff
		    return m[:-4] + struct.pack("!I", crc)

		def mapped(data, txid):
		    t, n, magic = struct.unpack("!HHI", data[:8])
		    assert t == 0x0101 and magic == MAGIC and data[8:20] == txid, "not our success"
		    i = 20
		    while i + 4 <= 20 + n:
		        at, al = struct.unpack("!HH", data[i:i + 4])
		        if at == 0x0020:
		            p = struct.unpack("!H", data[i + 6:i + 8])[0] ^ (MAGIC >> 16)
		            a = struct.unpack("!I", data[i + 8:i + 12])[0] ^ MAGIC
		            return (socket.inet_ntoa(struct.pack("!I", a)), p)
		        i += 4 + (al + 3) // 4 * 4
		    raise AssertionError("no XOR-MAPPED-ADDRESS")

		def ask():
		    txid = os.urandom(12)
		    s.settimeout(2)
		    s.send(msg(0x0001, txid))
		    got = mapped(s.recv(2048), txid)
		    print("asked from %s:%d, mapped %s:%d" % (me + got))
		    assert got == me, "the mapped address is not the socket's own"

		def silent(what, data):
		    s.settimeout(1)
		    s.send(data)
		    try:
		        s.recv(2048)
		    except socket.timeout:
		        print("no answer to %s within 1 s" % what)
		        return
		    raise AssertionError("the responder answered %s" % what)

		if mode == "ask":
		    ask()
		elif mode == "junk":
		    ask()
		    silent("a datagram that is not STUN", b"hello, is anybody there?\n")
		elif mode == "response":
		    ask()
		    txid = os.urandom(12)
		    xma = struct.pack("!HHBBH", 0x0020, 8, 0, 1, 4242 ^ (MAGIC >> 16)) + \
		        struct.pack("!I", 0xC6336414 ^ MAGIC)
		    silent("a Binding success response", msg(0x0101, txid, xma))
		elif mode == "oversized":
		    ask()
		    pad = struct.pack("!HH", 0x8022, 600) + b"x" * 600  # SOFTWARE, 600 bytes
		    silent("a 648-byte Binding request", msg(0x0001, os.urandom(12), pad))
		elif mode == "burst":
		    ids = [os.urandom(12) for _ in range(100)]
		    for t in ids:
		        s.send(msg(0x0001, t))
		    s.settimeout(0.5)
		    n = 0
		    try:
		        while True:
		            s.recv(2048)
		            n += 1
		    except socket.timeout:
		        pass
		    print(n)
	PY
}

check "a Binding request is answered with the socket's own address and port" stun_py ask
check "a datagram that is not STUN gets no answer" stun_py junk
check "a Binding response gets no answer" stun_py response
check "an oversized Binding request gets no answer" stun_py oversized
check "the responder still answers after them" stun_py ask

# burst_limited: 100 requests at once from one address get the burst (40) and not much more.
burst_limited() {
	local n
	sleep 2.1 # the checks above spent a few of this address's answers: 2 s refills 40
	n=$(stun_py burst) || return 1
	echo "$n of 100 answered"
	[ "$n" -ge 40 ] && [ "$n" -le 44 ]
}
check "one source gets a burst of 40 answers out of 100 requests (the rate limit)" burst_limited

# port_in_use: a second serve on the responder's UDP port exits 1 naming the problem.
port_in_use() {
	local rc=0
	timeout 10 ip netns exec "$MESH_CTL_NS" "$RNC" --state "$MESH_CTL_ST" serve \
		--listen "$CTL4:8444" --stun-listen "$CTL4" >"$T_DIR/serve2.out" 2>&1 || rc=$?
	cat "$T_DIR/serve2.out"
	[ "$rc" = 1 ] && grep -qF "UDP $CTL4:3478 is in use" "$T_DIR/serve2.out"
}
check "a second serve on the same UDP port fails: \"... is in use\"" port_in_use

# ---------------------------------------------------------------- stun set, in the maps

# map_stun WANT: n1's stored map (the envelope's "map" string, itself JSON) has "stun" == WANT
# (a Python list; [] for none, which is the member's absence).
map_stun() {
	python3 - "${MESH_ST[n1]}/netmap.json" "$1" <<-'PY'
		import ast, json, sys
		env = json.load(open(sys.argv[1]))
		m = json.loads(env["map"])
		got, want = m.get("stun", []), ast.literal_eval(sys.argv[2])
		print("version %d, stun %s" % (m["version"], got))
		sys.exit(0 if got == want else 1)
	PY
}

check "n1's map lists the server's responder (both)" wait_for 10 map_stun "$OWN"
check "stun set with a loopback address is refused (exit 2)" \
	fails_with 2 '"127.0.0.1:3478" is a loopback address' \
	ctl stun set 203.0.113.7:3478 127.0.0.1:3478
check "stun set with 7 servers is refused (exit 2)" fails_with 2 "at most 6 STUN servers" \
	ctl stun set 192.0.2.1:3478 192.0.2.2:3478 192.0.2.3:3478 192.0.2.4:3478 \
	192.0.2.5:3478 192.0.2.6:3478 192.0.2.7:3478
# unchanged: no STUN server listed, none in the audit log.
unchanged() {
	local n
	[ -z "$(ctl stun list)" ] || return 1
	n=$(db_value "$MESH_CTL_ST/control.db" "SELECT count(*) FROM audit WHERE details LIKE '%stun_servers%'")
	echo "audit entries about stun_servers: $n"
	[ "$n" = 0 ]
}
check "... and nothing changed: no server listed, no audit entry" unchanged
check "stun set two servers" ctl stun set 203.0.113.7:3478 "[2001:db8:2::7]:3478"
check "stun list --json shows them" sh -c "'$RNC' --state '$MESH_CTL_ST' stun list --json |
	python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"servers\"] ==
		[\"203.0.113.7:3478\", \"[2001:db8:2::7]:3478\"] else 1)'"
check "n1's map: the responder first, then the admin's servers" \
	wait_for 10 map_stun "${OWN%]}, \"203.0.113.7:3478\", \"[2001:db8:2::7]:3478\"]"
clear_followed() { ctl stun clear && wait_for 10 map_stun "$OWN"; }
check "after stun clear, n1's map lists only the responder again" clear_followed
check "daemons exit 0, no sanitizer report" mesh_logs_clean
t_done
