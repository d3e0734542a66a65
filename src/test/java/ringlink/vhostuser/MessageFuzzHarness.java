package ringlink.vhostuser;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import ringlink.link.LinkException;
import ringlink.packet.PacketBatch;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.MemFd;

/**
 * Feeds arbitrary bytes to the back-end as a sequence of front-end messages: the decoder, the
 * per-request validation, the state machine (memory tables, ring setup) and then the data path
 * over whatever rings the input managed to set up. Anything but a {@link VhostUserException} or
 * {@link LinkException} (a crash, an {@code IndexOutOfBoundsException}, an access outside a
 * mapping) is a bug.
 *
 * <p>Input format, repeated: one byte of descriptor spec (bits 0-1: how many fds, bit 2: memfds
 * of 64 KiB instead of eventfds), the 12-byte header, then the payload bytes (as many as the
 * header's size says, or as remain).
 */
final class MessageFuzzHarness {
    private MessageFuzzHarness() {}

    static final int MEMFD_SIZE = 1 << 16;
    private static VhostUserBackend backend;
    private static PacketBatch batch;

    private static synchronized VhostUserBackend backend() throws IOException {
        if (backend == null) {
            backend = VhostUserBackend.detached(BackendConfig.defaults().withQueuePairs(2));
            batch = new PacketBatch(4, PacketBatch.SUPERPACKET_BUFFER);
        }
        return backend;
    }

