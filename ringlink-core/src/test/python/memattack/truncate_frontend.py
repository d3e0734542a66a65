#!/usr/bin/env python3
"""A hostile vhost-user front-end that shrinks guest memory under running rings.

Issue 15 item 3: a back-end maps the front-end's memory files once, after checking their size.
This front-end hands over two memfds it did NOT seal (F_SEAL_SHRINK), runs real traffic
(TX chains the back-end reads, RX buffers it writes) and then ftruncate()s the buffer region to
0 while the back-end is still copying packets. The back-end's next access to that region faults
(SIGBUS). It must survive, stop this connection with a clear reason, and keep serving others.

Stdlib only (Python >= 3.10: os.memfd_create, os.eventfd, socket.send_fds).

With --sealable the memfds are made with MFD_ALLOW_SEALING (still unsealed): the back-end must
add F_SEAL_SHRINK before mapping them, so the ftruncate fails with EPERM and traffic goes on.

Usage: truncate_frontend.py SOCKET_PATH [--after N] [--seconds S] [--target tx|rx|both] [--sealable]
Prints one JSON line: {"tx_used":..,"rx_used":..,"truncated":bool,"refused":..,"closed":bool,...}
Exit 0 when the back-end closed the connection after the truncation (--sealable: when the
truncation was refused and traffic went on as long again without the connection closing), 1
otherwise.
"""
import argparse
import fcntl
import json
import mmap
import os
import select
import socket
import struct
import sys
import time

# vhost-user requests (QEMU docs/interop/vhost-user.rst)
GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE = 1, 2, 3, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE = 8, 9, 10
SET_VRING_KICK, SET_VRING_CALL = 12, 13
VERSION = 0x1
REPLY = 0x4

VERSION_1 = 1 << 32
QS = 256
HDR = 12                      # virtio_net_hdr_v1 (VERSION_1)
PKT = 60
A_SIZE = 64 << 10             # rings
F_GET_SEALS = 1034             # fcntl (linux/fcntl.h)
B_SIZE = 1 << 20              # packet buffers (the region we truncate)
A_GPA, B_GPA = 0x0, 0x100000
A_UADDR, B_UADDR = 0x7F0000000000, 0x7F0000100000  # only keys for SET_VRING_ADDR translation

# ring offsets in region A: queue 0 = RX (device writes), queue 1 = TX (device reads)
RING = {0: (0x0000, 0x1000, 0x2000), 1: (0x4000, 0x5000, 0x6000)}
TX_BUF, RX_BUF = 0x0, 0x80000  # offsets in region B


def send(sock, req, payload=b"", fds=()):
    msg = struct.pack("<III", req, VERSION, len(payload)) + payload
    if fds:
        socket.send_fds(sock, [msg], list(fds))
    else:
        sock.sendall(msg)


