#!/usr/bin/env python3
"""Kernel-side peer of PacketLinkTest: an AF_PACKET socket of its own (not mmap'ed) that sends or
counts frames of the test's EtherType, so the link is checked against the kernel's own socket path.

  rawpeer.py send IFACE DSTMAC N    sends N frames "RLAPK" + 4-byte sequence number
  rawpeer.py recv IFACE N SECONDS   prints "count=C seqs_ok=B" once N frames arrived or SECONDS passed
"""
import socket
import struct
import sys
import time

ETHERTYPE = 0x88B5  # IEEE local experimental


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def main():
    mode, iface = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
    s.bind((iface, ETHERTYPE))
    # A burst from the ring outruns this loop: a receive buffer that holds all of it (root may force
    # past rmem_max) keeps the count exact instead of measuring Python's speed.
    SO_RCVBUFFORCE = 33
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    src = s.getsockname()[4]
    if mode == "send":
        dst, n = mac_bytes(sys.argv[3]), int(sys.argv[4])
        for i in range(n):
            frame = dst + src + struct.pack("!H", ETHERTYPE) + b"RLAPK" + struct.pack("!I", i)
            frame += b"\0" * (60 - len(frame))
            while True:
                try:
                    s.send(frame)
                    break
                except BlockingIOError:
                    time.sleep(0.001)
        print("sent=%d" % n, flush=True)
    elif mode == "recv":
        n, seconds = int(sys.argv[3]), float(sys.argv[4])
        print("ready", flush=True)
        s.settimeout(0.2)
        deadline = time.time() + seconds
        count, expect, ok = 0, 0, True
        while count < n and time.time() < deadline:
            try:
                data, addr = s.recvfrom(65536)
            except socket.timeout:
                continue
            if addr[2] == socket.PACKET_OUTGOING or data[14:19] != b"RLAPK":
                continue
            seq = struct.unpack("!I", data[19:23])[0]
            ok = ok and seq == expect
            expect = seq + 1
            count += 1
        print("count=%d seqs_ok=%s" % (count, ok), flush=True)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
