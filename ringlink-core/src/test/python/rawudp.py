#!/usr/bin/env python3
"""Sends hand-made datagrams (hex on the command line) to ADDR PORT from a fresh socket: the
hostile-encapsulation peer of the tunnel tests (stdlib only).

  rawudp.py [--gso] ADDR PORT HEX [HEX ...]

With --gso all datagrams leave as ONE send with UDP_SEGMENT set to the first one's length
(every datagram that length, the last possibly shorter), so a UDP_GRO receiver on loopback gets
them as one coalesced run: the hostile datagrams sit inside the run.
"""
import socket
import sys

args = sys.argv[1:]
gso = args and args[0] == '--gso'
if gso:
    args = args[1:]
addr, port = args[0], int(args[1])
grams = [bytes.fromhex(h) for h in args[2:]]
s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_DGRAM)
if gso:
    seg = len(grams[0])
    for g in grams[:-1]:
        if len(g) != seg:
            sys.exit('--gso: datagram of %d bytes in a run of %d' % (len(g), seg))
    if len(grams[-1]) > seg:
        sys.exit('--gso: the last datagram is longer than the run\'s size')
    UDP_SEGMENT = 103  # linux/udp.h
    s.setsockopt(socket.IPPROTO_UDP, UDP_SEGMENT, seg)
    s.sendto(b''.join(grams), (addr, port))
else:
    for g in grams:
        s.sendto(g, (addr, port))
print('sent %d' % len(grams), flush=True)
