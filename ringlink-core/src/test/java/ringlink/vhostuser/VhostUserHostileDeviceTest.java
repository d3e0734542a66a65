package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.LinkException;
import ringlink.link.LinkFailedException;
import ringlink.packet.PacketBatch;
import ringlink.virtio.GuestMemory;
import ringlink.virtio.SplitRing;

/**
 * A hostile back-end as seen by our front-end: used entries for buffers never offered and a
 * mergeable header claiming zero buffers fail that link with a clear message (and nothing else).
 * The hostile writes go straight into the shared split RX ring, through the back-end's view of it.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VhostUserHostileDeviceTest {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    interface Corruption {
        void apply(SplitRing rx, GuestMemory mem, int usedIdx) throws Exception;
    }

    static LinkException corrupt(Corruption c) throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults().withPacked(false));
             VhostUserFrontend fe = VhostUserFrontend.over(p[1], FrontendConfig.defaults());
             PacketBatch b = new PacketBatch(8, PacketBatch.SUPERPACKET_BUFFER)) {
            assertTrue(be.awaitReady(1, 5000));
            Vring rx = be.vrings[0];
            rx.lock.lock(); // the back-end's data path stays out while we scribble
            try {
                c.apply(rx.splitRing, be.guestMemory(), rx.usedIdx());
            } finally {
                rx.lock.unlock();
            }
            LinkException e = assertThrows(LinkException.class, () -> {
                for (int i = 0; i < 100; i++) fe.link(0).receive(b);
            });
            assertFalse(fe.link(0).isOpen());
            // The back-end and the connection are untouched by the front-end's verdict.
            assertTrue(be.connected());
            return e;
        }
    }

    @Test
    void usedIdNeverOffered() throws Exception {
        LinkException e = corrupt((rx, mem, used) -> {
            MemorySegment u = rx.usedRing();
            long el = SplitRing.USED_RING + 8L * (used & (rx.size() - 1));
            u.set(U32, el, 40_000);           // not a descriptor of this ring
            u.set(U32, el + 4, 100);
            u.set(U16, SplitRing.USED_IDX, (short) (used + 1));
        });
        assertInstanceOf(LinkFailedException.class, e);
        assertTrue(e.getMessage().contains("the back-end broke the ring"), e.getMessage());
    }

    @Test
    void usedIndexJumps() throws Exception {
        LinkException e = corrupt((rx, mem, used) -> rx.usedRing().set(U16, SplitRing.USED_IDX, (short) (used + 5000)));
        assertInstanceOf(LinkFailedException.class, e);
    }

    @Test
    void mergeableHeaderWithZeroBuffers() throws Exception {
        LinkException e = corrupt((rx, mem, used) -> {
            // Complete the next offered buffer properly, but with num_buffers = 0 in its header.
            int head =
                    Short.toUnsignedInt(rx.availRing().get(U16, SplitRing.AVAIL_RING + 2L * (used & (rx.size() - 1))));
            long addr = rx.descTable().get(U64, 16L * head);
            MemorySegment buf = mem.slice(addr, 64);
            buf.fill((byte) 0);
            buf.set(U16, 10, (short) 0);
            MemorySegment u = rx.usedRing();
            long el = SplitRing.USED_RING + 8L * (used & (rx.size() - 1));
            u.set(U32, el, head);
            u.set(U32, el + 4, 60);
            u.set(U16, SplitRing.USED_IDX, (short) (used + 1));
        });
        assertInstanceOf(LinkFailedException.class, e);
        assertTrue(e.getMessage().contains("num_buffers 0"), e.getMessage());
    }
}
