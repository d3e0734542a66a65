package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.LinkFailedException;
import ringlink.packet.PacketBatch;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.MemFd;
import ringlink.virtio.SplitRing;
import ringlink.virtio.VirtqueueDevice;

/**
 * The receive gather of the vhost-user back-end (guest RX, MRG_RXBUF) against a front-end that
 * posts a 32768-entry ring of useless buffers (issue 15 item 2): chains without a writable byte
 * fail the ring with NO_WRITABLE_BUFFER at the first one; one-byte buffers make a packet need
 * more chains than it may span, so it is dropped after at most {@link Vring#MAX_HELD_CHAINS}
 * chains, and the ring goes on; indirect chains of 1024 zero-length entries cost 1024 walks each,
 * not 32768. The raw front-end writes ring memory directly, as a hostile guest would.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserRxCapsTest {
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int QS = 32768;
    static final long MEM = 8 << 20;
    // Guest layout (guest address = offset in the memfd): per queue q at q * 1 MiB: desc (512 KiB),
    // avail at +512 KiB, used at +640 KiB. Buffers from 4 MiB, an indirect table at 6 MiB.
    static final long BUFS = 4 << 20, TABLE = 6 << 20;

    interface Fill {
        /** Writes the RX ring's descriptors (all QS made available afterwards). */
        void rx(MemorySegment m, long desc);
    }

    record Result(VhostUserBackend be, Throwable thrown) {}

    /** Sets up a split-ring session with MRG_RXBUF + INDIRECT and sends one packet of {@code len}. */
    static void run(Fill fill, int len,
            java.util.function.BiConsumer<VhostUserBackend, Throwable> check) throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults().withPacked(false));
                Connection c = p[1];
             Fd mem = MemFd.create("rlvurx-mem", MEM);
             Mapping map = Mapping.map(mem, MEM, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0, "test");
             EventFd k0 = EventFd.create(); EventFd k1 = EventFd.create();
             PacketBatch b = new PacketBatch(8, PacketBatch.SUPERPACKET_BUFFER)) {
            long base = map.address();
            long features = 1L << 32 | 1L << 15 | 1L << 28; // VERSION_1, MRG_RXBUF, INDIRECT_DESC
            VhostUserHostileTest.raw(c, Request.SET_FEATURES.code, 1, Message.ofU64(features));
            VhostUserHostileTest.raw(c, Request.SET_MEM_TABLE.code, 1, VhostUserHostileTest.memTable(0, MEM, base, 0),
                    mem);
            MemorySegment m = map.segment();
            fill.rx(m, 0);
            for (int i = 0; i < QS; i++) m.set(U16, (512 << 10) + SplitRing.AVAIL_RING + 2L * i, (short) i);
            m.set(U16, (512 << 10) + SplitRing.AVAIL_IDX, (short) QS); // all QS available: idx - 0 == QS (mod 2^16)
            for (int q = 0; q < 2; q++) {
                long off = q * (1L << 20);
                VhostUserHostileTest.raw(c, Request.SET_VRING_NUM.code, 1, Message.state(q, QS));
                byte[] addr = new byte[40];
                MemorySegment s = MemorySegment.ofArray(addr);
                s.set(U32, 0, q);
                s.set(U64, 8, base + off);
                s.set(U64, 16, base + off + (640 << 10));
                s.set(U64, 24, base + off + (512 << 10));
                VhostUserHostileTest.raw(c, Request.SET_VRING_ADDR.code, 1, addr);
                VhostUserHostileTest.raw(c, Request.SET_VRING_KICK.code, 1, Message.ofU64(q), (q == 0 ? k0 : k1).fd());
            }
            assertTrue(be.awaitReady(1, 5000), () -> "not started: " + be.lastError());
            int i = b.add();
            b.setLength(i, len);
            Throwable thrown = null;
            try {
                be.link(0).transmit(b, 0, 1);
            } catch (Throwable t) {
                thrown = t;
            }
            check.accept(be, thrown);
        }
    }

    static void desc(MemorySegment m, long desc, int i, long addr, int len, int flags) {
        m.set(U64, desc + 16L * i, addr);
        m.set(U32, desc + 16L * i + 8, len);
        m.set(U16, desc + 16L * i + 12, (short) flags);
        m.set(U16, desc + 16L * i + 14, (short) 0);
    }

    @Test
    void chainsWithoutWritableBytesFailTheRingAtTheFirst() throws Exception {
        // Every chain is one device-readable descriptor: adds 0 writable bytes.
        run((m, d) -> {
            for (int i = 0; i < QS; i++) desc(m, d, i, BUFS, 64, 0);
        }, 1500, (be, t) -> {
            LinkFailedException e = assertInstanceOf(LinkFailedException.class, t);
            assertTrue(e.getMessage().contains("NO_WRITABLE_BUFFER"), e.getMessage());
            assertNull(be.vrings[0].dev, "the ring is stopped");
        });
    }

    @Test
    void zeroLengthWritableChainsFailToo() throws Exception {
        run((m, d) -> {
            for (int i = 0; i < QS; i++) desc(m, d, i, BUFS, 0, 2 /* WRITE */);
        }, 1500, (be, t) -> {
            LinkFailedException e = assertInstanceOf(LinkFailedException.class, t);
            assertTrue(e.getMessage().contains("NO_WRITABLE_BUFFER"), e.getMessage());
        });
    }

    @Test
    void tinyBuffersDropThePacketAfterTheHeldCap() throws Exception {
        // 32768 one-byte buffers: a 64 KiB packet would need 65k of them.
        run((m, d) -> {
            for (int i = 0; i < QS; i++) desc(m, d, i, BUFS + i, 1, 2);
        }, 65000, (be, t) -> {
            assertNull(t);
            Vring q = be.vrings[0];
            assertEquals(Vring.MAX_HELD_CHAINS, q.held.length, "held chains are capped, not queue-sized");
            assertTrue(q.heldCount <= Vring.MAX_HELD_CHAINS, "held " + q.heldCount);
            assertNotNull(q.dev, "the ring goes on");
            assertEquals(1, be.link(0).counters().snapshot().txDrops());
        });
    }

    @Test
    void indirectChainsOfZeroLengthEntriesCostTheCapNotTheQueue() throws Exception {
        // Every chain: an indirect table of 1024 entries, one writable byte in the last, the
        // rest zero-length. A 1500 B packet gathers chains until they walked 1024 descriptors.
        int e = VirtqueueDevice.MAX_CHAIN_ELEMENTS;
        run((m, d) -> {
            for (int k = 0; k < e; k++) {
                long t = TABLE + 16L * k;
                m.set(U64, t, BUFS + k);
                m.set(U32, t + 8, k == e - 1 ? 1 : 0);
                m.set(U16, t + 12, (short) (2 | (k < e - 1 ? 1 : 0)));
                m.set(U16, t + 14, (short) (k + 1));
            }
            for (int i = 0; i < QS; i++) desc(m, d, i, TABLE, 16 * e, 4 /* INDIRECT */);
        }, 1500, (be, t) -> {
            assertNull(t);
            Vring q = be.vrings[0];
            assertTrue(q.heldCount <= 2, "held " + q.heldCount); // 1024 descriptors are reached at the first chain
            assertEquals(1, be.link(0).counters().snapshot().txDrops());
        });
        // One entry more than the cap per table: the ring fails with CHAIN_TOO_LONG.
        run((m, d) -> {
            for (int k = 0; k <= e; k++) {
                long t = TABLE + 16L * k;
                m.set(U64, t, BUFS + k);
                m.set(U32, t + 8, 1);
                m.set(U16, t + 12, (short) (2 | (k < e ? 1 : 0)));
                m.set(U16, t + 14, (short) (k + 1));
            }
            for (int i = 0; i < QS; i++) desc(m, d, i, TABLE, 16 * (e + 1), 4);
        }, 1500, (be, t) -> {
            LinkFailedException x = assertInstanceOf(LinkFailedException.class, t);
            assertTrue(x.getMessage().contains("CHAIN_TOO_LONG"), x.getMessage());
        });
    }

    @Test
    void longChainsDoNotStayAllocatedAfterUse() throws Exception {
        // Every chain: an indirect table of 200 writable 16-byte entries (3200 B): the packet fits
        // in the first; once pushed, its 200-segment arrays are dropped (trim), not parked.
        run((m, d) -> {
            for (int k = 0; k < 200; k++) {
                long t = TABLE + 16L * k;
                m.set(U64, t, BUFS + 16L * k);
                m.set(U32, t + 8, 16);
                m.set(U16, t + 12, (short) (2 | (k < 199 ? 1 : 0)));
                m.set(U16, t + 14, (short) (k + 1));
            }
            for (int i = 0; i < QS; i++) desc(m, d, i, TABLE, 16 * 200, 4);
        }, 1500, (be, t) -> {
            assertNull(t);
            Vring q = be.vrings[0];
            assertEquals(0, be.link(0).counters().snapshot().txDrops());
            assertEquals(1, be.link(0).counters().snapshot().txPackets());
            for (int i = 0; i < q.held.length; i++) {
                boolean isHeld = ((i - q.heldHead + q.held.length) % q.held.length) < q.heldCount;
                if (!isHeld) {
                    assertTrue(q.held[i].capacity() <= ringlink.virtio.DescriptorChain.RETAINED_SEGMENTS,
                            "slot " + i + " keeps " + q.held[i].capacity());
                }
            }
        });
    }
}
