#!/usr/bin/env python3
"""A vhost-user front-end (the driver side) for Ringlink's hostile-peer test: Python 3, stdlib only.

It connects to a vhost-user back-end listening on a Unix socket and either runs a *valid* session
(features, protocol features, one memfd as guest memory, split rings with eventfds, real packets
both ways) or one of the attacks below. Written against QEMU's docs/interop/vhost-user.rst and the
virtio 1.2 split ring, not against Ringlink's code: it is the other-language peer of issue #15.

    vhost_user_frontend.py --socket PATH --attack NAME [--hold S] [--seed N] [--mac M] [--ip A]
                           [--peer-ip A] [--spoof-mac M] [--count N] [--timeout S]

Attacks (``--attack``): valid, blocking-eventfds, call-preload, pipe-fds, file-fds, huge-rings,
zero-length, truncate-mem, inflight-running, bad-offload, mac-flood, vlan-hop, silent, fuzz.

Output: lines "INFO ..." while it works, one "RESULT ..." line at the end. Exit status 0 when the
session (valid) worked or the attack was delivered, 1 when a valid session failed (the message
says why), 2 on a usage error. A back-end that closes the connection during an attack is the
expected outcome of most attacks, not an error.
"""

import argparse
import mmap
import os
import random
import select
import socket
import struct
import sys
import tempfile
import time

# ---------------------------------------------------------------- protocol constants (vhost-user.rst)

GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE = 15, 16, 17, 18
GET_INFLIGHT_FD, SET_INFLIGHT_FD = 31, 32

FLAG_VERSION, FLAG_REPLY, FLAG_NEED_REPLY = 0x1, 0x4, 0x8

F_CSUM, F_GUEST_CSUM, F_GUEST_TSO4, F_HOST_TSO4, F_HOST_TSO6 = 0, 1, 7, 11, 12
F_MRG_RXBUF, F_INDIRECT_DESC, F_EVENT_IDX, F_PROTOCOL_FEATURES, F_VERSION_1 = 15, 28, 29, 30, 32
PF_MQ, PF_REPLY_ACK, PF_INFLIGHT_SHMFD = 0, 3, 12

DESC_F_NEXT, DESC_F_WRITE, DESC_F_INDIRECT = 1, 2, 4
HDR_F_NEEDS_CSUM, HDR_F_DATA_VALID = 1, 2
GSO_NONE, GSO_TCPV4, GSO_UDP, GSO_TCPV6 = 0, 1, 3, 4

RXQ, TXQ = 0, 1
NET_HDR = 12  # VERSION_1: the header always has num_buffers
UVA_BASE = 0x7f12_0000_0000  # our "process address" of guest memory; only the back-end's translation uses it

ATTACKS = ["valid", "blocking-eventfds", "call-preload", "pipe-fds", "file-fds", "huge-rings", "zero-length",
           "truncate-mem", "inflight-running", "bad-offload", "mac-flood", "vlan-hop", "silent", "fuzz"]


def bit(n):
    return 1 << n


def sock_alive(s):
    """False once the peer closed (or reset) the connection; never waits."""
    try:
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            return True
        return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return False


def info(msg):
    print("INFO " + msg, flush=True)


class PeerGone(Exception):
    """The back-end closed the connection (the expected end of most attacks)."""


# ---------------------------------------------------------------- frames

def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip_bytes(s):
    return socket.inet_aton(s)


def ipv4_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def arp_request(src_mac, src_ip, target_ip):
    eth = b"\xff" * 6 + src_mac + b"\x08\x06"
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + src_mac + src_ip + b"\0" * 6 + target_ip
    return eth + arp + b"\0" * 18


def ipv4_packet(src_ip, dst_ip, proto, l4, ident=0):
    total = 20 + len(l4)
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total & 0xFFFF, ident & 0xFFFF, 0x4000, 64, proto, 0, src_ip, dst_ip)
    h = h[:10] + struct.pack("!H", ipv4_checksum(h)) + h[12:]
    return h + l4


def udp_frame(dst_mac, src_mac, src_ip, dst_ip, payload, sport=40000, dport=9):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return dst_mac + src_mac + b"\x08\x00" + ipv4_packet(src_ip, dst_ip, 17, udp)


def tcp_frame(dst_mac, src_mac, src_ip, dst_ip, payload_len):
    tcp = struct.pack("!HHIIBBHHH", 40001, 5001, 1, 0, 5 << 4, 0x18, 65535, 0, 0) + bytes(payload_len)
    return dst_mac + src_mac + b"\x08\x00" + ipv4_packet(src_ip, dst_ip, 6, tcp)


