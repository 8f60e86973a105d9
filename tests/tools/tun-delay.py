#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tun-delay.py IFNAME MS: a TUN device that hands back every packet written to it MS later.

This kernel has no netem, so a test router delays its forwarded traffic this way: policy routing
sends what arrives on its links into IFNAME, this reads each packet and writes it back after MS
milliseconds, and the kernel, which now sees it arrive on IFNAME, forwards it by the main table.
Addresses and ports are untouched (unlike a UDP forwarder). Runs until killed; prints "ready"
once the device exists.
"""
import collections
import fcntl
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: tun-delay.py IFNAME MS")
    name, delay = sys.argv[1], float(sys.argv[2]) / 1000.0
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    print("ready", flush=True)
    due = collections.deque()  # (time to write, packet): FIFO, since the delay is constant
    while True:
        timeout = None
        if due:
            timeout = max(0.0, due[0][0] - time.monotonic())
        readable, _, _ = select.select([fd], [], [], timeout)
        now = time.monotonic()
        if readable:
            while len(due) < 100000:
                try:
                    due.append((now + delay, os.read(fd, 65536)))
                except BlockingIOError:
                    break
        while due and due[0][0] <= time.monotonic():
            try:
                os.write(fd, due.popleft()[1])
            except OSError:
                pass  # a packet the kernel refuses is lost, as on a real link


if __name__ == "__main__":
    main()
