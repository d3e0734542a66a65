#!/usr/bin/env python3
"""A hostile peer for Ringlink's `shm:` links (gVisor sharedmem queues): Python 3, stdlib only.

The hand-over (docs/parts/shm.md, "Spec and hand-over"): the listening side sends one 16-byte
message, "RLSH", u32 version 1, u32 MTU, u32 0 (little-endian), with ten descriptors (SCM_RIGHTS):
the TX queue's data, eventfd, tx pipe, rx pipe, shared page, then the RX queue's five.

Client attacks (against our `shm:` server, which listens and creates the queues):
    valid               a working sharedmem client: posts RX buffers, sends ARP requests, waits for the reply
    blocking-eventfds   clears O_NONBLOCK on the eventfds we were given (the open file is shared),
                        preloads the RX doorbell to 0xfffffffffffffffe and asks to be woken
    garbage-pipes       garbage slot headers and descriptors in all four pipes
    truncate            ftruncate()s every memfd it got to 0 under traffic (fails if they are sealed)
    bad-vnethdr         packets whose virtio-net header lies (gso_size 0/1, hdr_len, csum_start, DATA_VALID)
Server attacks (against our `shm:...?role=client&listen=false`, which connects and attaches):
    server-pipe-fds     offers pipes and blocking, preloaded eventfds instead of the doorbells
    server-tiny         offers memfds too small for what they are
    server-truncate     offers valid queues, then truncates them under traffic

    shm_peer.py --socket PATH --attack NAME [--hold S] [--seed N] [--mac M] [--ip A] [--peer-ip A]

Output: "INFO ..." lines, one "RESULT ..." line; exit 0 when the session worked (valid) or the
attack was delivered, 1 otherwise.
"""

import argparse
import fcntl
import mmap
import os
import random
import select
import socket
import struct
import sys
import threading
import time

MAGIC, VERSION = b"RLSH", 1
SLOT_FREE = 1 << 63
INITIAL_POSITION = 0xFFFFFFFE << 32
VNET_HDR = 10  # sharedmem's vnethdr=true carries a 10-byte virtio-net header (no num_buffers)
HDR_F_NEEDS_CSUM, HDR_F_DATA_VALID = 1, 2
GSO_TCPV4 = 1
DISABLED = 1
KEEP = []

ATTACKS = ["valid", "blocking-eventfds", "garbage-pipes", "truncate", "bad-vnethdr",
           "server-pipe-fds", "server-tiny", "server-truncate"]


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


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def arp_request(src_mac, src_ip, target_ip):
    return b"\xff" * 6 + src_mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + src_mac + src_ip \
        + b"\0" * 6 + target_ip + b"\0" * 18


def tcp_frame(dst_mac, src_mac, src_ip, dst_ip, payload_len):
    tcp = struct.pack("!HHIIBBHHH", 40001, 5001, 1, 0, 5 << 4, 0x18, 65535, 0, 0) + bytes(payload_len)
    total = 20 + len(tcp)
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total & 0xFFFF, 0, 0x4000, 64, 6, 0, src_ip, dst_ip)
    h = h[:10] + struct.pack("!H", checksum(h)) + h[12:]
    return dst_mac + src_mac + b"\x08\x00" + h + tcp