def net_hdr(flags=0, gso_type=GSO_NONE, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0, num_buffers=0):
    return struct.pack("<BBHHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers)


# ---------------------------------------------------------------- the socket

class Conn:
    def __init__(self, path, timeout):
        self.path = path
        deadline = time.monotonic() + timeout
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                break
            except OSError as e:
                s.close()
                if time.monotonic() > deadline:
                    raise RuntimeError("cannot connect to %s: %s" % (path, e))
                time.sleep(0.05)
        s.settimeout(timeout)
        self.s = s

    def send_raw(self, data, fds=()):
        try:
            if fds:
                socket.send_fds(self.s, [data], list(fds))
            else:
                self.s.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise PeerGone(str(e))

    def send(self, req, payload=b"", fds=(), flags=FLAG_VERSION):
        self.send_raw(struct.pack("<III", req, flags, len(payload)) + payload, fds)

    def _recv_exact(self, n, want_fds):
        data, fds = b"", []
        while len(data) < n:
            try:
                chunk, got, _, _ = socket.recv_fds(self.s, n - len(data), want_fds)
            except (ConnectionResetError, socket.timeout) as e:
                raise PeerGone("no reply: %s" % e)
            fds += got
            if not chunk:
                raise PeerGone("the back-end closed the connection")
            data += chunk
        return data, fds

    def request(self, req, payload=b"", fds=()):
        """Sends a request that has a reply and returns (payload, fds)."""
        self.send(req, payload, fds)
        hdr, fds = self._recv_exact(12, 8)
        code, flags, size = struct.unpack("<III", hdr)
        if code != req or not flags & FLAG_REPLY:
            raise RuntimeError("reply to %d has request %d flags 0x%x" % (req, code, flags))
        body, more = self._recv_exact(size, 8) if size else (b"", [])
        return body, fds + more

    def u64(self, req, value):
        self.send(req, struct.pack("<Q", value))

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


# ---------------------------------------------------------------- guest memory and split rings

class Mem:
    def __init__(self, size):
        self.size = size
        self.fd = os.memfd_create("rl-hostile-guest", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, size)
        self.mm = mmap.mmap(self.fd, size)
        # Ring indexes are read and written by the back-end at the same time: struct.pack_into
        # stores byte by byte (a torn avail.idx looks like a jump), a 'H' view stores 16 bits at once.
        self.u16s = memoryview(self.mm).cast("H")
        self.next = 0x1000
        self.dead = False  # set after we shrink the file: touching it would SIGBUS us too

    def alloc(self, size, align=4096):
        at = (self.next + align - 1) & ~(align - 1)
        if at + size > self.size:
            raise RuntimeError("guest memory of %d bytes is full" % self.size)
        self.next = at + size
        return at

    def put(self, off, data):
        self.mm[off:off + len(data)] = data

    def get(self, off, n):
        return bytes(self.mm[off:off + n])

    def u16(self, off):
        return self.u16s[off >> 1]  # off is even: every ring field we touch is 2-aligned

    def set_u16(self, off, v):
        self.u16s[off >> 1] = v & 0xFFFF

    def region(self):
        # u32 nregions, u32 padding, {u64 guest_phys_addr, u64 memory_size, u64 userspace_addr, u64 mmap_offset}
        return struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, self.size, UVA_BASE, 0)


class Ring:
    def __init__(self, mem, index, num):
        self.mem, self.index, self.num = mem, index, num
        self.desc = mem.alloc(16 * num, 4096)
        self.avail = mem.alloc(6 + 2 * num, 2)
        self.used = mem.alloc(6 + 8 * num, 4096)
        self.avail_idx = 0
        self.last_used = 0

    def set_desc(self, i, addr, length, flags=0, nxt=0):
        struct.pack_into("<QIHH", self.mem.mm, self.desc + 16 * i, addr, length, flags, nxt)

    def offer(self, head):
        self.mem.set_u16(self.avail + 4 + 2 * (self.avail_idx % self.num), head)
        self.avail_idx = (self.avail_idx + 1) & 0xFFFF

    def publish(self):
        self.mem.set_u16(self.avail + 2, self.avail_idx)

    def used_entries(self):
        """Yields (id, len) of every used entry since the last call."""
        idx = self.mem.u16(self.used + 2)
        while self.last_used != idx:
            slot = self.used + 4 + 8 * (self.last_used % self.num)
            i, n = struct.unpack_from("<II", self.mem.mm, slot)
            self.last_used = (self.last_used + 1) & 0xFFFF
            yield i, n


