#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# harness-capture: the harness's own counting cannot report "0 leaked" from a count that did not
# happen. tests/lib.sh's capture_count (which every leak, DNS and interop capture check uses)
# must fail when tcpdump fails, the leak scripts' filters must fail without c1's MAC, and
# san_clean must see a sanitizer report file. No namespaces, no daemons: a pcap written here.
#
#   $T_DIR/two.pcap: 1 UDP datagram 198.51.100.10:40000 -> 203.0.113.10:53 from 02:00:00:00:00:0a,
#                    1 ICMPv6 echo request to ff02::1 from the same MAC (a capture_canary)
#
# Checks: the counts on a good file (the subject alive); then a filter that does not compile, a
# filter with an empty MAC, a missing file, a file that is not a pcap, an empty file (tcpdump
# never wrote a header) each make capture_count and capture_has fail with tcpdump's complaint;
# a partial last record (a capture still being written) counts the packets before it;
# leak_count fails when c1's MAC cannot be read; san_clean fails on a report file.
set -eu
TEST_TAG=harness
# shellcheck source=tests/leak-lib.sh
. "$(dirname "$0")/../leak-lib.sh"
plan 16
need_cmds tcpdump python3

MAC=02:00:00:00:00:0a
python3 - "$T_DIR/two.pcap" <<'PY'
import socket, struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF

src_mac = bytes.fromhex("02000000000a")
udp = struct.pack("!HHHH", 40000, 53, 8 + 4, 0) + b"abcd"
ip4 = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                  socket.inet_aton("198.51.100.10"), socket.inet_aton("203.0.113.10"))
ip4 = ip4[:10] + struct.pack("!H", csum(ip4)) + ip4[12:]
f1 = bytes.fromhex("020000000001") + src_mac + b"\x08\x00" + ip4 + udp
icmp = struct.pack("!BBHHH", 128, 0, 0, 1, 1)
ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(icmp), 58, 1,
                  socket.inet_pton(socket.AF_INET6, "fe80::1"),
                  socket.inet_pton(socket.AF_INET6, "ff02::1"))
f2 = bytes.fromhex("333300000001") + src_mac + b"\x86\xdd" + ip6 + icmp
out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
for i, f in enumerate((f1, f2)):
    out += struct.pack("<IIII", 1000 + i, 0, len(f), len(f)) + f
open(sys.argv[1], "wb").write(out)
PY
GOOD=$T_DIR/two.pcap

# is N CMD...: CMD succeeds and prints exactly N.
is() {
	local want=$1 got
	shift
	got=$("$@") || { echo "failed: $*"; return 1; }
	echo "got '$got', want '$want'"
	[ "$got" = "$want" ]
}
# refuses CMD...: CMD fails, prints nothing on stdout (no count to compare) and says why.
refuses() {
	local rc=0
	"$@" >"$T_DIR/out" 2>"$T_DIR/err" || rc=$?
	echo "exit status $rc; stdout '$(cat "$T_DIR/out")'; stderr:"
	cat "$T_DIR/err"
	[ "$rc" != 0 ] && [ ! -s "$T_DIR/out" ] && [ -s "$T_DIR/err" ]
}

# ---------------------------------------------------------------- the subject alive
check "a good file: 2 packets" is 2 capture_count "$GOOD"
check "a good file: 1 UDP to port 53" is 1 capture_count "$GOOD" "udp and dst port 53"
check "a good file: 0 TCP (a filter that compiles and matches nothing)" is 0 capture_count "$GOOD" tcp
check "a good file: the canary from $MAC is seen" is 1 canary_count "$GOOD" "$MAC"
check "capture_has: at least 1 UDP" capture_has "$GOOD" 1 udp

# ---------------------------------------------------------------- every way tcpdump can fail
check "a filter that does not compile fails" refuses capture_count "$GOOD" "udp and and"
check "a filter with an empty MAC fails (ether src  and not arp)" \
	refuses capture_count "$GOOD" "ether src  and not arp"
check "canary_count with an empty MAC fails" refuses canary_count "$GOOD" ""
check "a missing file fails" refuses capture_count "$T_DIR/nonexistent.pcap"
printf 'this is not a pcap file\n' >"$T_DIR/text.pcap"
check "a file that is not a pcap fails" refuses capture_count "$T_DIR/text.pcap" udp
: >"$T_DIR/empty.pcap"
check "an empty file (no pcap header: the capture never ran) fails" \
	refuses capture_count "$T_DIR/empty.pcap"
check "capture_has fails on a bad filter, even with MIN 0" refuses capture_has "$GOOD" 0 "udp and and"
head -c -10 "$GOOD" >"$T_DIR/partial.pcap"
check "a partial last record (capture still running): the first packet counts" \
	is 1 capture_count "$T_DIR/partial.pcap"

# ---------------------------------------------------------------- the leak scripts' filter
MESH_NS[c1]="$T_ID-nonexistent"
check "leak_count fails when c1's MAC cannot be read" refuses leak_count "$GOOD"

# ---------------------------------------------------------------- sanitizer report files
check "san_clean: no report file, clean" san_clean
printf '==1234==ERROR: LeakSanitizer: detected memory leaks\n' >"$T_DIR/sanitizer.1234"
check "san_clean fails on a report file and shows it" refuses san_clean
rm -f "$T_DIR/sanitizer.1234"
t_done
