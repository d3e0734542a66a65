#!/usr/bin/env python3
"""A hostile memif peer (stdlib only) for ringlink's MemifHostileTest.

Usage: memif_attacker.py client SOCKET ATTACK   (attacks our server)
       memif_attacker.py server SOCKET ATTACK   (attacks our client)
       memif_attacker.py fuzz SOCKET ROUNDS SEED (random mutations against our server)

Each attack breaks one rule of the memif protocol (message sizes, descriptors, regions, rings,
indexes). The peer prints what it saw ("DISCONNECT: reason", "EOF", "CONNECTED") on stdout and
exits; the Java test checks that our side refused the attack with a typed error and kept serving.
Written from the protocol description (DPDK's memif.h layout), not from any implementation.
"""
import array
import fcntl
import mmap
import os
import socket
import struct
import sys
import time

MSG = 128
ACK, HELLO, INIT, ADD_REGION, ADD_RING, CONNECT, CONNECTED, DISCONNECT = 1, 2, 3, 4, 5, 6, 7, 8
VERSION = 0x0200
COOKIE = 0x3E31F20
F_ADD_SEALS = 1033
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW = 1, 2, 4
LOG2 = 4
RING_SLOTS = 1 << LOG2
RING_BYTES = 128 + 16 * RING_SLOTS
BUF = 2048


def msg(type_, body=b""):
    m = struct.pack("<H", type_) + body
    return m + b"\0" * (MSG - len(m))


def send(s, data, fds=()):
    if fds:
        s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        s.send(data)


def recv(s, timeout=5.0):
    s.settimeout(timeout)
    try:
        data, anc, _, _ = s.recvmsg(MSG, socket.CMSG_SPACE(4 * 4))
    except socket.timeout:
        return None, b""
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for fd in array.array("i", payload[: len(payload) - len(payload) % 4]):
                os.close(fd)
    if not data:
        return "EOF", b""
    t = struct.unpack_from("<H", data)[0]
    return t, data[2:]


def report(t, body):
    if t == DISCONNECT:
        reason = body[4:100].split(b"\0")[0].decode(errors="replace")
        print("DISCONNECT: " + reason, flush=True)
    elif t == "EOF":
        print("EOF", flush=True)
    elif t is None:
        print("TIMEOUT", flush=True)
    else:
        print("MSG %d" % t, flush=True)


def expect_end(s):
    """Reads until DISCONNECT or EOF and reports it."""
    for _ in range(50):
        t, body = recv(s)
        if t in (DISCONNECT, "EOF", None):
            report(t, body)
            return
    print("NO-END", flush=True)


def init_body(id_=0, version=VERSION, mode=0, secret=b""):
    return struct.pack("<HIB", version, id_, mode) + secret.ljust(24, b"\0") + b"attacker".ljust(32, b"\0")


def region(size, seal=True, sealable=True):
    fd = os.memfd_create("memif_attack", os.MFD_ALLOW_SEALING if sealable else 0)
    os.ftruncate(fd, size)
    if seal:
        fcntl.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
    return fd


def add_ring_body(s2m, index, region_=0, offset=0, log2=LOG2, priv=0):
    return struct.pack("<HHHIBH", 1 if s2m else 0, index, region_, offset, log2, priv)


def ack(s):
    t, body = recv(s)
    if t != ACK:
        report(t, body)
        sys.exit(0)