def eventfd(blocking=False, initial=0):
    return os.eventfd(initial, os.EFD_CLOEXEC | (0 if blocking else os.EFD_NONBLOCK))


# ---------------------------------------------------------------- a session

class Session:
    """One front-end connection with guest memory and the RX/TX rings of queue pair 0."""

    def __init__(self, args, want=0, want_protocol=0, num=256, mem_size=4 << 20, buffers=64):
        self.args = args
        self.conn = Conn(args.socket, args.timeout)
        self.want, self.want_protocol = want, want_protocol
        self.num = num
        self.mem = Mem(mem_size)
        self.rings = [Ring(self.mem, RXQ, num), Ring(self.mem, TXQ, num)]
        self.nbuf = min(buffers, num)
        self.rx_buf = [self.mem.alloc(2048, 64) for _ in range(self.nbuf)]
        self.tx_buf = [self.mem.alloc(2048, 64) for _ in range(self.nbuf)]
        self.tx_free = list(range(self.nbuf))
        self.kick = [None, None]
        self.call = [None, None]
        self.features = 0
        self.protocol = 0
        self.sent = self.completed = self.received = 0
        self.arp_replies = 0
        self.mac = mac_bytes(args.mac)
        self.ip = ip_bytes(args.ip)
        self.peer_ip = ip_bytes(args.peer_ip)

    def negotiate(self):
        c = self.conn
        body, _ = c.request(GET_FEATURES)
        offered = struct.unpack("<Q", body[:8])[0]
        need = bit(F_VERSION_1)
        if offered & need != need:
            raise RuntimeError("back-end does not offer VERSION_1 (0x%x)" % offered)
        c.send(SET_OWNER)
        if offered & bit(F_PROTOCOL_FEATURES):
            body, _ = c.request(GET_PROTOCOL_FEATURES)
            self.protocol = struct.unpack("<Q", body[:8])[0] & self.want_protocol
            c.u64(SET_PROTOCOL_FEATURES, self.protocol)
        self.features = offered & (self.want | need | bit(F_PROTOCOL_FEATURES))
        c.u64(SET_FEATURES, self.features)
        c.send(SET_MEM_TABLE, self.mem.region(), [self.mem.fd])
        info("negotiated features 0x%x protocol 0x%x" % (self.features, self.protocol))

    def setup_ring(self, q, kick=None, call=None):
        """Sends NUM/ADDR/BASE/CALL/KICK (the kick starts the ring) and ENABLE for ring q."""
        c, r = self.conn, self.rings[q]
        c.send(SET_VRING_NUM, struct.pack("<II", q, r.num))
        c.send(SET_VRING_ADDR, struct.pack("<IIQQQQ", q, 0, UVA_BASE + r.desc, UVA_BASE + r.used,
                                           UVA_BASE + r.avail, 0))
        c.send(SET_VRING_BASE, struct.pack("<II", q, 0))
        self.call[q] = call if call is not None else eventfd()
        self.kick[q] = kick if kick is not None else eventfd()
        c.send(SET_VRING_CALL, struct.pack("<Q", q), [self.call[q]])
        c.send(SET_VRING_KICK, struct.pack("<Q", q), [self.kick[q]])
        if self.features & bit(F_PROTOCOL_FEATURES):
            c.send(SET_VRING_ENABLE, struct.pack("<II", q, 1))

    def start(self, **fds):
        self.negotiate()
        self.setup_ring(RXQ, fds.get("rx_kick"), fds.get("rx_call"))
        self.setup_ring(TXQ, fds.get("tx_kick"), fds.get("tx_call"))
        # A request with a reply is a barrier: the back-end handles messages in order, so once it
        # answers, both rings are started and enabled (a driver sends nothing before DRIVER_OK).
        self.conn.request(GET_FEATURES)
        self.post_rx_all()

    def notify(self, q):
        try:
            os.eventfd_write(self.kick[q], 1)
        except OSError:
            pass

    def post_rx_all(self):
        r = self.rings[RXQ]
        for i, addr in enumerate(self.rx_buf):
            r.set_desc(i, addr, 2048, DESC_F_WRITE)
            r.offer(i)
        r.publish()
        self.notify(RXQ)

    def send_frame(self, frame, hdr=None, kick=True):
        """Puts one packet (header + frame in one descriptor) on the TX ring; False if no slot is free."""
        self.reap()
        if not self.tx_free:
            return False
        i = self.tx_free.pop()
        data = (hdr if hdr is not None else net_hdr()) + frame
        if len(data) > 2048:
            raise ValueError("frame too long for one buffer")
        self.mem.put(self.tx_buf[i], data)
        r = self.rings[TXQ]
        r.set_desc(i, self.tx_buf[i], len(data), 0)
        r.offer(i)
        r.publish()
        self.sent += 1
        if kick:
            self.notify(TXQ)
        return True

    def reap(self):
        """Takes back TX buffers the back-end used and reads/reposts RX buffers it filled."""
        for i, _ in self.rings[TXQ].used_entries():
            if 0 <= i < self.nbuf and i not in self.tx_free:
                self.tx_free.append(i)
                self.completed += 1
        r = self.rings[RXQ]
        got = False
        for i, n in r.used_entries():
            if not 0 <= i < self.nbuf:
                continue
            self.received += 1
            frame = self.mem.get(self.rx_buf[i] + NET_HDR, max(0, min(n, 2048) - NET_HDR))
            if len(frame) >= 42 and frame[12:14] == b"\x08\x06" and frame[20:22] == b"\x00\x02" \
                    and frame[38:42] == self.ip:
                self.arp_replies += 1
            r.set_desc(i, self.rx_buf[i], 2048, DESC_F_WRITE)
            r.offer(i)
            got = True
        if got:
            r.publish()
            self.notify(RXQ)

    def pump(self, seconds, every=0.05):
        """Real traffic: an ARP request for the peer and a broadcast UDP frame every `every` s."""
        end = time.monotonic() + seconds
        nxt = 0.0
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= nxt:
                self.send_frame(arp_request(self.mac, self.ip, self.peer_ip))
                self.send_frame(udp_frame(b"\xff" * 6, self.mac, self.ip, b"\xff\xff\xff\xff", b"ringlink-hostile"))
                nxt = now + every
            self.reap()
            time.sleep(0.002)

    def alive(self):
        """False once the back-end closed our connection."""
        return sock_alive(self.conn.s)

    def close(self):
        self.conn.close()


