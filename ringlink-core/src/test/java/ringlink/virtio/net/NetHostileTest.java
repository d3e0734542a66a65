package ringlink.virtio.net;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;
import ringlink.packet.PacketBatch;
import ringlink.virtio.*;

/** Malformed packets (not malformed rings) are dropped and counted; the queues keep working. */
class NetHostileTest {
    final FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.NET_MRG_RXBUF);

    @Test
    void deviceTxDropsShortAndOversizedChains() {
        try (Arena arena = Arena.ofShared(); PacketBatch batch = new PacketBatch(8, 256)) {
            GuestMemory.Region region = GuestMemory.Region.of(0x10000, arena.allocate(1 << 20, 4096));
            GuestMemory mem = GuestMemory.of(region);
            GuestAllocator alloc = new GuestAllocator(region);
            SplitRing ring = SplitRing.allocate(mem, alloc, 8);
            SplitQueueDriver drv = new SplitQueueDriver(ring, f);
            SplitQueueDevice dev = new SplitQueueDevice(ring, mem, f);
            NetDeviceTx tx = new NetDeviceTx(dev, f);
            long buf = alloc.allocate(4096, 64);
            drv.offer(buf, 4, false);            // shorter than the 12-byte header
            drv.offer(buf, 12 + 1000, false);    // bigger than a 256-byte batch buffer
            drv.offer(buf, 12 + 60, false);      // fine
            drv.publish();
            assertEquals(1, tx.receive(batch, 8));
            assertEquals(60, batch.length(0));
            assertEquals(2, tx.droppedMalformed());
            dev.publish();
            assertEquals(3, drv.collect(new int[8], new int[8], 8), "dropped chains are returned too");
        }
    }

    @Test
    void driverRxDropsBadHeadersFromTheDevice() {
        try (Arena arena = Arena.ofShared(); PacketBatch batch = new PacketBatch(8, 2048)) {
            GuestMemory.Region region = GuestMemory.Region.of(0x10000, arena.allocate(1 << 20, 4096));
            GuestMemory mem = GuestMemory.of(region);
            GuestAllocator alloc = new GuestAllocator(region);
            SplitRing ring = SplitRing.allocate(mem, alloc, 8);
            SplitQueueDriver drv = new SplitQueueDriver(ring, f);
            SplitQueueDevice dev = new SplitQueueDevice(ring, mem, f);
            NetDriverRx rx = new NetDriverRx(drv, alloc, 256, f);
            rx.refill();
            drv.publish();
            MemorySegment hdr = MemorySegment.ofArray(new byte[12]);
            DescriptorChain c = new DescriptorChain();
            // 1: used length shorter than the header
            assertTrue(dev.pop(c));
            dev.push(c, 5);
            // 2: num_buffers = 0
            assertTrue(dev.pop(c));
            hdr.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 10, (short) 0);
            c.write(0, hdr, 0, 12);
            dev.push(c, 40);
            // 3: num_buffers far above the queue size
            assertTrue(dev.pop(c));
            hdr.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 10, (short) 9999);
            c.write(0, hdr, 0, 12);
            dev.push(c, 40);
            // 4: a good one-buffer packet of 28 bytes
            assertTrue(dev.pop(c));
            hdr.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 10, (short) 1);
            c.write(0, hdr, 0, 12);
            dev.push(c, 40);
            dev.publish();
            assertEquals(1, rx.receive(batch));
            assertEquals(28, batch.length(0));
            assertEquals(3, rx.droppedMalformed());
            assertFalse(drv.isFailed());
            assertEquals(4, rx.refill(), "every buffer came back to the pool");
        }
    }
}