def setup_client(s, size, rings_at=0, cookie=True):
    """A correct client set-up of one queue pair in one region; returns (mmap, eventfds)."""
    recv(s)  # HELLO
    send(s, msg(INIT, init_body()))
    ack(s)
    fd = region(size, seal=False)
    mem = mmap.mmap(fd, size)
    fcntl.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
    for r in range(2):
        base = rings_at + r * RING_BYTES
        if cookie:
            struct.pack_into("<I", mem, base, COOKIE)
        for slot in range(RING_SLOTS):
            struct.pack_into("<HHII", mem, base + 128 + 16 * slot, 0, 0, BUF, 4096 + (r * RING_SLOTS + slot) * BUF)
    send(s, msg(ADD_REGION, struct.pack("<HQ", 0, size)), [fd])
    ack(s)
    evs = [os.eventfd(0, os.EFD_NONBLOCK), os.eventfd(0, os.EFD_NONBLOCK)]
    send(s, msg(ADD_RING, add_ring_body(True, 0, offset=rings_at)), [evs[0]])
    ack(s)
    send(s, msg(ADD_RING, add_ring_body(False, 0, offset=rings_at + RING_BYTES)), [evs[1]])
    ack(s)
    send(s, msg(CONNECT, b"attacker".ljust(32, b"\0")))
    t, body = recv(s)
    if t != CONNECTED:
        report(t, body)
        sys.exit(0)
    print("CONNECTED", flush=True)
    return mem, evs


def attack_server(path, attack):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if path.startswith("@"):
        s.connect("\0" + path[1:])
    else:
        s.connect(path)
    size = 4096 + 2 * RING_SLOTS * BUF
    if attack == "short":
        recv(s)
        send(s, struct.pack("<H", INIT) + b"\0" * 8)
    elif attack == "unexpected":
        recv(s)
        send(s, msg(CONNECTED))
    elif attack == "bad-version":
        recv(s)
        send(s, msg(INIT, init_body(version=0x0100)))
    elif attack == "bad-id":
        recv(s)
        send(s, msg(INIT, init_body(id_=99)))
    elif attack == "bad-type":
        recv(s)
        send(s, msg(INIT, init_body()))
        ack(s)
        send(s, msg(0x7777))
    elif attack in ("region-pipe", "region-small", "region-unsealed", "region-index", "region-nofd", "two-fds"):
        recv(s)
        send(s, msg(INIT, init_body()))
        ack(s)
        if attack == "region-pipe":
            r, w = os.pipe()
            send(s, msg(ADD_REGION, struct.pack("<HQ", 0, size)), [r])
        elif attack == "region-small":
            send(s, msg(ADD_REGION, struct.pack("<HQ", 0, 1 << 20)), [region(4096)])
        elif attack == "region-unsealed":
            send(s, msg(ADD_REGION, struct.pack("<HQ", 0, size)), [region(size, seal=False, sealable=False)])
        elif attack == "region-index":
            send(s, msg(ADD_REGION, struct.pack("<HQ", 3, size)), [region(size)])
        elif attack == "region-nofd":
            send(s, msg(ADD_REGION, struct.pack("<HQ", 0, size)))
        elif attack == "two-fds":
            send(s, msg(ADD_REGION, struct.pack("<HQ", 0, size)), [region(size), region(size)])
    elif attack in ("ring-notevent", "ring-offset", "ring-index", "ring-region", "ring-dup", "ring-log2"):
        recv(s)
        send(s, msg(INIT, init_body()))
        ack(s)
        send(s, msg(ADD_REGION, struct.pack("<HQ", 0, size)), [region(size)])
        ack(s)
        ev = os.eventfd(0, os.EFD_NONBLOCK)
        if attack == "ring-notevent":
            send(s, msg(ADD_RING, add_ring_body(True, 0)), [region(4096)])
        elif attack == "ring-offset":
            send(s, msg(ADD_RING, add_ring_body(True, 0, offset=size - 64)), [ev])
        elif attack == "ring-index":
            send(s, msg(ADD_RING, add_ring_body(True, 5)), [ev])
        elif attack == "ring-region":
            send(s, msg(ADD_RING, add_ring_body(True, 0, region_=1)), [ev])
        elif attack == "ring-log2":
            send(s, msg(ADD_RING, add_ring_body(True, 0, log2=15)), [ev])
        elif attack == "ring-dup":
            send(s, msg(ADD_RING, add_ring_body(True, 0)), [ev])
            ack(s)
            send(s, msg(ADD_RING, add_ring_body(True, 0)), [os.eventfd(0)])
    elif attack == "bad-cookie":
        setup_client(s, size, cookie=False)
    elif attack in ("desc-outside", "desc-region", "head-jump", "m2s-bad-buffer", "chain-forever"):
        mem, evs = setup_client(s, size)
        s2m = 0
        m2s = RING_BYTES
        if attack == "desc-outside":
            struct.pack_into("<HHII", mem, s2m + 128, 0, 0, 64, size - 10)
            struct.pack_into("<H", mem, s2m + 6, 1)
        elif attack == "desc-region":
            struct.pack_into("<HHII", mem, s2m + 128, 0, 9, 64, 4096)
            struct.pack_into("<H", mem, s2m + 6, 1)
        elif attack == "head-jump":
            struct.pack_into("<H", mem, s2m + 6, 5000)
        elif attack == "chain-forever":
            for slot in range(RING_SLOTS):
                struct.pack_into("<HHII", mem, s2m + 128 + 16 * slot, 1, 0, 64, 4096)
            struct.pack_into("<H", mem, s2m + 6, RING_SLOTS)
        elif attack == "m2s-bad-buffer":
            for slot in range(RING_SLOTS):
                struct.pack_into("<HHII", mem, m2s + 128 + 16 * slot, 0, 0, BUF, size + 4096)
            struct.pack_into("<H", mem, m2s + 6, RING_SLOTS)
        os.eventfd_write(evs[0], 1)
        expect_end(s)
        return
    else:
        print("unknown attack " + attack, flush=True)
        sys.exit(2)
    expect_end(s)


