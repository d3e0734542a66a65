package ringlink.virtio.net;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.virtio.*;

/** virtio-net RX and TX between the driver-side and device-side helpers, both ring formats. */
class NetLayerTest {

    record Q(VirtqueueDriver driver, VirtqueueDevice device) {}

    static Q queue(boolean packed, GuestMemory mem, GuestAllocator alloc, int size, FeatureSet f) {
        if (packed) {
            PackedRing r = PackedRing.allocate(mem, alloc, size);
            return new Q(new PackedQueueDriver(r, f, alloc, 8), new PackedQueueDevice(r, mem, f));
        }
        SplitRing r = SplitRing.allocate(mem, alloc, size);
        return new Q(new SplitQueueDriver(r, f, alloc, 8), new SplitQueueDevice(r, mem, f));
    }

    /** A 32-entry TX queue, driver and device helpers, in 16 MiB of guest memory at 0x1000. */
    static final class Tx implements AutoCloseable {
        final Arena arena = Arena.ofShared();
        final GuestMemory mem;
        final GuestAllocator alloc;
        final Q q;
        final NetDriverTx dtx;
        final NetDeviceTx dev;

        Tx(boolean packed, FeatureSet f) {
            GuestMemory.Region region = GuestMemory.Region.of(0x1000, arena.allocate(16 << 20, 4096));
            mem = GuestMemory.of(region);
            alloc = new GuestAllocator(region);
            q = queue(packed, mem, alloc, 32, f);
            dtx = new NetDriverTx(q.driver(), alloc, 2048, f);
            dev = new NetDeviceTx(q.device(), f);
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    static void fillPacket(PacketBatch b, int i, int len, int seed) {
        b.setLength(i, len);
        MemorySegment d = b.data(i);
        for (int k = 0; k < len; k++) d.set(ValueLayout.JAVA_BYTE, k, (byte) (seed * 7 + k));
        b.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, seed % 2 == 0 ? VirtioNetHdr.GSO_UDP_L4 : VirtioNetHdr.GSO_NONE,
                seed & 0xff, 1400, 34, seed % 2 == 0 ? 6 : 16);
    }

    static void checkPacket(PacketBatch b, int i, int len, int seed) {
        assertEquals(len, b.length(i), "length of packet " + seed);
        MemorySegment d = b.data(i);
        for (int k = 0; k < len; k++) assertEquals((byte) (seed * 7 + k), d.get(ValueLayout.JAVA_BYTE, k),
                "byte " + k + " of packet " + seed);
        assertEquals(VirtioNetHdr.F_NEEDS_CSUM, b.flags(i));
        assertEquals(seed % 2 == 0 ? VirtioNetHdr.GSO_UDP_L4 : VirtioNetHdr.GSO_NONE, b.gsoType(i));
        assertEquals(seed & 0xff, b.hdrLen(i));
        assertEquals(1400, b.gsoSize(i));
        assertEquals(34, b.csumStart(i));
    }

