#!/usr/bin/env python3
"""Adds services to a hub at a steady rate, for scripts/bench_hub.sh's
fanout_registry row: the registry takes writes while the fan-out runs.

  bench_adds.py --port P [--rate 1000] [--duration 8] [--prefix reg] [--op add|get]

One client connection (HTTP CONNECT, then a client handshake). Every 10 ms
it sends the adds that fell due (ids <prefix>0, <prefix>1, ...), at most
`--window` unanswered at once, and reads the replies. Prints one JSON line:
adds sent and acknowledged per second, errors, and the slowest reply in ms.
Exits 1 when the hub refused the connection or answered an add with an
error; a deadline bounds every wait. `--op get` sends gets of the same ids
instead (answered "Service not found", no registry write): the control run
that tells the registry's cost from the requests' own.
"""
import argparse
import json
import select
import socket
import struct
import sys
import time

REQUEST, REPLY, ERROR, PING = 1, 2, 3, 4
OP_HANDSHAKE, OP_ADD, OP_GET = 0, 1, 16


def frame(kind, rid, body):
    return struct.pack("<BHI", kind, rid, len(body)) + body


def message(kind, rid, op, ident, payload):
    ident = ident.encode()
    return frame(kind, rid, struct.pack("<BH", op, len(ident)) + ident + payload)


class Link:
    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.sock.sendall(b"CONNECT /hms HTTP/1.1\r\nHost: bench\r\n\r\n")
        while b"\r\n\r\n" not in self.buf:
            self.recv_some(timeout)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0] and b" 200 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("the hub refused the upgrade: %r" % head[:80])
        self.sock.setblocking(False)

    def recv_some(self, timeout):
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            raise TimeoutError("no answer from the hub in %.1f s" % timeout)
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("the hub closed the connection")
        self.buf += data

    def frames(self):
        while len(self.buf) >= 7:
            kind, rid, length = struct.unpack_from("<BHI", self.buf)
            if len(self.buf) < 7 + length:
                break
            body = self.buf[7:7 + length]
            self.buf = self.buf[7 + length:]
            if kind == PING:
                self.send(frame(REPLY, rid, b""))
                continue
            yield kind, rid, body

    def send(self, data):
        self.sock.setblocking(True)
        self.sock.sendall(data)
        self.sock.setblocking(False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=float, default=1000, help="adds per second")
    ap.add_argument("--duration", type=float, default=8, help="seconds")
    ap.add_argument("--window", type=int, default=2000, help="unanswered adds at most")
    ap.add_argument("--prefix", default="reg")
    ap.add_argument("--op", choices=["add", "get"], default="add",
                    help="get: the same requests without registry writes (a control run)")
    a = ap.parse_args()

    link = Link(a.port, 10)
    link.send(message(REQUEST, 1, OP_HANDSHAKE, "", b'{"type":"client","protocol":1}'))
    deadline = time.monotonic() + 10
    while True:
        got = [f for f in link.frames() if f[1] == 1]
        if got:
            if got[0][0] != REPLY:
                print("bench_adds: handshake refused: %r" % got[0][2], file=sys.stderr)
                return 1
            break
        link.recv_some(max(0.01, deadline - time.monotonic()))

    payload = b'{"start":"sleep 1000","env":{"BENCH":"1"}}'
    start = time.monotonic()
    end = start + a.duration
    sent = acked = errors = 0
    pending = {}  # rid -> send time
    slowest = 0.0
    first_error = ""
    while True:
        now = time.monotonic()
        if now >= end and not pending:
            break
        if now >= end + 10:
            print("bench_adds: %d adds unanswered 10 s after the end" % len(pending), file=sys.stderr)
            return 1
        due = int((min(now, end) - start) * a.rate)
        out = b""
        while sent < due and len(pending) < a.window:
            rid = 2 + sent % 60000
            op, body = (OP_ADD, payload) if a.op == "add" else (OP_GET, b"")
            out += message(REQUEST, rid, op, "%s%d" % (a.prefix, sent), body)
            pending[rid] = now
            sent += 1
        if out:
            link.send(out)
        try:
            link.recv_some(0.01)
        except TimeoutError:
            pass
        for kind, rid, body in link.frames():
            t = pending.pop(rid, None)
            if t is None:
                continue
            slowest = max(slowest, time.monotonic() - t)
            if kind == REPLY or (a.op == "get" and body == b"Service not found"):
                acked += 1
            else:
                errors += 1
                first_error = first_error or body.decode(errors="replace")
    took = time.monotonic() - start
    print(json.dumps({"adds_sent_per_s": round(sent / a.duration, 1), "adds_acked_per_s": round(acked / took, 1),
                      "errors": errors, "slowest_reply_ms": round(slowest * 1000, 2), "first_error": first_error}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
