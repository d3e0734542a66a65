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
 * of 64 KiB instead of eventfds; with bit 2, bit 3: the memfds hold valid-looking rings and
 * traffic ({@link #template}: split, or packed with bit 4; with bit 5 and bits 6-7 clear the 2 MiB big-queue layout
 * of 32768-entry rings, long and indirect chains), the 12-byte header, then the payload bytes
 * (as many as the header's size says, or as remain).
 *
 * <p>After every data-path call the per-ring bounds of issue 15 are checked: held RX chains at
 * most {@code min(size, 1024)}, every held chain within 1024 descriptors and its arrays within
 * their retained capacity.
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
                boolean big = (spec & 0xe8) == 0x28; // rare for a random spec byte: it costs milliseconds
                out[i] = MemFd.create("rlvu-fuzz", big ? BIG_SIZE : MEMFD_SIZE);
                if ((spec & 8) != 0) template(out[i], (spec & 0x10) != 0, big);
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

    /** How often packets moved through the data path (the traffic templates must get that far). */
    static long packetsSeen;
    /** How often the data path ran over a started 32768-entry ring. */
    static long bigRingSeen;

    private static void dataPath(VhostUserBackend be) {
        for (int k = 0; k < 2; k++) {
            BackendLink l = be.link(k);
            var before = l.counters().snapshot();
            if (be.vrings[2 * k].started() && be.vrings[2 * k].num == 32768) bigRingSeen++;
            if (be.vrings[2 * k].started() || be.vrings[2 * k + 1].started()) runningSeen++;
            if (be.vrings[2 * k].inflight instanceof SplitInflight
                    || be.vrings[2 * k + 1].inflight instanceof SplitInflight) inflightSeen++;
            if (be.vrings[2 * k].inflight instanceof PackedInflight
                    || be.vrings[2 * k + 1].inflight instanceof PackedInflight) {
                packedInflightSeen++;
            }
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
            var after = l.counters().snapshot();
            if (after.rxPackets() + after.txPackets() > before.rxPackets() + before.txPackets()) packetsSeen++;
            for (int q = 2 * k; q < 2 * k + 2; q++) checkBounds(be.vrings[q]);
        }
    }

    /** The per-ring memory bounds (issue 15 item 2), whatever the input did. */
    static void checkBounds(Vring v) {
        if (v.held.length > Vring.MAX_HELD_CHAINS)
                throw new AssertionError("vring " + v.index + " holds " + v.held.length + " chain slots");
        if (v.heldCount < 0 || v.heldCount > v.held.length)
                throw new AssertionError("vring " + v.index + " heldCount " + v.heldCount);
        long elements = 0;
        for (int i = 0; i < v.heldCount; i++) {
            var c = v.held[(v.heldHead + i) % v.held.length];
            if (c.elementCount() > ringlink.virtio.VirtqueueDevice.MAX_CHAIN_ELEMENTS)
                    throw new AssertionError("held chain " + c);
            elements += c.elementCount();
        }
        if (elements != v.heldElements) throw new AssertionError("vring " + v.index + " counts " + v.heldElements
                + " held descriptors, has " + elements);
        for (int i = 0; i < v.held.length; i++) {
            var c = v.held[i];
            if (c.capacity() > ringlink.virtio.VirtqueueDevice.MAX_CHAIN_ELEMENTS)
                    throw new AssertionError("chain arrays of " + c.capacity());
            boolean isHeld = ((i - v.heldHead + v.held.length) % v.held.length) < v.heldCount;
            if (!isHeld && c.capacity() > ringlink.virtio.DescriptorChain.RETAINED_SEGMENTS) {
                throw new AssertionError("vring " + v.index + " keeps arrays of " + c.capacity()
                        + " in a free chain slot");
            }
        }
    }

    // ---- guest memory that looks like a running guest's ----

    static final int BIG_SIZE = 2 << 20;
    static final java.lang.foreign.ValueLayout.OfLong L64 = java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
    static final java.lang.foreign.ValueLayout.OfInt L32 = java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
    static final java.lang.foreign.ValueLayout.OfShort L16 = java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

    /**
     * Fills a memfd (guest address = file offset) with rings as a guest driver leaves them, at
     * the addresses the traffic seeds give ({@link #trafficSeed}): queue q's ring at q * 0x4000
     * (desc, avail/driver event +0x1000, used/device event +0x2000), 64 RX buffers of 256 B
     * posted on queue 0, 32 TX packets on queue 1 (one, two descriptors, or an indirect table).
     * Big: queue 0 at 0 (avail 0x80000, used 0x98000), queue 1 at 0x100000: 32768 one-byte RX
     * buffers, TX chains of 1024-entry indirect tables (1023 zero-length entries), three
     * descriptors, or one.
     */
    static void template(Fd fd, boolean packed, boolean big) throws IOException {
        long size = big ? BIG_SIZE : MEMFD_SIZE;
        try (ringlink.sys.Mapping m =
                ringlink.sys.Mapping.map(fd, size, ringlink.sys.Mapping.PROT_READ | ringlink.sys.Mapping.PROT_WRITE,
                ringlink.sys.Mapping.MAP_SHARED, 0, "fuzz template")) {
            MemorySegment g = m.segment();
            if (big) {
                bigTemplate(g);
                return;
            }
            byte[] frame = frame();
            // queue 0: RX buffers, all posted
            for (int i = 0; i < 64; i++) {
                desc(g, packed, 16L * i, 0x8000 + 256L * i, 256, 2, packed ? i : 0, true);
                if (!packed) g.set(L16, 0x1000 + 4 + 2L * i, (short) i);
            }
            if (!packed) g.set(L16, 0x1000 + 2, (short) 64);
            // queue 1: TX packets
            long d = 0x4000;
            int slot = 0;
            for (int j = 0; j < 32; j++) {
                long buf = 0xC000 + 128L * j;
                MemorySegment.copy(MemorySegment.ofArray(frame), 0, g, buf + 12, frame.length);
                int head = slot;
                switch (j % 4) {
                    case 0 -> {
                        desc(g, packed, d + 16L * slot, buf, 12, 1, packed ? 0 : slot + 1, true);
                        slot++;
                        desc(g, packed, d + 16L * slot, buf + 12, frame.length, 0, packed ? j : 0, true);
                        slot++;
                    }
                    case 1 -> {
                        long t = 0xE000 + 32L * j;
                        desc(g, packed, t, buf, 12, packed ? 0 : 1, packed ? 0 : 1, false);
                        desc(g, packed, t + 16, buf + 12, frame.length, 0, 0, false);
                        desc(g, packed, d + 16L * slot, t, 32, 4, packed ? j : 0, true);
                        slot++;
                    }
                    default -> {
                        desc(g, packed, d + 16L * slot, buf, 12 + frame.length, 0, packed ? j : 0, true);
                        slot++;
                    }
                }
                if (!packed) g.set(L16, 0x5000 + 4 + 2L * j, (short) head);
            }
            if (!packed) g.set(L16, 0x5000 + 2, (short) 32);
        }
    }

    private static void bigTemplate(MemorySegment g) {
        int qs = 32768;
        for (int i = 0; i < qs; i++) {
            desc(g, false, 16L * i, 0x1E0000 + (i & 4095), 1, 2, 0, false);
            g.set(L16, 0x80000 + 4 + 2L * i, (short) i);
        }
        g.set(L16, 0x80000 + 2, (short) qs); // every buffer posted: idx - 0 == 32768
        byte[] frame = frame();
        MemorySegment.copy(MemorySegment.ofArray(frame), 0, g, 0x1F8000 + 12, frame.length);
        for (int k = 0; k < 1024; k++) {
            long t = 0x1F0000 + 16L * k;
            boolean last = k == 1023;
            desc(g, false, t, last ? 0x1F8000 : 0x1F8000 + k, last ? 12 + frame.length : 0, last ? 0 : 1, k + 1, false);
        }
        long d = 0x100000;
        int slot = 0, chains = 0;
        while (chains < 1000) {
            int head = slot;
            switch (chains % 3) {
                case 0 -> desc(g, false, d + 16L * slot++, 0x1F0000, 16 * 1024, 4, 0, false);
                case 1 -> {
                    desc(g, false, d + 16L * slot, 0x1F8000, 12, 1, slot + 1, false);
                    slot++;
                    desc(g, false, d + 16L * slot, 0x1F8000 + 12, 30, 1, slot + 1, false);
                    slot++;
                    desc(g, false, d + 16L * slot, 0x1F8000 + 42, 30, 0, 0, false);
                    slot++;
                }
                default -> desc(g, false, d + 16L * slot++, 0x1F8000, 12 + frame.length, 0, 0, false);
            }
            g.set(L16, 0x180000 + 4 + 2L * chains, (short) head);
            chains++;
        }
        g.set(L16, 0x180000 + 2, (short) chains);
    }

    private static byte[] frame() {
        byte[] f = new byte[60];
        java.util.Arrays.fill(f, 0, 6, (byte) 0xff);
        f[6] = 2;
        f[11] = 1;
        f[12] = 8;
        return f;
    }

    /**
     * One descriptor. Split: addr, len, flags, next; packed: addr, len, id, flags, with the
     * first-lap AVAIL bit when {@code ring} (a ring slot, not an indirect-table entry).
     */
    private static void desc(MemorySegment g, boolean packed, long off, long addr, int len, int flags, int nextOrId,
            boolean ring) {
        g.set(L64, off, addr);
        g.set(L32, off + 8, len);
        if (packed) {
            g.set(L16, off + 12, (short) nextOrId);
            g.set(L16, off + 14, (short) (flags | (ring ? 1 << 7 : 0)));
        } else {
            g.set(L16, off + 12, (short) flags);
            g.set(L16, off + 14, (short) nextOrId);
        }
    }

    /**
     * A handshake whose memory carries traffic ({@link #template}): MRG_RXBUF, INDIRECT_DESC and
     * EVENT_IDX acked; queues of 64 (or, {@code big}, split queues of 32768).
     */
    static byte[] trafficSeed(boolean packed, boolean big) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        List<byte[]> r = new ArrayList<>();
        r.add(record(0, Request.SET_OWNER.code, 1, new byte[0]));
        long f = 1L << 32 | 1L << 29 | 1L << 28 | 1L << 15 | (packed ? 1L << 34 : 0);
        r.add(record(0, Request.SET_FEATURES.code, 1, Message.ofU64(f)));
        long size = big ? BIG_SIZE : MEMFD_SIZE;
        byte[] mt = new byte[40];
        MemorySegment s = MemorySegment.ofArray(mt);
        s.set(Message.U32, 0, 1);
        s.set(Message.U64, 8, 0);
        s.set(Message.U64, 16, size);
        s.set(Message.U64, 24, 0x10000);
        r.add(record(4 | 8 | 1 | (packed ? 0x10 : 0) | (big ? 0x20 : 0), Request.SET_MEM_TABLE.code, 1, mt));
        int num = big ? 32768 : 64;
        for (int q = 0; q < 2; q++) {
            long base = 0x10000 + (big ? q * 0x100000L : q * 0x4000L);
            r.add(record(0, Request.SET_VRING_NUM.code, 1, Message.state(q, num)));
            r.add(record(0, Request.SET_VRING_BASE.code, 1, Message.state(q, packed ? 1 << 15 : 0)));
            byte[] a = new byte[40];
            MemorySegment as = MemorySegment.ofArray(a);
            as.set(Message.U32, 0, q);
            as.set(Message.U64, 8, base);
            as.set(Message.U64, 16, base + (big ? 0x98000 : 0x2000));
            as.set(Message.U64, 24, base + (big ? 0x80000 : 0x1000));
            r.add(record(0, Request.SET_VRING_ADDR.code, 1, a));
            r.add(record(1, Request.SET_VRING_CALL.code, 1, Message.ofU64(q)));
            r.add(record(1, Request.SET_VRING_KICK.code, 1, Message.ofU64(q)));
        }
        // A few more rounds of the data path over the same rings (each message is followed by one).
        for (int i = 0; i < 4; i++) r.add(record(0, Request.GET_FEATURES.code, 1, new byte[0]));
        r.add(record(0, Request.GET_VRING_BASE.code, 1, Message.state(1, 0)));
        for (byte[] x : r) o.writeBytes(x);
        return o.toByteArray();
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
                    Message.ofU64(1L | 1L << 3 | 1L << 9 | 1L << 12 | 1L << 16
                            | (log ? 1L << ProtocolFeature.LOG_SHMFD : 0))));
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
