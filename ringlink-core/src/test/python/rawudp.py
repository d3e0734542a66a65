#!/usr/bin/env python3
"""Sends hand-made datagrams (hex on the command line) to ADDR PORT from a fresh socket: the
hostile-encapsulation peer of the tunnel tests (stdlib only).

  rawudp.py ADDR PORT HEX [HEX ...]
"""
import socket
import sys

addr, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_DGRAM)
for h in sys.argv[3:]:
    s.sendto(bytes.fromhex(h), (addr, port))
print('sent %d' % (len(sys.argv) - 3), flush=True)