def hold(sess, seconds, pump=False):
    """Keeps the connection (and everything it holds) for `seconds`, optionally with traffic."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if sess is not None and not sess.alive():
            info("the back-end closed the connection")
            return False
        if pump and sess is not None and not sess.mem.dead:
            sess.pump(0.2)
        else:
            time.sleep(0.1)
    return True


# ---------------------------------------------------------------- the valid session

def valid(args):
    s = Session(args, want=bit(F_MRG_RXBUF))
    s.start()
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        s.pump(0.3)
        if s.arp_replies > 0 and s.completed >= 4:
            break
        if not s.alive():
            raise RuntimeError("the back-end closed the valid session")
    ok = s.arp_replies > 0 and s.completed >= 4
    print("RESULT %s sent=%d completed=%d received=%d arp_replies=%d"
          % ("ok" if ok else "fail", s.sent, s.completed, s.received, s.arp_replies), flush=True)
    s.close()
    if not ok:
        raise RuntimeError("valid session: no ARP reply for %s within %d s (sent %d, completed %d, received %d)"
                           % (args.peer_ip, args.timeout, s.sent, s.completed, s.received))


# ---------------------------------------------------------------- attacks

def attack_blocking_eventfds(args):
    # Kick and call eventfds without EFD_NONBLOCK; the kick is never written. A back-end that reads
    # the kick after any wake-up (or waits on it) blocks the thread that serves it.
    s = Session(args)
    kicks = dict(rx_kick=eventfd(blocking=True), tx_kick=eventfd(blocking=True),
                 rx_call=eventfd(blocking=True), tx_call=eventfd(blocking=True))
    s.notify = lambda q: None  # never kick
    s.start(**kicks)
    for _ in range(16):
        s.send_frame(arp_request(s.mac, s.ip, s.peer_ip), kick=False)
    return s


def attack_call_preload(args):
    # The call counter one below its maximum, blocking: the back-end's first signal (write 1) would
    # overflow it, so a blocking write(2) waits until we read, which we never do.
    s = Session(args)
    calls = dict(rx_call=eventfd(blocking=True, initial=0), tx_call=eventfd(blocking=True, initial=0))
    for fd in calls.values():
        os.eventfd_write(fd, 0xfffffffffffffffe)
    s.start(**calls)
    for _ in range(16):
        s.send_frame(arp_request(s.mac, s.ip, s.peer_ip))
    return s


def attack_pipe_fds(args):
    # Pipes instead of eventfds: the kick is a pipe's read end (a wake-up then read(2) of 8 bytes
    # blocks), the call a pipe's write end that we filled (a blocking write waits forever).
    s = Session(args)
    kr, kw = os.pipe()
    cr, cw = os.pipe()
    os.set_blocking(cw, False)
    try:
        while True:
            os.write(cw, b"\0" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(cw, True)
    s.keep = (kw, cr)
    s.start(rx_kick=kr, tx_kick=kr, rx_call=cw, tx_call=cw)
    s.notify = lambda q: os.write(kw, b"k")  # one byte: readable, but not the 8 an eventfd read takes
    for _ in range(16):
        s.send_frame(arp_request(s.mac, s.ip, s.peer_ip))
    return s


def attack_file_fds(args):
    # A regular file as kick and call (epoll refuses regular files; read returns 0 forever).
    s = Session(args)
    f = tempfile.TemporaryFile()
    f.write(b"\0" * 64)
    f.flush()
    fd = f.fileno()
    s.keep = f
    s.start(rx_kick=fd, tx_kick=fd, rx_call=fd, tx_call=fd)
    for _ in range(16):
        s.send_frame(arp_request(s.mac, s.ip, s.peer_ip))
    return s


def attack_huge_rings(args):
    # SET_VRING_NUM 32768 with INDIRECT_DESC and MRG_RXBUF; every avail entry is an indirect chain of
    # 32768 descriptors: RX chains of zero-length writable buffers (they add no bytes, so a receive
    # that gathers until the packet fits keeps popping), TX chains of 1-byte segments.
    n = 32768
    s = Session(args, want=bit(F_INDIRECT_DESC) | bit(F_MRG_RXBUF), num=n, mem_size=16 << 20, buffers=64)
    s.negotiate()
    if not s.features & bit(F_INDIRECT_DESC):
        raise RuntimeError("INDIRECT_DESC not offered")
    mem = s.mem
    rx_table = mem.alloc(16 * n, 4096)
    tx_table = mem.alloc(16 * n, 4096)
    data = mem.alloc(n, 4096)
    mem.put(data, bytes(n))
    rx_entries = b"".join(struct.pack("<QIHH", data, 0, DESC_F_WRITE, 0) for _ in range(n))
    mem.put(rx_table, rx_entries)
    mem.put(tx_table, b"".join(struct.pack("<QIHH", data + i, 1, 0, 0) for i in range(n)))
    rx, tx = s.rings
    rx_desc = struct.pack("<QIHH", rx_table, 16 * n, DESC_F_INDIRECT, 0) * n
    tx_desc = struct.pack("<QIHH", tx_table, 16 * n, DESC_F_INDIRECT, 0) * n
    mem.put(rx.desc, rx_desc)
    mem.put(tx.desc, tx_desc)
    ring = struct.pack("<%dH" % n, *range(n))
    mem.put(rx.avail + 4, ring)
    mem.put(tx.avail + 4, ring)
    rx.avail_idx = tx.avail_idx = n & 0xFFFF
    s.setup_ring(RXQ)
    s.setup_ring(TXQ)
    # avail.idx is a free-running u16: a full ring of 32768 is idx 32768.
    mem.set_u16(rx.avail + 2, n)
    mem.set_u16(tx.avail + 2, n)
    s.notify(RXQ)
    s.notify(TXQ)
    s.reap = lambda: None  # the rings are not ours to recycle
    info("offered %d indirect chains of %d descriptors on both rings" % (n, n))
    return s


def attack_zero_length(args):
    # Chains whose descriptors are all zero bytes long: TX packets of 0 bytes (also chained), RX
    # buffers with no room at all.
    s = Session(args)
    s.negotiate()
    rx, tx = s.rings
    s.setup_ring(RXQ)
    s.setup_ring(TXQ)
    for i in range(s.nbuf):
        rx.set_desc(i, s.rx_buf[i], 0, DESC_F_WRITE)
        rx.offer(i)
    rx.publish()
    n = s.nbuf
    for i in range(0, n - 1, 2):
        tx.set_desc(i, s.tx_buf[i], 0, DESC_F_NEXT, i + 1)  # two-segment chain, 0 + 0 bytes
        tx.set_desc(i + 1, s.tx_buf[i + 1], 0, 0)
        tx.offer(i)
    tx.publish()
    s.notify(RXQ)
    s.notify(TXQ)
    s.reap = lambda: None
    return s


def attack_truncate_mem(args):
    # Real traffic, then the guest memory file shrinks to nothing under the running rings.
    s = Session(args, want=bit(F_MRG_RXBUF))
    s.start()
    s.pump(1.0)
    info("traffic before truncation: sent %d completed %d received %d" % (s.sent, s.completed, s.received))
    os.ftruncate(s.mem.fd, 0)
    s.mem.dead = True
    # Keep kicking so the back-end touches the (now missing) rings.
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        s.notify(RXQ)
        s.notify(TXQ)
        time.sleep(0.01)
    return s


def attack_inflight_running(args):
    # INFLIGHT_SHMFD: a valid inflight buffer first, then, while both rings run, GET_INFLIGHT_FD
    # again for queues of 2 entries (our rings have 256).
    s = Session(args, want_protocol=bit(PF_INFLIGHT_SHMFD))
    s.negotiate()
    if not s.protocol & bit(PF_INFLIGHT_SHMFD):
        raise RuntimeError("INFLIGHT_SHMFD not offered")
    _, fds = s.conn.request(GET_INFLIGHT_FD, struct.pack("<QQHHI", 0, 0, 2, s.num, 0))
    if fds:
        s.conn.send(SET_INFLIGHT_FD, struct.pack("<QQHHI", os.fstat(fds[0]).st_size, 0, 2, s.num, 0), [fds[0]])
        for f in fds:
            os.close(f)
    s.setup_ring(RXQ)
    s.setup_ring(TXQ)
    s.post_rx_all()
    s.pump(1.0)
    try:
        body, fds = s.conn.request(GET_INFLIGHT_FD, struct.pack("<QQHHI", 0, 0, 2, 2, 0))
        info("GET_INFLIGHT_FD on running rings answered (%d bytes, %d fds)" % (len(body), len(fds)))
        for f in fds:
            os.close(f)
    except PeerGone as e:
        info("GET_INFLIGHT_FD on running rings: %s" % e)
        return s
    return s


def attack_bad_offload(args):
    # Offload metadata no driver may send: GSO with gso_size 0, gso_size 1 on a 64 KiB superpacket,
    # hdr_len and csum_start beyond the packet, DATA_VALID (a device-only flag), unknown flags.
    s = Session(args, want=bit(F_CSUM) | bit(F_HOST_TSO4) | bit(F_HOST_TSO6), mem_size=8 << 20)
    s.start()
    if not s.features & bit(F_HOST_TSO4):
        raise RuntimeError("HOST_TSO4 not offered")
    unknown = b"\x02\x00\x00\x00\x00\x99"  # unicast nobody has: flooded to every other port
    small = tcp_frame(unknown, s.mac, s.ip, s.peer_ip, 3000 - 54)[:1500]
    big = tcp_frame(unknown, s.mac, s.ip, s.peer_ip, 65535 - 40)  # a 64 KiB IPv4 superpacket
    # The superpacket goes in one 64 KiB + header descriptor outside the TX buffer pool.
    big_at = s.mem.alloc(NET_HDR + len(big), 4096)
    cases = [
        ("gso_size 0", net_hdr(HDR_F_NEEDS_CSUM, GSO_TCPV4, 54, 0, 34, 16), small),
        ("hdr_len beyond the packet", net_hdr(HDR_F_NEEDS_CSUM, GSO_TCPV4, 60000, 1000, 34, 16), small),
        ("csum_start beyond the packet", net_hdr(HDR_F_NEEDS_CSUM, 0, 0, 0, 5000, 16), small),
        ("csum_offset beyond the packet", net_hdr(HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 4000), small),
        ("DATA_VALID from the driver", net_hdr(HDR_F_DATA_VALID), small),
        ("unknown flags", net_hdr(0x80 | HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 16), small),
        ("unknown gso type", net_hdr(0, 0x42, 54, 100), small),
    ]
    end = time.monotonic() + args.hold
    rounds = 0
    while time.monotonic() < end and s.alive():
        for name, hdr, frame in cases:
            s.send_frame(frame, hdr)
        # gso_size 1 on 64 KiB: ~65k segments if anyone segments it in software.
        s.reap()
        if s.tx_free:
            i = s.tx_free.pop()
            s.mem.put(big_at, net_hdr(HDR_F_NEEDS_CSUM, GSO_TCPV4, 54, 1, 34, 16) + big)
            tx = s.rings[TXQ]
            tx.set_desc(i, big_at, NET_HDR + len(big), 0)
            tx.offer(i)
            tx.publish()
            s.sent += 1
            s.notify(TXQ)
        rounds += 1
        time.sleep(0.05)
    info("sent %d rounds of bad metadata (%d packets, %d completed)" % (rounds, s.sent, s.completed))
    args.hold = 0
    return s


def attack_mac_flood(args):
    # Thousands of spoofed source addresses, and every 50th frame claims a good port's address.
    s = Session(args)
    s.start()
    rnd = random.Random(args.seed)
    spoof = mac_bytes(args.spoof_mac) if args.spoof_mac else None
    n, sent = args.count, 0
    deadline = time.monotonic() + max(args.hold, 5)
    while sent < n and time.monotonic() < deadline:
        if spoof is not None and sent % 50 == 0:
            src = spoof
        else:
            src = bytes([0x02, rnd.randrange(256), rnd.randrange(256), rnd.randrange(256), rnd.randrange(256),
                         rnd.randrange(256)])
        frame = udp_frame(b"\xff" * 6, src, s.ip, b"\xff\xff\xff\xff", b"flood")
        if s.send_frame(frame, kick=(sent % 16 == 0)):
            sent += 1
        else:
            s.notify(TXQ)
            time.sleep(0.001)
        if not s.alive():
            break
    s.notify(TXQ)
    info("sent %d frames with spoofed sources" % sent)
    return s


def attack_vlan_hop(args):
    # On an access port: a priority tag (VID 0) with an inner 802.1Q tag for VLAN 20, an 802.1ad
    # outer tag with an inner 802.1Q tag, and a plain 802.1Q tag for VLAN 20.
    s = Session(args)
    s.start()
    payload = udp_frame(b"\xff" * 6, s.mac, s.ip, b"\xff\xff\xff\xff", b"vlan-hop")[12:]  # ethertype onwards
    bcast = b"\xff" * 6 + s.mac
    frames = [
        bcast + struct.pack("!HH", 0x8100, 0) + struct.pack("!HH", 0x8100, 20) + payload,  # priority + inner
        bcast + struct.pack("!HH", 0x88A8, 20) + struct.pack("!HH", 0x8100, 20) + payload,  # QinQ
        bcast + struct.pack("!HH", 0x88A8, 0) + struct.pack("!HH", 0x8100, 20) + payload,   # QinQ, VID 0 outer
        bcast + struct.pack("!HH", 0x8100, 20) + payload,                                  # tagged on access
        bcast + struct.pack("!HH", 0x88A8, 20) + payload,                                  # 802.1ad only
    ]
    sent = 0
    for _ in range(args.count):
        for f in frames:
            while not s.send_frame(f):
                time.sleep(0.001)
            sent += 1
    info("sent %d double-tagged and tagged frames" % sent)
    return s


def attack_silent(args):
    # One connection that says nothing, one that stops in the middle of a message (header says 8
    # payload bytes, 3 follow); both stay open for --hold seconds.
    quiet = Conn(args.socket, args.timeout)
    partial = Conn(args.socket, args.timeout)
    partial.send_raw(struct.pack("<III", SET_FEATURES, FLAG_VERSION, 8) + b"\1\2\3")
    info("two silent connections open")
    return (quiet, partial)


def stray_fds(rnd, pool):
    return [rnd.choice(pool) for _ in range(rnd.randrange(0, 9))]


def attack_fuzz(args):
    # Seeded: `count` fresh connections, each a random prefix of a valid handshake followed by
    # random and mutated messages, with random stray descriptors attached.
    rnd = random.Random(args.seed)
    mem = Mem(1 << 20)
    pr, pw = os.pipe()
    f = tempfile.TemporaryFile()
    sp = socket.socketpair()
    pool = [eventfd(), eventfd(blocking=True), eventfd(blocking=True, initial=0), mem.fd, pr, pw, f.fileno(),
            os.open("/dev/null", os.O_RDWR), sp[0].fileno()]
    os.eventfd_write(pool[2], 0xfffffffffffffffe)
    ring = Ring(mem, 0, 256)
    valid_msgs = [
        (GET_FEATURES, b"", []),
        (SET_OWNER, b"", []),
        (GET_PROTOCOL_FEATURES, b"", []),
        (SET_PROTOCOL_FEATURES, struct.pack("<Q", 0x1009), []),
        (SET_FEATURES, struct.pack("<Q", bit(F_VERSION_1) | bit(F_PROTOCOL_FEATURES) | bit(F_MRG_RXBUF)), []),
        (SET_MEM_TABLE, mem.region(), [mem.fd]),
        (SET_VRING_NUM, struct.pack("<II", 0, 256), []),
        (SET_VRING_ADDR, struct.pack("<IIQQQQ", 0, 0, UVA_BASE + ring.desc, UVA_BASE + ring.used,
                                     UVA_BASE + ring.avail, 0), []),
        (SET_VRING_BASE, struct.pack("<II", 0, 0), []),
        (SET_VRING_CALL, struct.pack("<Q", 0), [pool[0]]),
        (SET_VRING_KICK, struct.pack("<Q", 0), [pool[0]]),
        (SET_VRING_ENABLE, struct.pack("<II", 0, 1), []),
        (GET_INFLIGHT_FD, struct.pack("<QQHHI", 0, 0, 2, 256, 0), []),
        (GET_VRING_BASE, struct.pack("<II", 0, 0), []),
    ]
    closed_early = 0
    for n in range(args.count):
        try:
            c = Conn(args.socket, 5)
        except RuntimeError as e:
            info("connection %d: %s" % (n, e))
            continue
        c.s.settimeout(0.5)
        try:
            for req, payload, fds in valid_msgs[:rnd.randrange(len(valid_msgs) + 1)]:
                c.send(req, payload, fds)
            for _ in range(rnd.randrange(1, 12)):
                kind = rnd.randrange(5)
                req, payload, fds = rnd.choice(valid_msgs)
                flags = FLAG_VERSION
                if kind == 0:  # random request, random bytes
                    req = rnd.randrange(0, 64)
                    payload = bytes(rnd.randrange(256) for _ in range(rnd.choice([0, 1, 8, 12, 20, 24, 40, 72, 300])))
                elif kind == 1:  # bit flips in a valid payload
                    b = bytearray(payload)
                    for _ in range(rnd.randrange(1, 4)):
                        if b:
                            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
                    payload = bytes(b)
                elif kind == 2:  # interesting numbers in the first fields
                    v = rnd.choice([0, 1, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0xFFFFFFFF, 2 ** 63,
                                    2 ** 64 - 1, 2 ** 64 - 2])
                    payload = struct.pack("<Q", v) + payload[8:]
                elif kind == 3:  # flags
                    flags = rnd.choice([0, 2, FLAG_VERSION | FLAG_NEED_REPLY, FLAG_VERSION | FLAG_REPLY, 0xFFFFFFFF])
                fds = stray_fds(rnd, pool) if rnd.random() < 0.5 else fds
                size = len(payload)
                if rnd.random() < 0.1:
                    size = rnd.choice([0, len(payload) + 1, 4096, 4097, 0xFFFFFFFF])
                c.send_raw(struct.pack("<III", req & 0xFFFFFFFF, flags, size & 0xFFFFFFFF) + payload, fds)
            # drain whatever the back-end answered (replies may carry fds: close them)
            try:
                while True:
                    _, fds, _, _ = socket.recv_fds(c.s, 4096, 16)
                    for fd in fds:
                        os.close(fd)
                    if not _:
                        break
            except (socket.timeout, BlockingIOError, OSError):
                pass
        except PeerGone:
            closed_early += 1
        finally:
            c.close()
    info("fuzz: %d connections (seed %d), %d closed by the back-end while we wrote" % (args.count, args.seed, closed_early))
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--socket", required=True)
    p.add_argument("--attack", required=True, choices=ATTACKS)
    p.add_argument("--hold", type=float, default=5.0, help="seconds to keep the connection after the attack")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count", type=int, default=0, help="frames (mac-flood, vlan-hop) or connections (fuzz)")
    p.add_argument("--timeout", type=float, default=20.0, help="bound of every wait on the back-end")
    p.add_argument("--mac", default="02:52:4c:48:50:03")
    p.add_argument("--ip", default="10.79.0.3")
    p.add_argument("--peer-ip", default="10.79.0.1")
    p.add_argument("--spoof-mac", default=None)
    args = p.parse_args()
    if not args.count:
        args.count = {"mac-flood": 10000, "vlan-hop": 50, "fuzz": 300}.get(args.attack, 0)
    try:
        if args.attack == "valid":
            try:
                valid(args)
            except PeerGone as e:
                raise RuntimeError("valid session: %s" % e)
            return 0
        fn = globals()["attack_" + args.attack.replace("-", "_")]
        held = fn(args)
        info("attack %s delivered" % args.attack)
        if isinstance(held, Session):
            hold(held, args.hold, pump=args.attack in ("inflight-running",))
            held.close()
        elif isinstance(held, tuple):
            time.sleep(args.hold)
            for c in held:
                c.close()
        print("RESULT delivered %s" % args.attack, flush=True)
        return 0
    except PeerGone as e:
        print("RESULT delivered %s (the back-end closed the connection: %s)" % (args.attack, e), flush=True)
        return 0
    except Exception as e:  # noqa: a failed valid session or a broken harness; the test prints it
        print("RESULT error %s: %s: %s" % (args.attack, type(e).__name__, e), flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
