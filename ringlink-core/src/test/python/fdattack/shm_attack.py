#!/usr/bin/env python3
"""A hostile sharedmem peer (Python 3, stdlib only): the listening side that creates the queues
and offers them (ShmHandshake: 16 bytes "RLSH", version 1, MTU, 0 + ten descriptors, each queue
as data, eventfd, tx pipe, rx pipe, shared data) to Ringlink's Java side.

usage: shm_attack.py SOCKET MODE [ARGS]
  bad KIND QUEUE  offer a KIND (pipe | file | semaphore) as the eventfd of QUEUE (tx | rx)
  clear           offer valid queues whose eventfds are blocking; the TX one (we would sleep on
                  it, so its shared word says ENABLED) is full at 0xfffffffffffffffe, the RX one
                  (the Java side sleeps on it) is empty; once the Java side has set O_NONBLOCK
                  on them (the open file is shared), clear it again
  connect-clear   connect to the Java side listening (it created the queues: role=client&listen=true),
                  take its ten descriptors, say ENABLED in the TX queue's shared word, fill the
                  TX eventfd and clear O_NONBLOCK on both eventfds Ringlink created (after a
                  line on stdin says the Java link is open)
Prints "ready" when the attack is in place, then waits until stdin closes.
"""
import array
import fcntl
import mmap
import os
import socket
import struct
import sys
import tempfile
import time

DATA, PIPE, SHARED = 1 << 20, 64 << 10, 4096
FULL = 0xfffffffffffffffe
SLOT_FREE = 1 << 63
ENABLED = 2


def memfd(name, size):
    fd = os.memfd_create(name)
    os.ftruncate(fd, size)
    return fd


def queue(name, event):
    data = memfd(name + "-data", DATA)
    tx, rx = memfd(name + "-txpipe", PIPE), memfd(name + "-rxpipe", PIPE)
    for p in (tx, rx):
        with mmap.mmap(p, PIPE) as m:
            struct.pack_into("<Q", m, 0, SLOT_FREE)
    shared = memfd(name + "-shared", SHARED)
    return [data, event, tx, rx, shared]


def bad(kind):
    if kind == "pipe":
        return os.pipe()[0]
    if kind == "file":
        f = tempfile.TemporaryFile()
        return os.dup(f.fileno())
    if kind == "semaphore":
        return os.eventfd(0, os.EFD_SEMAPHORE)
    raise SystemExit("unknown kind " + kind)


def nonblocking(fd):
    with open("/proc/self/fdinfo/%d" % fd) as f:
        for line in f:
            if line.startswith("flags:"):
                return int(line.split()[1], 8) & os.O_NONBLOCK != 0
    return False


def connect_clear(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    end = time.time() + 20
    while True:
        try:
            s.connect(path)
            break
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.02)
    fds = array.array("i")
    data, anc, _, _ = s.recvmsg(16, socket.CMSG_SPACE(10 * fds.itemsize))
    for level, typ, cdata in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(cdata[: len(cdata) - (len(cdata) % fds.itemsize)])
    tx_event, rx_event, tx_shared = fds[1], fds[6], fds[4]
    print("received", flush=True)
    sys.stdin.readline()  # "go": the Java link is open (it set O_NONBLOCK when it adopted them)
    with mmap.mmap(tx_shared, SHARED) as m:
        struct.pack_into("<i", m, 0, ENABLED)
    for fd in (tx_event, rx_event):
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    os.write(tx_event, struct.pack("<Q", FULL))
    print("ready", flush=True)
    sys.stdin.read()
    with open("/proc/self/fdinfo/%d" % tx_event) as f:
        for line in f:
            if line.startswith("eventfd-count:"):
                print("tx " + line.split(":")[1].strip(), flush=True)


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "connect-clear":
        connect_clear(path)
        return
    lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lst.bind(path)
    lst.listen(1)
    print("listening", flush=True)
    s, _ = lst.accept()
    tx_event, rx_event = os.eventfd(0, 0), os.eventfd(0, 0)  # blocking
    if mode == "bad":
        if sys.argv[4] == "tx":
            tx_event = bad(sys.argv[3])
        else:
            rx_event = bad(sys.argv[3])
    tx, rx = queue("rlfdattack-tx", tx_event), queue("rlfdattack-rx", rx_event)
    offer = struct.pack("<IIII", 0x48534C52, 1, 1500, 0)
    s.sendmsg([offer], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("10i", *(tx + rx)))])
    if mode == "clear":
        os.write(tx_event, struct.pack("<Q", FULL))
        with mmap.mmap(tx[4], SHARED) as m:
            struct.pack_into("<i", m, 0, ENABLED)  # "signal me": the Java client must notify on TX
        end = time.time() + 20
        while time.time() < end and not (nonblocking(tx_event) and nonblocking(rx_event)):
            time.sleep(0.01)
        for fd in (tx_event, rx_event):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        print("ready", flush=True)
        sys.stdin.read()
        with open("/proc/self/fdinfo/%d" % tx_event) as f:
            for line in f:
                if line.startswith("eventfd-count:"):
                    print("tx " + line.split(":")[1].strip(), flush=True)
    else:
        print("ready", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
