#!/usr/bin/env python3
"""A hostile vhost-user front-end (Python 3, stdlib only) attacking Ringlink's Java back-end
through the descriptors it passes and the time it takes (issue #15 items 1 and 7).

usage: vu_attack.py SOCKET MODE [ARGS]
  bad-fd KIND REQ   send SET_VRING_{KICK,CALL,ERR} (REQ kick|call|err) for vring 0 carrying
                    KIND: pipe | file | socket | semaphore | memfd; then wait for the hang-up
  silent            connect and say nothing
  half              connect and send 6 bytes of a header, then nothing
  blocking          a running split ring pair whose kick eventfds are blocking and never kicked
                    and whose RX call eventfd is blocking and full (0xfffffffffffffffe), with
                    O_NONBLOCK cleared again after the back-end set it; one RX buffer posted
  noread            send GET_FEATURES requests without ever reading a reply, until the
                    back-end stops taking them or hangs up
Prints "ready" when the attack is in place (and "closed" when the back-end hangs up), then
waits until stdin closes.
"""
import fcntl
import mmap
import os
import socket
import struct
import sys
import tempfile

GET_FEATURES, SET_FEATURES, SET_MEM_TABLE = 1, 2, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 8, 9, 12, 13, 14
VERSION = 1
FULL = 0xfffffffffffffffe
MEM = 1 << 20
UBASE = 0x7f0000000000  # the "user address" of our region: any value consistent with the rings
QSIZE = 16


def msg(req, payload=b"", flags=VERSION):
    return struct.pack("<III", req, flags, len(payload)) + payload


def send(s, req, payload=b"", fds=()):
    data = msg(req, payload)
    if fds:
        s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % len(fds), *fds))])
    else:
        s.sendall(data)


def ready(what="ready"):
    print(what, flush=True)


def wait_stdin():
    sys.stdin.read()


def wait_hangup(s):
    s.settimeout(20)
    try:
        while s.recv(4096):
            pass
        ready("closed")
    except OSError:
        ready("closed")


def bad_fd(kind):
    if kind == "pipe":
        return os.pipe()[0]
    if kind == "file":
        f = tempfile.TemporaryFile()
        return os.dup(f.fileno())
    if kind == "socket":
        return socket.socketpair()[0].detach()
    if kind == "semaphore":
        return os.eventfd(1, os.EFD_SEMAPHORE)
    if kind == "memfd":
        fd = os.memfd_create("rlfdattack")
        os.ftruncate(fd, 4096)
        return fd
    raise SystemExit("unknown kind " + kind)


def clear_nonblock(fd):
    fl = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, fl & ~os.O_NONBLOCK)


def running_rings(s):
    """Sets up a split RX/TX pair over one memfd; returns (mem, kicks, calls)."""
    memfd = os.memfd_create("rlfdattack-mem")
    os.ftruncate(memfd, MEM)
    mem = mmap.mmap(memfd, MEM)
    kicks = [os.eventfd(0, 0), os.eventfd(0, 0)]       # blocking, never kicked
    calls = [os.eventfd(0, 0), os.eventfd(0, 0)]       # blocking
    os.write(calls[0], struct.pack("<Q", FULL))       # RX call: full, a write of 1 would block
    send(s, SET_FEATURES, struct.pack("<Q", 1 << 32))  # VERSION_1 only: no EVENT_IDX, no protocol features
    send(s, SET_MEM_TABLE, struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, MEM, UBASE, 0), [memfd])
    for q in range(2):
        off = q * 16384
        send(s, SET_VRING_NUM, struct.pack("<II", q, QSIZE))
        send(s, SET_VRING_ADDR, struct.pack("<IIQQQQ", q, 0, UBASE + off, UBASE + off + 8192, UBASE + off + 4096, 0))
        send(s, SET_VRING_CALL, struct.pack("<Q", q), [calls[q]])
        send(s, SET_VRING_KICK, struct.pack("<Q", q), [kicks[q]])
    # One 2 KiB device-writable buffer on the RX ring (queue 0): desc 0, avail.idx 1.
    struct.pack_into("<QIHH", mem, 0, 0x40000, 2048, 2, 0)
    struct.pack_into("<HHH", mem, 4096, 0, 1, 0)
    # GET_FEATURES and its reply: everything before was applied (the back-end set O_NONBLOCK on
    # our descriptors when it adopted them) ...
    send(s, GET_FEATURES)
    hdr = b""
    while len(hdr) < 20:
        chunk = s.recv(20 - len(hdr))
        if not chunk:
            raise SystemExit("back-end hung up during setup")
        hdr += chunk
    # ... so now clear it on the shared open files: the back-end's read(2)/write(2) would block.
    for fd in kicks + calls:
        clear_nonblock(fd)
    return mem, kicks, calls


def main():
    path, mode = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    if mode == "bad-fd":
        kind, req = sys.argv[3], sys.argv[4]
        code = {"kick": SET_VRING_KICK, "call": SET_VRING_CALL, "err": SET_VRING_ERR}[req]
        send(s, code, struct.pack("<Q", 0), [bad_fd(kind)])
        wait_hangup(s)
    elif mode == "silent":
        ready()
        wait_stdin()
    elif mode == "half":
        s.sendall(msg(GET_FEATURES)[:6])
        ready()
        wait_stdin()
    elif mode == "blocking":
        mem, kicks, calls = running_rings(s)
        ready()
        wait_stdin()
        # Report the RX call counter: a full counter was left alone.
        with open("/proc/self/fdinfo/%d" % calls[0]) as f:
            for line in f:
                if line.startswith("eventfd-count:"):
                    print("call0 " + line.split(":")[1].strip(), flush=True)
    elif mode == "noread":
        # Keep sending requests (never reading a reply) until the back-end stops taking them
        # (its replies fill our receive side and it blocks sending) for 5 s, or hangs up.
        ready()
        s.settimeout(5)
        sent = 0
        try:
            while sent < 10_000_000:
                s.sendall(msg(GET_FEATURES))
                sent += 1
        except OSError:
            pass
        wait_stdin()
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