def vnet(flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


class Pipe:
    """Both ends of a sharedmem pipe over a mapped file; only what a short session needs (no wrap)."""

    def __init__(self, mm):
        self.mm = mm
        self.length = len(mm) & ~7
        self.next = 0      # producer: next free offset (no wrap in a short session)
        self.head = 0      # consumer: next slot to read

    def push_batch(self, payloads):
        """Publishes slots in one batch: later headers first, the slot after the batch free, then the first."""
        if not payloads:
            return True
        at, offs = self.next, []
        for p in payloads:
            size = 8 + ((len(p) + 7) & ~7)
            if at + size + 8 > self.length:
                return False
            offs.append(at)
            self.mm[at + 8:at + 8 + len(p)] = p
            at += size
        struct.pack_into("<Q", self.mm, at, SLOT_FREE)
        for o, p in list(zip(offs, payloads))[1:]:
            struct.pack_into("<Q", self.mm, o, len(p))
        struct.pack_into("<Q", self.mm, offs[0], len(payloads[0]))
        self.next = at
        return True

    def pull(self):
        """The next published slot's payload, or None."""
        if self.head + 8 > self.length:
            return None
        h = struct.unpack_from("<Q", self.mm, self.head)[0]
        if h & SLOT_FREE:
            return None
        size = h & 0xFFFFFFFF
        if self.head + 8 + size > self.length:
            raise RuntimeError("slot of %d bytes at %d leaves the ring" % (size, self.head))
        p = bytes(self.mm[self.head + 8:self.head + 8 + size])
        self.head += 8 + ((size + 7) & ~7)
        return p


class Queue:
    def __init__(self, fds, mapped=True):
        self.fds = fds  # data, eventfd, tx pipe, rx pipe, shared
        self.data = self.tx = self.rx = self.shared = None
        if mapped:
            self.data = mmap.mmap(fds[0], os.fstat(fds[0]).st_size)
            self.tx = Pipe(mmap.mmap(fds[2], os.fstat(fds[2]).st_size))
            self.rx = Pipe(mmap.mmap(fds[3], os.fstat(fds[3]).st_size))
            self.shared = mmap.mmap(fds[4], os.fstat(fds[4]).st_size)

    def doorbell(self):
        try:
            os.eventfd_write(self.fds[1], 1)
        except OSError:
            pass


def receive_offer(sock, timeout):
    sock.settimeout(timeout)
    msg, fds, _, _ = socket.recv_fds(sock, 16, 10)
    if len(msg) != 16 or msg[:4] != MAGIC:
        raise RuntimeError("not an RLSH offer: %r" % msg)
    _, version, mtu, _ = struct.unpack("<4sIII", msg)
    if len(fds) != 10:
        raise RuntimeError("offer carried %d fds" % len(fds))
    info("offer: version %d mtu %d fds %s" % (version, mtu, fds))
    return fds, mtu


class Client:
    """A sharedmem client on the queues a server offered: we own the buffers of both data regions."""

    def __init__(self, args):
        self.args = args
        deadline = time.monotonic() + args.timeout
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(args.socket)
                break
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise RuntimeError("cannot connect to " + args.socket)
                time.sleep(0.05)
        self.sock = s
        self.fds, self.mtu = receive_offer(s, args.timeout)
        self.txq, self.rxq = Queue(self.fds[:5]), Queue(self.fds[5:])
        self.mac, self.ip, self.peer_ip = mac_bytes(args.mac), socket.inet_aton(args.ip), socket.inet_aton(args.peer_ip)
        self.next_id = 1
        self.tx_off = 0
        self.sent = self.completed = self.received = self.arp_replies = 0

    def post_rx(self, n=32, size=2048):
        posts = [struct.pack("<QIIQQ", i * size, size, 0, i, 1000 + i) for i in range(n)]
        self.rxq.tx.push_batch(posts)
        struct.pack_into("<I", self.rxq.shared, 0, 0)  # wake us (we poll anyway)

    def send(self, frame, hdr=None, buf=2048):
        """One packet, spread over as many `buf`-byte buffers of the TX data region as it needs."""
        data = (hdr if hdr is not None else vnet()) + frame
        bufs = []
        for at in range(0, len(data), buf):
            chunk = data[at:at + buf]
            off = self.tx_off
            self.tx_off = (self.tx_off + buf) % (len(self.txq.data) - buf)
            self.txq.data[off:off + len(chunk)] = chunk
            bufs.append(struct.pack("<QI", off, len(chunk)))
        d = struct.pack("<QII", self.next_id, len(data), 0) + b"".join(bufs)
        self.next_id += 1
        if not self.txq.tx.push_batch([d]):
            return False
        self.sent += 1
        self.txq.doorbell()
        return True

    def reap(self):
        while self.txq.rx.pull() is not None:
            self.completed += 1
        while True:
            c = self.rxq.rx.pull()
            if c is None:
                break
            self.received += 1
            size = struct.unpack_from("<I", c, 0)[0]
            if len(c) >= 8 + 28:
                off = struct.unpack_from("<Q", c, 8)[0]
                frame = bytes(self.rxq.data[off + VNET_HDR:off + min(size, 2048)])
                if len(frame) >= 42 and frame[12:14] == b"\x08\x06" and frame[20:22] == b"\x00\x02" \
                        and frame[38:42] == self.ip:
                    self.arp_replies += 1

    def alive(self):
        return sock_alive(self.sock)


def hold(alive, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if alive is not None and not alive():
            info("the peer closed the connection")
            return
        time.sleep(0.1)


def valid(args):
    c = Client(args)
    c.post_rx()
    deadline = time.monotonic() + args.timeout
    nxt = 0.0
    while time.monotonic() < deadline and c.sent < 200:
        if time.monotonic() >= nxt:
            c.send(arp_request(c.mac, c.ip, c.peer_ip))
            nxt = time.monotonic() + 0.1
        c.reap()
        if c.arp_replies and c.completed >= 1:
            break
        time.sleep(0.005)
    ok = c.arp_replies > 0 and c.completed >= 1
    print("RESULT %s sent=%d completed=%d received=%d arp_replies=%d"
          % ("ok" if ok else "fail", c.sent, c.completed, c.received, c.arp_replies), flush=True)
    c.sock.send(b"D")
    c.sock.close()
    if not ok:
        raise RuntimeError("valid shm session: no ARP reply for %s within %d s" % (args.peer_ip, args.timeout))


def attack_blocking_eventfds(args):
    c = Client(args)
    for q in (c.txq, c.rxq):
        fcntl.fcntl(q.fds[1], fcntl.F_SETFL, fcntl.fcntl(q.fds[1], fcntl.F_GETFL) & ~os.O_NONBLOCK)
    os.eventfd_write(c.rxq.fds[1], 0xFFFFFFFFFFFFFFFE)  # the server's next doorbell would overflow it
    struct.pack_into("<I", c.rxq.shared, 0, 0)  # "signal me"
    c.post_rx()

    def race():
        # Ring the TX doorbell and take the count back at once: a server that read(2)s it after
        # a wake-up now finds it empty and, blocking, waits.
        end = time.monotonic() + args.hold
        while time.monotonic() < end:
            c.txq.doorbell()
            try:
                os.eventfd_read(c.txq.fds[1])
            except OSError:
                pass
    threading.Thread(target=race, daemon=True).start()
    for _ in range(8):
        c.send(arp_request(c.mac, c.ip, c.peer_ip))
    return c


def attack_garbage_pipes(args):
    c = Client(args)
    rnd = random.Random(args.seed)
    c.post_rx(4)
    c.send(arp_request(c.mac, c.ip, c.peer_ip))
    time.sleep(0.3)
    # TX pipe (we produce): a slot that runs past the ring, then a descriptor pointing far outside
    struct.pack_into("<Q", c.txq.tx.mm, c.txq.tx.next + 8, 0)
    bad_desc = struct.pack("<QII", 77, 1500, 0) + struct.pack("<QI", 0xFFFF_FFFF_FF00, 1500)
    c.txq.tx.push_batch([bad_desc])
    struct.pack_into("<Q", c.txq.tx.mm, c.txq.tx.next, 0x7FFF_0000_FFFF_FFF8)  # reserved bits + huge size
    # RX pipe (we produce posts): a buffer outside the data region, a post of the wrong shape
    c.rxq.tx.push_batch([struct.pack("<QIIQQ", 1 << 40, 4096, 0, 9, 99), b"\x01" * 13])
    # The pipes the server produces: free headers that jump past the ring
    for pipe in (c.txq.rx, c.rxq.rx):
        for off in range(0, 256, 8):
            struct.pack_into("<Q", pipe.mm, off, SLOT_FREE | rnd.randrange(1 << 32))
    c.txq.doorbell()
    c.rxq.doorbell()
    return c


def attack_truncate(args):
    c = Client(args)
    c.post_rx()
    for _ in range(10):
        c.send(arp_request(c.mac, c.ip, c.peer_ip))
        time.sleep(0.02)
    c.reap()
    results = []
    for i, fd in enumerate(c.fds):
        if i % 5 == 1:
            continue  # the eventfds
        try:
            os.ftruncate(fd, 0)
            results.append("fd %d truncated" % i)
        except OSError as e:
            results.append("fd %d: %s" % (i, e.strerror))
    info("truncate: " + ", ".join(results))
    # Do not touch our own mappings any more (they would SIGBUS us): ring the doorbells only.
    end = time.monotonic() + 2
    while time.monotonic() < end:
        c.txq.doorbell()
        time.sleep(0.01)
    return c


def attack_bad_vnethdr(args):
    c = Client(args)
    c.post_rx()
    unknown = b"\x02\x00\x00\x00\x00\x98"
    small = tcp_frame(unknown, c.mac, c.ip, c.peer_ip, 1400)
    big = tcp_frame(unknown, c.mac, c.ip, c.peer_ip, 65535 - 40)
    cases = [
        (vnet(HDR_F_NEEDS_CSUM, GSO_TCPV4, 54, 0, 34, 16), small),
        (vnet(HDR_F_NEEDS_CSUM, GSO_TCPV4, 60000, 1000, 34, 16), small),
        (vnet(HDR_F_NEEDS_CSUM, 0, 0, 0, 5000, 16), small),
        (vnet(HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 4000), small),
        (vnet(HDR_F_DATA_VALID), small),
        (vnet(0x80 | HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 16), small),
        (vnet(HDR_F_NEEDS_CSUM, GSO_TCPV4, 54, 1, 34, 16), big),
    ]
    end = time.monotonic() + args.hold
    rounds = 0
    while time.monotonic() < end and c.alive() and rounds < 40:
        for hdr, frame in cases:
            if not c.send(frame, hdr):
                break
        c.reap()
        rounds += 1
        time.sleep(0.05)
    info("bad vnet headers: %d rounds, %d packets, %d completed" % (rounds, c.sent, c.completed))
    return c


# ---------------------------------------------------------------- hostile server

def memfd(name, size, fill_free=False):
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    os.ftruncate(fd, size)
    if fill_free and size >= 8:
        with mmap.mmap(fd, size) as m:
            struct.pack_into("<Q", m, 0, SLOT_FREE)
    return fd


def queue_fds(name, data=1 << 20, pipe=1 << 16, shared=4096, event=None):
    ev = event if event is not None else os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
    return [memfd(name + "-data", data), ev, memfd(name + "-tx", pipe, True), memfd(name + "-rx", pipe, True),
            memfd(name + "-shared", shared)]


def serve(args, fds):
    try:
        os.unlink(args.socket)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(args.socket)
    ls.listen(1)
    ls.settimeout(args.timeout)
    conn, _ = ls.accept()
    ls.close()
    os.unlink(args.socket)
    socket.send_fds(conn, [struct.pack("<4sIII", MAGIC, VERSION, 1500, 0)], fds)
    info("offered %d fds" % len(fds))
    return conn


def attack_server_pipe_fds(args):
    pr, pw = os.pipe()  # a pipe's read end as the TX doorbell: blocking, never written
    cr, cw = os.pipe()
    os.set_blocking(cw, False)
    try:
        while True:
            os.write(cw, b"\0" * 4096)  # ... and a full pipe as the RX doorbell
    except BlockingIOError:
        pass
    os.set_blocking(cw, True)
    ev = os.eventfd(0, os.EFD_CLOEXEC)  # blocking
    os.eventfd_write(ev, 0xFFFFFFFFFFFFFFFE)
    fds = queue_fds("tx", event=cw) + queue_fds("rx", event=pr)
    fds2 = [ev]
    conn = serve(args, fds)
    KEEP.extend([pw, cr] + fds2)  # the other ends stay open while we hold the connection
    return conn


def attack_server_tiny(args):
    fds = queue_fds("tx", data=8, pipe=8, shared=1) + queue_fds("rx", data=0, pipe=16, shared=0)
    return serve(args, fds)


def attack_server_truncate(args):
    fds = queue_fds("tx") + queue_fds("rx")
    conn = serve(args, fds)
    time.sleep(1.0)
    for i, fd in enumerate(fds):
        if i % 5 != 1:
            os.ftruncate(fd, 0)
    info("truncated every queue file under the client")
    for _ in range(100):
        try:
            os.eventfd_write(fds[6], 1)
        except OSError:
            pass
        time.sleep(0.01)
    return conn


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--socket", required=True)
    p.add_argument("--attack", required=True, choices=ATTACKS)
    p.add_argument("--hold", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--mac", default="02:52:4c:48:50:04")
    p.add_argument("--ip", default="10.79.0.4")
    p.add_argument("--peer-ip", default="10.79.0.1")
    args = p.parse_args()
    try:
        if args.attack == "valid":
            valid(args)
            return 0
        held = globals()["attack_" + args.attack.replace("-", "_")](args)
        info("attack %s delivered" % args.attack)
        if isinstance(held, Client):
            hold(held.alive, args.hold)
            held.sock.close()
        else:
            hold(None, args.hold)
            held.close()
        print("RESULT delivered %s" % args.attack, flush=True)
        return 0
    except (BrokenPipeError, ConnectionResetError) as e:
        print("RESULT delivered %s (the peer closed the connection: %s)" % (args.attack, e), flush=True)
        return 0
    except Exception as e:  # noqa: printed for the test's report
        print("RESULT error %s: %s: %s" % (args.attack, type(e).__name__, e), flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