    static synchronized void run(byte[] input) {
        try {
            VhostUserBackend be = backend();
            try {
                int at = 0, messages = 0;
                while (at + 13 <= input.length && messages++ < 64) {
                    int spec = input[at] & 0xff;
                    at++;
                    int size = MemorySegment.ofArray(input).get(Message.U32, at + 8);
                    int take = (int) Math.min(Integer.toUnsignedLong(size), input.length - at - 12L);
                    byte[] bytes = Arrays.copyOfRange(input, at, at + 12 + take);
                    at += 12 + take;
                    Fd[] fds = fds(spec);
                    Message m;
                    try {
                        m = MessageCodec.decode(bytes, fds);
                    } catch (VhostUserException e) {
                        for (Fd f : fds) f.close();
                        be.resetSession();
                        continue;
                    }
                    try {
                        Message rep = be.apply(m);
                        if (rep != null) rep.closeFds();
                    } catch (VhostUserException e) {
                        continue;
                    }
                    dataPath(be);
                }
            } finally {
                be.resetSession();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Fd[] fds(int spec) throws IOException {
        int n = spec & 3;
        Fd[] out = new Fd[n];
        for (int i = 0; i < n; i++) {
            if ((spec & 4) != 0) {
                out[i] = MemFd.create("rlvu-fuzz", MEMFD_SIZE);
            } else {
                EventFd e = EventFd.create();
                out[i] = e.fd();
            }
        }
        return out;
    }

    /** How often the data path ran over started rings (the seeds must get that far). */
    static long runningSeen;
    /** How often it ran with inflight tracking attached to a ring. */
    static long inflightSeen;
    /** How often it ran with packed-ring inflight tracking attached to a ring. */
    static long packedInflightSeen;
    /** How often it ran with a dirty log attached to a ring (live migration). */
    static long logSeen;

    private static void dataPath(VhostUserBackend be) {
        for (int k = 0; k < 2; k++) {
            BackendLink l = be.link(k);
            if (be.vrings[2 * k].started() || be.vrings[2 * k + 1].started()) runningSeen++;
            if (be.vrings[2 * k].inflight != null || be.vrings[2 * k + 1].inflight != null) inflightSeen++;
            if (be.vrings[2 * k].packedInflight != null || be.vrings[2 * k + 1].packedInflight != null) packedInflightSeen++;
            if (be.vrings[2 * k].log != null || be.vrings[2 * k + 1].log != null) logSeen++;
            try {
                batch.clear();
                l.receive(batch);
                batch.clear();
                int i = batch.add();
                batch.setLength(i, 60);
                l.transmit(batch, 0, 1);
                l.prepareToWait();
                l.finishWait();
            } catch (LinkException e) {
                // the ring the input described is broken: expected
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    // ---- seeds: valid sessions the fuzzer mutates ----

    static byte[] record(int fdSpec, int request, int flags, byte[] payload) {
        byte[] h = MessageCodec.encode(new Message(request, flags, payload));
        byte[] out = new byte[1 + h.length];
        out[0] = (byte) fdSpec;
        System.arraycopy(h, 0, out, 1, h.length);
        return out;
    }

    /** A full, valid handshake for one queue pair in fuzz-input form (split or packed), with a kick. */
    static byte[] handshakeSeed(boolean packed, boolean protocol) {
        return handshakeSeed(packed, protocol, false);
    }

    /** Like {@link #handshakeSeed(boolean, boolean)}, optionally with GET/SET_INFLIGHT_FD before the rings. */
    static byte[] handshakeSeed(boolean packed, boolean protocol, boolean inflight) {
        return handshakeSeed(packed, protocol, inflight, false);
    }

    /**
     * Like {@link #handshakeSeed(boolean, boolean, boolean)}; with {@code log}, a migration start
     * on the running rings as QEMU sends it: SET_LOG_BASE (a memfd), SET_FEATURES with
     * VHOST_F_LOG_ALL, SET_VRING_ADDR with VHOST_VRING_F_LOG (needs {@code protocol}).
     */
    static byte[] handshakeSeed(boolean packed, boolean protocol, boolean inflight, boolean log) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        List<byte[]> r = new ArrayList<>();
        r.add(record(0, Request.SET_OWNER.code, 1, new byte[0]));
        r.add(record(0, Request.GET_FEATURES.code, 1, new byte[0]));
        long f = 1L << 32 | 1L << 29 | 1L << 15 | (packed ? 1L << 34 : 0) | (protocol ? 1L << 30 : 0);
        if (protocol) {
            r.add(record(0, Request.GET_PROTOCOL_FEATURES.code, 1, new byte[0]));
            r.add(record(0, Request.SET_PROTOCOL_FEATURES.code, 1,
                    Message.ofU64(1L | 1L << 3 | 1L << 9 | 1L << 12 | 1L << 16 | (log ? 1L << ProtocolFeature.LOG_SHMFD : 0))));
        }
        r.add(record(0, Request.SET_FEATURES.code, 1, Message.ofU64(f)));
        byte[] mt = new byte[40];
        MemorySegment s = MemorySegment.ofArray(mt);
        s.set(Message.U32, 0, 1);
        s.set(Message.U64, 8, 0);
        s.set(Message.U64, 16, MEMFD_SIZE);
        s.set(Message.U64, 24, 0x10000);
        r.add(record(4 | 1, Request.SET_MEM_TABLE.code, 1, mt));
        if (inflight) {
            byte[] q = new byte[24];
            MemorySegment qs = MemorySegment.ofArray(q);
            qs.set(Message.U16, 16, (short) 4);
            qs.set(Message.U16, 18, (short) 64);
            r.add(record(0, Request.GET_INFLIGHT_FD.code, 1, q));
            qs.set(Message.U64, 0, 4 * Inflight.regionSize(64, packed));
            r.add(record(4 | 1, Request.SET_INFLIGHT_FD.code, 1, q));
        }
        for (int q = 0; q < 2; q++) {
            long base = 0x10000 + q * 0x4000L;
            r.add(record(0, Request.SET_VRING_NUM.code, 1, Message.state(q, 64)));
            r.add(record(0, Request.SET_VRING_BASE.code, 1, Message.state(q, packed ? 1 << 15 : 0)));
            byte[] a = new byte[40];
            MemorySegment as = MemorySegment.ofArray(a);
            as.set(Message.U32, 0, q);
            as.set(Message.U64, 8, base);
            as.set(Message.U64, 16, base + 0x2000);
            as.set(Message.U64, 24, base + 0x1000);
            r.add(record(0, Request.SET_VRING_ADDR.code, 1, a));
            r.add(record(1, Request.SET_VRING_CALL.code, 1, Message.ofU64(q)));
            r.add(record(1, Request.SET_VRING_KICK.code, 1, Message.ofU64(q)));
            if (protocol) r.add(record(0, Request.SET_VRING_ENABLE.code, 1 | 8, Message.state(q, 1)));
        }
        if (log) {
            byte[] lb = new byte[16];
            MemorySegment.ofArray(lb).set(Message.U64, 0, 4096); // 32768 pages: all of the 64 KiB region
            r.add(record(4 | 1, Request.SET_LOG_BASE.code, 1, lb));
            r.add(record(0, Request.SET_FEATURES.code, 1, Message.ofU64(f | 1L << 26)));
            for (int q = 0; q < 2; q++) {
                long base = 0x10000 + q * 0x4000L;
                byte[] a = new byte[40];
                MemorySegment as = MemorySegment.ofArray(a);
                as.set(Message.U32, 0, q);
                as.set(Message.U32, 4, 1); // VHOST_VRING_F_LOG
                as.set(Message.U64, 8, base);
                as.set(Message.U64, 16, base + 0x2000);
                as.set(Message.U64, 24, base + 0x1000);
                as.set(Message.U64, 32, base + 0x2000 - 0x10000); // used ring, guest address
                r.add(record(0, Request.SET_VRING_ADDR.code, 1, a));
            }
        }
        r.add(record(0, Request.GET_VRING_BASE.code, 1, Message.state(1, 0)));
        for (byte[] x : r) o.writeBytes(x);
        return o.toByteArray();
    }
}