def attack_client(path, attack):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if os.path.exists(path):
        os.unlink(path)
    s.bind(path)
    s.listen(1)
    s.settimeout(20)
    c, _ = s.accept()
    if attack == "hello-version":
        send(c, msg(HELLO, b"attacker".ljust(32, b"\0") + struct.pack("<HHHHHB", 0x0300, 0x0300, 0, 0, 0, 10)))
    elif attack == "hello-short":
        send(c, struct.pack("<H", HELLO))
    elif attack == "hello-log2-zero":
        send(c, msg(HELLO, b"attacker".ljust(32, b"\0") + struct.pack("<HHHHHB", VERSION, VERSION, 0, 0, 0, 0)))
    elif attack in ("tail-jump", "rx-desc-outside"):
        send(c, msg(HELLO, b"attacker".ljust(32, b"\0") + struct.pack("<HHHHHB", VERSION, VERSION, 0, 0, 0, LOG2)))
        mem = None
        size = 0
        while True:
            c.settimeout(5)
            data, anc, _, _ = c.recvmsg(MSG, socket.CMSG_SPACE(4 * 4))
            fds = []
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds += list(array.array("i", payload[: len(payload) - len(payload) % 4]))
            t = struct.unpack_from("<H", data)[0]
            if t == ADD_REGION:
                size = struct.unpack_from("<Q", data, 4)[0]
                mem = mmap.mmap(fds[0], size)
            if t == CONNECT:
                send(c, msg(CONNECTED, b"attacker".ljust(32, b"\0")))
                break
            send(c, msg(ACK))
        print("CONNECTED", flush=True)
        time.sleep(0.3)  # the client posts its receive buffers after CONNECTED
        m2s = RING_BYTES  # ring 0 S2M at 0, M2S after it (our client's layout)
        if attack == "tail-jump":
            struct.pack_into("<H", mem, m2s + 64, 3000)
        else:
            struct.pack_into("<HHII", mem, m2s + 128, 0, 0, 64, size)
            struct.pack_into("<H", mem, m2s + 64, 1)
        expect_end(c)
        return
    else:
        print("unknown attack " + attack, flush=True)
        sys.exit(2)
    expect_end(c)


