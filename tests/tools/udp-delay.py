#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""udp-delay.py LISTEN TARGET MS: a UDP forwarder that adds MS milliseconds each way.

Datagrams to LISTEN (ADDR:PORT) go on to TARGET after MS, each client through its own upstream
socket, so TARGET sees one source per client and its replies go back (again after MS) to that
client. For latency in netns tests where the kernel has no sch_netem. Runs until killed.
"""
import heapq
import itertools
import select
import socket
import sys
import time


def addr(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[0])
    listen, target, delay = addr(sys.argv[1]), addr(sys.argv[2]), int(sys.argv[3]) / 1000.0
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(listen)
    up = {}  # client address -> its upstream socket
    back = {}  # upstream socket -> client address
    due = []  # (time, seq, socket, data, destination or None: connected)
    seq = itertools.count()
    while True:
        wait = max(0.0, due[0][0] - time.monotonic()) if due else None
        ready, _, _ = select.select([front] + list(back), [], [], wait)
        now = time.monotonic()
        for s in ready:
            try:
                data, src = s.recvfrom(65535)
            except OSError:
                continue  # ICMP errors from the target: it is down
            if s is front:
                u = up.get(src)
                if u is None:
                    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    u.connect(target)
                    up[src], back[u] = u, src
                heapq.heappush(due, (now + delay, next(seq), u, data, None))
            else:
                heapq.heappush(due, (now + delay, next(seq), front, data, back[s]))
        while due and due[0][0] <= time.monotonic():
            _, _, s, data, dst = heapq.heappop(due)
            try:
                s.send(data) if dst is None else s.sendto(data, dst)
            except OSError:
                pass


if __name__ == "__main__":
    main()