def recv_reply(sock, req):
    hdr = b""
    while len(hdr) < 12:
        chunk = sock.recv(12 - len(hdr))
        if not chunk:
            raise ConnectionError("back-end closed during handshake")
        hdr += chunk
    r, flags, size = struct.unpack("<III", hdr)
    body = b""
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        if not chunk:
            raise ConnectionError("back-end closed during handshake")
        body += chunk
    if r != req or not flags & REPLY:
        raise ValueError(f"unexpected reply {r} flags {flags:#x}")
    return body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--after", type=int, default=2000, help="used TX chains before truncating")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--target", choices=["tx", "rx", "both"], default="both",
                    help="which traffic direction runs (both: TX and RX)")
    ap.add_argument("--sealable", action="store_true",
                    help="create the memfds with MFD_ALLOW_SEALING (and no seal): the back-end seals"
                         " them against shrinking, so the truncation must fail with EPERM")
    a = ap.parse_args()

    flags = os.MFD_CLOEXEC | (os.MFD_ALLOW_SEALING if a.sealable else 0)
    fa = os.memfd_create("rl-attack-rings", flags)     # without --sealable no MFD_ALLOW_SEALING: never sealable
    fb = os.memfd_create("rl-attack-buffers", flags)
    os.ftruncate(fa, A_SIZE)
    os.ftruncate(fb, B_SIZE)
    ma = mmap.mmap(fa, A_SIZE)
    mb = mmap.mmap(fb, B_SIZE)

    frame = bytes([0xff] * 6 + [0x02, 0, 0, 0, 0, 0x01] + [0x08, 0x00]) + bytes(PKT - 14)
    for i in range(QS):
        off = TX_BUF + i * 2048
        mb[off:off + HDR + PKT] = bytes(HDR) + frame

    def desc(q, i, addr, length, flags):
        d = RING[q][0] + 16 * i
        ma[d:d + 16] = struct.pack("<QIHH", addr, length, flags, 0)

    def avail_put(q, idx, head):
        av = RING[q][1]
        struct.pack_into("<H", ma, av + 4 + 2 * (idx % QS), head)

    def avail_idx(q, idx):
        struct.pack_into("<H", ma, RING[q][1] + 2, idx & 0xffff)

    def used_idx(q):
        return struct.unpack_from("<H", ma, RING[q][2] + 2)[0]

    def used_id(q, idx):
        return struct.unpack_from("<I", ma, RING[q][2] + 4 + 8 * (idx % QS))[0]

    for i in range(QS):
        desc(1, i, B_GPA + TX_BUF + i * 2048, HDR + PKT, 0)
        desc(0, i, B_GPA + RX_BUF + i * 2048, 2048, 2)  # VIRTQ_DESC_F_WRITE

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + 10
    while True:
        try:
            s.connect(a.socket)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)

    send(s, SET_OWNER)
    send(s, GET_FEATURES)
    offered = struct.unpack("<Q", recv_reply(s, GET_FEATURES))[0]
    if not offered & VERSION_1:
        sys.exit("back-end does not offer VERSION_1")
    send(s, SET_FEATURES, struct.pack("<Q", VERSION_1))
    regions = struct.pack("<QQQQ", A_GPA, A_SIZE, A_UADDR, 0) + struct.pack("<QQQQ", B_GPA, B_SIZE, B_UADDR, 0)
    send(s, SET_MEM_TABLE, struct.pack("<II", 2, 0) + regions, [fa, fb])

    kicks, calls = {}, {}
    rx_on = a.target in ("rx", "both")
    tx_on = a.target in ("tx", "both")
    # RX buffers available from the start; TX chains offered in the loop below.
    if rx_on:
        for i in range(QS):
            avail_put(0, i, i)
        avail_idx(0, QS)
    for q in (0, 1):
        d, av, u = RING[q]
        send(s, SET_VRING_NUM, struct.pack("<II", q, QS))
        send(s, SET_VRING_ADDR, struct.pack("<IIQQQQ", q, 0, A_UADDR + d, A_UADDR + u, A_UADDR + av, 0))
        send(s, SET_VRING_BASE, struct.pack("<II", q, 0))
        calls[q] = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        send(s, SET_VRING_CALL, struct.pack("<Q", q), [calls[q]])
        kicks[q] = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        send(s, SET_VRING_KICK, struct.pack("<Q", q), [kicks[q]])

    s.setblocking(False)
    rx_avail = QS if rx_on else 0
    tx_avail = 0
    tx_seen = rx_seen = 0
    truncated = False
    truncated_at = None
    refused = None
    closed = False
    done = 0
    end = time.monotonic() + a.seconds
    if tx_on:
        for i in range(QS // 2):
            avail_put(1, tx_avail, i)
            tx_avail += 1
        avail_idx(1, tx_avail)
        os.eventfd_write(kicks[1], 1)
    while time.monotonic() < end:
        # The back-end closing the connection is the verdict we wait for.
        r, _, _ = select.select([s], [], [], 0.002)
        if r:
            try:
                data = s.recv(4096)
            except BlockingIOError:
                data = b"x"
            if not data:
                closed = True
                break
        # Recycle completed TX chains (ids straight back to the avail ring) and RX buffers.
        if tx_on:
            u = used_idx(1)
            while tx_seen != u:
                avail_put(1, tx_avail, used_id(1, tx_seen) % QS)
                tx_avail += 1
                tx_seen = (tx_seen + 1) & 0xffff
            avail_idx(1, tx_avail)
            os.eventfd_write(kicks[1], 1)
        if rx_on:
            u = used_idx(0)
            while rx_seen != u:
                avail_put(0, rx_avail, used_id(0, rx_seen) % QS)
                rx_avail += 1
                rx_seen = (rx_seen + 1) & 0xffff
            avail_idx(0, rx_avail)
        done = (tx_avail if tx_on else 0) + (rx_avail if rx_on else 0)
        if not truncated and refused is None and done >= a.after:
            # The attack: the packet buffers shrink to nothing under running rings. From here on
            # we never touch region B ourselves (our own mapping of it would fault too).
            try:
                os.ftruncate(fb, 0)
                truncated = True
                truncated_at = {"tx": tx_avail, "rx": rx_avail}
            except PermissionError as e:
                refused = {"errno": "EPERM", "seals": fcntl.fcntl(fb, F_GET_SEALS), "at": done}
        if refused is not None and done >= 2 * refused["at"]:
            break  # the seal held and traffic went on as long again: enough
    print(json.dumps({"tx_used": tx_avail, "rx_used": rx_avail, "truncated": truncated,
                      "truncated_at": truncated_at, "refused": refused, "closed": closed}), flush=True)
    if a.sealable:
        sys.exit(0 if refused is not None and not truncated and not closed and done >= 2 * refused["at"] else 1)
    sys.exit(0 if truncated and closed else 1)


if __name__ == "__main__":
    main()
