#!/usr/bin/env python3
"""Receives COUNT tunnel datagrams on ADDR (port chosen by the kernel, printed first as "port P")
and prints, per datagram, its outer UDP source port and the inner TCP source port (VXLAN or
Geneve without options + Ethernet + IPv4: the TCP header at offset 8 + 14 + 20). Stdlib only.

  tunnelsink.py ADDR COUNT
"""
import socket
import struct
import sys

addr, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, 0))
print('port %d' % s.getsockname()[1], flush=True)
s.settimeout(20)
for _ in range(count):
    data, src = s.recvfrom(65536)
    inner_sport = struct.unpack('>H', data[42:44])[0]
    print('%d %d' % (src[1], inner_sport), flush=True)