    @ParameterizedTest
    @CsvSource({"false,false", "false,true", "true,false", "true,true"})
    void rxDeviceToDriver(boolean packed, boolean mrg) {
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.EVENT_IDX);
        if (mrg) f = f.with(VirtioFeature.NET_MRG_RXBUF);
        try (Arena arena = Arena.ofShared()) {
            GuestMemory.Region region = GuestMemory.Region.of(0x1_0000_0000L, arena.allocate(16 << 20, 4096));
            GuestMemory mem = GuestMemory.of(region);
            GuestAllocator alloc = new GuestAllocator(region);
            Q q = queue(packed, mem, alloc, 64, f);
            int bufSize = mrg ? 512 : 2048;
            NetDriverRx drx = new NetDriverRx(q.driver(), alloc, bufSize, f);
            NetDeviceRx dev = new NetDeviceRx(q.device(), f);
            try (PacketBatch src = new PacketBatch(32, 2048); PacketBatch dst = new PacketBatch(32, 2048)) {
                Random rnd = new Random(1);
                int seed = 0, checked = 0;
                for (int round = 0; round < 40; round++) {
                    src.clear();
                    int n = 1 + rnd.nextInt(32);
                    int[] lens = new int[n];
                    for (int i = 0; i < n; i++) {
                        lens[i] = rnd.nextInt(1900);
                        fillPacket(src, src.add(), lens[i], seed + i);
                    }
                    int from = 0;
                    int guard = 0;
                    dst.clear();
                    while (from < n || dst.count() < n) {
                        drx.refill();
                        q.driver().publish();
                        from = dev.deliver(src, from);
                        q.device().publish();
                        drx.receive(dst);
                        assertTrue(++guard < 1000, "no progress");
                    }
                    assertEquals(n, dst.count());
                    for (int i = 0; i < n; i++) checkPacket(dst, i, lens[i], seed + i);
                    seed += n;
                    checked += n;
                }
                assertTrue(checked > 100);
                assertEquals(0, drx.droppedMalformed());
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"false", "true"})
    void txDriverToDevice(boolean packed) {
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.INDIRECT_DESC);
        try (Tx t = new Tx(packed, f)) {
            Q q = t.q;
            NetDriverTx dtx = t.dtx;
            NetDeviceTx dev = t.dev;
            try (PacketBatch src = new PacketBatch(64, 2048); PacketBatch dst = new PacketBatch(64, 2048)) {
                Random rnd = new Random(2);
                int seed = 0;
                for (int round = 0; round < 30; round++) {
                    src.clear();
                    dst.clear();
                    int n = 1 + rnd.nextInt(64);
                    int[] lens = new int[n];
                    for (int i = 0; i < n; i++) {
                        lens[i] = rnd.nextInt(1900);
                        fillPacket(src, src.add(), lens[i], seed + i);
                    }
                    int from = 0, guard = 0;
                    while (from < n || dst.count() < n) {
                        from = dtx.transmit(src, from);
                        q.driver().publish();
                        dev.receive(dst, 64);
                        q.device().publish();
                        dtx.reclaim();
                        assertTrue(++guard < 1000, "no progress");
                    }
                    for (int i = 0; i < n; i++) checkPacket(dst, i, lens[i], seed + i);
                    seed += n;
                }
            }
        }
    }

    /**
     * Zero copy: packets of a batch in the driver's registered memory go out where they are (the
     * device reads the batch itself, header in the headroom), arrive byte for byte, and the
     * batch counts as in flight until the device has completed every one.
     */
    @ParameterizedTest
    @CsvSource({"false", "true"})
    void txInPlaceSendsTheBatchItself(boolean packed) {
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.NET_MRG_RXBUF);
        try (Tx t = new Tx(packed, f)) {
            GuestMemory mem = t.mem;
            GuestAllocator alloc = t.alloc;
            Q q = t.q;
            NetDriverTx dtx = t.dtx;
            NetDeviceTx dev = t.dev;
            long batchGpa = alloc.allocate(48L * 2048, 64);
            PacketBatch src = new PacketBatch(mem.slice(batchGpa, 48L * 2048), 48, 2048, PacketBatch.DEFAULT_HEADROOM);
            int k = dtx.registerInPlace();
            try (PacketBatch dst = new PacketBatch(64, 2048)) {
                Random rnd = new Random(3);
                int seed = 0;
                for (int round = 0; round < 20; round++) {
                    src.clear();
                    dst.clear();
                    int n = 1 + rnd.nextInt(48);
                    int[] lens = new int[n];
                    for (int i = 0; i < n; i++) {
                        lens[i] = 1 + rnd.nextInt(1900);
                        fillPacket(src, src.add(), lens[i], seed + i);
                    }
                    int from = 0, guard = 0;
                    while (from < n || dst.count() < n) {
                        from = dtx.transmitInPlace(src, from, batchGpa, k);
                        q.driver().publish();
                        if (from > 0)
                                assertTrue(dtx.inFlight(k) > 0 || dst.count() > 0, "queued packets count as in flight");
                        dev.receive(dst, 64);
                        q.device().publish();
                        dtx.reclaim();
                        assertTrue(++guard < 1000, "no progress");
                    }
                    assertEquals(0, dtx.inFlight(k), "every packet completed");
                    for (int i = 0; i < n; i++) checkPacket(dst, i, lens[i], seed + i);
                    seed += n;
                }
                src.clear();
                src.setData(src.add(), 4, 100);
                assertThrows(IllegalArgumentException.class, () -> dtx.transmitInPlace(src, 0, batchGpa, k),
                        "a packet without room for the header in its headroom");
            }
            for (int i = 1; i < NetDriverTx.MAX_IN_PLACE; i++) dtx.registerInPlace();
            assertThrows(IllegalStateException.class, dtx::registerInPlace);
        }
    }
}
