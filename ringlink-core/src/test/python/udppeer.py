#!/usr/bin/env python3
"""A plain-socket UDP peer for ringlink.udp tests (stdlib only; someone other than Ringlink's
Java code builds and parses the datagrams).

Datagram k of a test: 4 bytes k (big-endian), 2 bytes its length, then byte j = (k*31 + j) & 0xff.

  udppeer.py sink ADDR COUNT [gro]      bind ADDR:0, print "port P", receive COUNT datagrams
                                        (with UDP_GRO: split runs by the cmsg segment size),
                                        check every byte, print "ok COUNT gro=RUNS sizes=..." or "bad ..."
  udppeer.py source ADDR PORT SPEC      send datagrams to ADDR:PORT from a fresh socket; SPEC is
                                        a comma list of LEN or LENxN (N equal datagrams sent as one
                                        UDP_SEGMENT sendmsg), print "sent COUNT" and the source port
"""
import socket
import struct
import sys

SOL_UDP = 17
UDP_SEGMENT = 103
UDP_GRO = 104


def family(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def payload(k, n):
    head = struct.pack('>IH', k, n)[:n]
    return head + bytes(((k * 31 + j) & 0xff) for j in range(len(head), n))


def check(d):
    if len(d) < 6:
        return None, 'short datagram of %d bytes' % len(d)
    k, n = struct.unpack('>IH', d[:6])
    if n != len(d):
        return k, 'datagram %d: length %d, header says %d' % (k, len(d), n)
    if d != payload(k, n):
        return k, 'datagram %d: bytes differ' % k
    return k, None


def sink(addr, count, gro):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    if gro:
        s.setsockopt(SOL_UDP, UDP_GRO, 1)
    s.bind((addr, 0))
    print('port %d' % s.getsockname()[1], flush=True)
    s.settimeout(20)
    seen = set()
    runs = 0
    sizes = []
    try:
        while len(seen) < count:
            data, anc, flags, src = s.recvmsg(65536, socket.CMSG_SPACE(4))
            seg = len(data)
            for level, typ, val in anc:
                if level == SOL_UDP and typ == UDP_GRO:
                    seg = struct.unpack('=i', val[:4])[0]
            if seg < len(data):
                runs += 1
                sizes.append(seg)
            for off in range(0, max(len(data), 1), max(seg, 1)):
                k, err = check(data[off:off + seg])
                if err:
                    print('bad ' + err, flush=True)
                    return 1
                if k in seen:
                    print('bad duplicate datagram %d' % k, flush=True)
                    return 1
                seen.add(k)
    except socket.timeout:
        print('bad timeout after %d of %d datagrams' % (len(seen), count), flush=True)
        return 1
    print('ok %d gro=%d sizes=%s' % (len(seen), runs, ','.join(map(str, sorted(set(sizes))))), flush=True)
    return 0


def source(addr, port, spec):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.bind((addr, 0))
    print('port %d' % s.getsockname()[1], flush=True)
    k = 0
    for part in spec.split(','):
        if 'x' in part:
            n, reps = map(int, part.split('x'))
            data = b''.join(payload(k + r, n) for r in range(reps))
            s.sendmsg([data], [(SOL_UDP, UDP_SEGMENT, struct.pack('=H', n))], 0, (addr, port))
            k += reps
        else:
            s.sendto(payload(k, int(part)), (addr, port))
            k += 1
    print('sent %d' % k, flush=True)
    return 0


if __name__ == '__main__':
    if sys.argv[1] == 'sink':
        sys.exit(sink(sys.argv[2], int(sys.argv[3]), len(sys.argv) > 4 and sys.argv[4] == 'gro'))
    sys.exit(source(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
