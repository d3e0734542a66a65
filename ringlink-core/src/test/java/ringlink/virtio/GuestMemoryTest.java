package ringlink.virtio;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class GuestMemoryTest {
    @Test
    void translationChecksEveryRange() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(4096), b = arena.allocate(8192);
            GuestMemory mem = GuestMemory.of(new GuestMemory.Region(0x3000, 0x7f00_0000L, b),
                    new GuestMemory.Region(0, 0x7e00_0000L, a));
            assertEquals(2, mem.regionCount());
            assertEquals(0, mem.region(0).guestAddress(), "sorted by guest address");
            assertEquals(a.address() + 10, mem.slice(10, 100).address());
            assertEquals(b.address() + 5, mem.slice(0x3005, 10).address());
            assertEquals(4096, mem.slice(0, 4096).byteSize());
            assertEquals(0, mem.slice(4096, 0).byteSize(), "empty range at a region end");
            // the hole [0x1000, 0x3000), a crossing, an overflow, a negative length
            assertThrows(GuestMemoryException.class, () -> mem.slice(0x1000, 1));
            assertThrows(GuestMemoryException.class, () -> mem.slice(0xfff, 2));
            assertThrows(GuestMemoryException.class, () -> mem.slice(0x3000, 8193));
            assertThrows(GuestMemoryException.class, () -> mem.find(0x3000, Long.MAX_VALUE));
            assertThrows(GuestMemoryException.class, () -> mem.find(-1, 2));
            assertThrows(GuestMemoryException.class, () -> mem.find(0, -1));
            assertFalse(mem.contains(0x5000, 1));
            // user addresses (vhost-user SET_VRING_ADDR) and back
            assertEquals(0x3010, mem.userToGuest(0x7f00_0010L, 16));
            assertEquals(0x7f00_0010L, mem.guestToUser(0x3010, 16));
            assertThrows(GuestMemoryException.class, () -> mem.userToGuest(0x7f00_0000L + 8190, 4));
        }
    }

    @Test
    void regionsFromMappingsAndOverlaps() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment map = arena.allocate(16384);
            GuestMemory.Region r = GuestMemory.Region.ofMapping(0x100000, 8192, 0x5555_0000L, map, 4096);
            assertEquals(map.address() + 4096, r.segment().address());
            assertEquals(8192, r.size());
            assertThrows(IllegalArgumentException.class, () -> GuestMemory.Region.ofMapping(0, 16384, 0, map, 4096));
            assertThrows(IllegalArgumentException.class, () ->
                    GuestMemory.of(GuestMemory.Region.of(0, map), GuestMemory.Region.of(100, arena.allocate(10))));
            assertThrows(IllegalArgumentException.class, () -> GuestMemory.of());
            GuestMemory.Region id = GuestMemory.Region.identity(map);
            assertEquals(map.address(), id.guestAddress());
            assertEquals(map.address(), id.userAddress());
        }
    }

    @Test
    void featureSetNamesAndNegotiation() {
        FeatureSet dev = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.NET_MRG_RXBUF, VirtioFeature.RING_PACKED,
                VirtioFeature.NET_HOST_USO);
        FeatureSet drv = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.NET_MRG_RXBUF, VirtioFeature.EVENT_IDX);
        FeatureSet acked = dev.and(drv);
        assertTrue(acked.has(VirtioFeature.NET_MRG_RXBUF));
        assertFalse(acked.has(VirtioFeature.RING_PACKED));
        assertEquals("[VIRTIO_NET_F_MRG_RXBUF, VIRTIO_F_VERSION_1]", acked.toString());
        assertEquals("[VIRTIO_NET_F_HOST_USO, bit58]",
                new FeatureSet(VirtioFeature.NET_HOST_USO.mask() | 1L << 58).toString());
        assertEquals(56, VirtioFeature.NET_HOST_USO.bit());
        assertEquals("VIRTIO_RING_F_EVENT_IDX", VirtioFeature.EVENT_IDX.specName());
    }

    @Test
    void needEventWrapsAround() {
        assertTrue(VirtqLayout.needEvent(5, 6, 5));
        assertFalse(VirtqLayout.needEvent(6, 6, 5));
        assertTrue(VirtqLayout.needEvent(0xffff, 2, 0xfffe), "event just before the 16-bit wrap");
        assertTrue(VirtqLayout.needEvent(0, 2, 0xfffe), "event just after the wrap");
        assertFalse(VirtqLayout.needEvent(3, 2, 0xfffe));
    }
}