def fuzz_server(path, rounds, seed):
    """Connects `rounds` times; each time sends the honest client set-up with one random
    mutation (bytes of one message, its length, or the descriptor it carries), and when the
    server still connects, scribbles random indexes and descriptors on the rings for a moment."""
    import random
    rnd = random.Random(seed)
    size = 4096 + 2 * RING_SLOTS * BUF
    outcomes = {}
    for n in range(rounds):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        target = rnd.randrange(6)
        kind = rnd.choice(["bytes", "bytes", "bytes", "length", "fd"])
        fd = region(size, seal=False)
        mem = mmap.mmap(fd, size)
        fcntl.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
        for r in range(2):
            base = r * RING_BYTES
            struct.pack_into("<I", mem, base, COOKIE)
            for slot in range(RING_SLOTS):
                struct.pack_into("<HHII", mem, base + 128 + 16 * slot, 0, 0, BUF, 4096 + (r * RING_SLOTS + slot) * BUF)
        evs = [os.eventfd(0, os.EFD_NONBLOCK), os.eventfd(0, os.EFD_NONBLOCK)]
        steps = [
            (msg(INIT, init_body()), []),
            (msg(ADD_REGION, struct.pack("<HQ", 0, size)), [fd]),
            (msg(ADD_RING, add_ring_body(True, 0, offset=0)), [evs[0]]),
            (msg(ADD_RING, add_ring_body(False, 0, offset=RING_BYTES)), [evs[1]]),
            (msg(CONNECT, b"fuzz".ljust(32, b"\0")), []),
            (msg(ACK), []),
        ]
        outcome = "?"
        try:
            recv(s, 2)
            for i, (data, fds) in enumerate(steps):
                if i == target:
                    if kind == "bytes":
                        b = bytearray(data)
                        for _ in range(rnd.randint(1, 4)):
                            b[rnd.randrange(24)] = rnd.randrange(256)
                        data = bytes(b)
                    elif kind == "length":
                        data = data[: rnd.choice([0, 1, 2, 64, 127])] if rnd.random() < 0.7 else data + b"x" * rnd.randint(1, 64)
                    else:
                        choice = rnd.choice(["none", "pipe", "memfd", "eventfd", "two"])
                        fds = {"none": [], "pipe": [os.pipe()[0]], "memfd": [region(4096)], "eventfd": [os.eventfd(0)],
                               "two": [region(4096), os.eventfd(0)]}[choice]
                if not data:
                    s.close()
                    outcome = "closed"
                    break
                send(s, data, fds)
                if i == 5:
                    continue
                t, body = recv(s, 2)
                if t == CONNECTED:
                    # Scribble on the rings while the server's data path runs.
                    for _ in range(rnd.randint(1, 20)):
                        off = rnd.choice([6, 64, RING_BYTES + 6, RING_BYTES + 64, 128 + 16 * rnd.randrange(RING_SLOTS),
                                          RING_BYTES + 128 + 16 * rnd.randrange(RING_SLOTS)])
                        struct.pack_into("<H", mem, off + rnd.choice([0, 2, 4, 8]), rnd.randrange(65536))
                        time.sleep(0.002)
                    outcome = "connected"
                    break
                if t != ACK:
                    outcome = "refused" if t == DISCONNECT else str(t)
                    break
        except (OSError, socket.timeout) as e:
            outcome = "error:" + type(e).__name__
        finally:
            s.close()
            for e in evs:
                try:
                    os.close(e)
                except OSError:
                    pass
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print("FUZZ-DONE %d %s" % (rounds, sorted(outcomes.items())), flush=True)


if __name__ == "__main__":
    role, path, attack = sys.argv[1:4]
    if role == "fuzz":
        fuzz_server(path, int(attack), int(sys.argv[4]))
    else:
        (attack_server if role == "client" else attack_client)(path, attack)
