package ringlink.virtio.net;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;
import ringlink.packet.PacketBatch;
import ringlink.virtio.*;

/**
 * {@link NetDeviceRx} against receive rings of useless buffers (issue 15 item 2): a chain with
 * no writable byte is a typed error, and a mergeable packet that would span more than
 * {@link NetDeviceRx#MAX_PACKET_CHAINS} buffers is dropped with its buffers given back, after
 * bounded work, on a 4096-entry queue.
 */
class NetDeviceRxCapsTest {
    static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final FeatureSet MRG = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.NET_MRG_RXBUF);

    /** A split queue of {@code n} posted one-descriptor buffers of {@code len} bytes with {@code flags}. */
    static SplitQueueDevice ring(GuestMemory mem, GuestAllocator alloc, int n, int len, int flags) {
        SplitRing r = SplitRing.allocate(mem, alloc, n);
        long buf = alloc.allocate(Math.max(len, 1) * (long) n, 64);
        for (int i = 0; i < n; i++) {
            long d = 16L * i;
            r.descTable().set(L, d, buf + (long) Math.max(len, 1) * i);
            r.descTable().set(I, d + 8, len);
            r.descTable().set(S, d + 12, (short) flags);
            r.availRing().set(S, 4 + 2L * i, (short) i);
        }
        r.availRing().set(S, 2, (short) n);
        return new SplitQueueDevice(r, mem, MRG);
    }

    @Test
    void chainWithoutWritableBytesIsATypedError() {
        try (Arena a = Arena.ofConfined(); PacketBatch b = new PacketBatch(4, 2048)) {
            GuestMemory mem = GuestMemory.of(GuestMemory.Region.of(0x10000, a.allocate(1 << 20, 4096)));
            GuestAllocator alloc = new GuestAllocator(mem.region(0));
            NetDeviceRx rx = new NetDeviceRx(ring(mem, alloc, 64, 64, 0 /* readable */), MRG);
            b.setLength(b.add(), 60);
            VirtqueueException e = assertThrows(VirtqueueException.class, () -> rx.deliver(b, 0));
            assertEquals(VirtqueueException.Reason.NO_WRITABLE_BUFFER, e.reason());
        }
    }

    @Test
    void packetSpanningTooManyBuffersIsDroppedAndTheBuffersKept() {
        try (Arena a = Arena.ofConfined(); PacketBatch b = new PacketBatch(4, 2048)) {
            GuestMemory mem = GuestMemory.of(GuestMemory.Region.of(0x10000, a.allocate(1 << 20, 4096)));
            GuestAllocator alloc = new GuestAllocator(mem.region(0));
            SplitQueueDevice q = ring(mem, alloc, 4096, 1, VirtqLayout.VIRTQ_DESC_F_WRITE);
            NetDeviceRx rx = new NetDeviceRx(q, MRG);
            b.setLength(b.add(), 1500); // needs 1512 one-byte buffers > 1024
            assertEquals(1, rx.deliver(b, 0));
            assertEquals(1, rx.droppedTooBig());
            assertEquals(0, q.lastAvailIndex(), "the buffers were given back");
            b.clear();
            b.setLength(b.add(), 100); // 112 buffers: fits
            assertEquals(1, rx.deliver(b, 0));
            assertEquals(112, q.lastAvailIndex());
        }
    }
}
