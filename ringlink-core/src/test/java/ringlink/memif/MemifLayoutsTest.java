package ringlink.memif;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.StructLayout;
import org.junit.jupiter.api.Test;

/**
 * The offset constants agree with each class's {@code LAYOUT} (the packed struct written out
 * field by field), and the sizes with memif.h's (a 128-byte message, 16-byte descriptors, a
 * 128-byte ring header). Against DPDK itself: {@link MemifLayoutTest}.
 */
class MemifLayoutsTest {
    static long off(StructLayout l, String field) {
        return l.byteOffset(PathElement.groupElement(field));
    }

    @Test
    void offsetsMatchTheLayouts() {
        StructLayout h = MemifMsgHelloLayout.LAYOUT;
        assertEquals(MemifMsgHelloLayout.OFF_MIN_VERSION, off(h, "min_version"));
        assertEquals(MemifMsgHelloLayout.OFF_MAX_VERSION, off(h, "max_version"));
        assertEquals(MemifMsgHelloLayout.OFF_MAX_REGION, off(h, "max_region"));
        assertEquals(MemifMsgHelloLayout.OFF_MAX_M2S_RING, off(h, "max_m2s_ring"));
        assertEquals(MemifMsgHelloLayout.OFF_MAX_S2M_RING, off(h, "max_s2m_ring"));
        assertEquals(MemifMsgHelloLayout.OFF_MAX_LOG2_RING_SIZE, off(h, "max_log2_ring_size"));
        assertEquals(MemifMsgHelloLayout.SIZE, h.byteSize());
        StructLayout i = MemifMsgInitLayout.LAYOUT;
        assertEquals(MemifMsgInitLayout.OFF_ID, off(i, "id"));
        assertEquals(MemifMsgInitLayout.OFF_MODE, off(i, "mode"));
        assertEquals(MemifMsgInitLayout.OFF_SECRET, off(i, "secret"));
        assertEquals(MemifMsgInitLayout.OFF_NAME, off(i, "name"));
        assertEquals(MemifMsgInitLayout.SIZE, i.byteSize());
        assertEquals(MemifMsgAddRegionLayout.OFF_SIZE, off(MemifMsgAddRegionLayout.LAYOUT, "size"));
        assertEquals(MemifMsgAddRegionLayout.SIZE, MemifMsgAddRegionLayout.LAYOUT.byteSize());
        StructLayout r = MemifMsgAddRingLayout.LAYOUT;
        assertEquals(MemifMsgAddRingLayout.OFF_INDEX, off(r, "index"));
        assertEquals(MemifMsgAddRingLayout.OFF_REGION, off(r, "region"));
        assertEquals(MemifMsgAddRingLayout.OFF_OFFSET, off(r, "offset"));
        assertEquals(MemifMsgAddRingLayout.OFF_LOG2_RING_SIZE, off(r, "log2_ring_size"));
        assertEquals(MemifMsgAddRingLayout.OFF_PRIVATE_HDR_SIZE, off(r, "private_hdr_size"));
        assertEquals(MemifMsgAddRingLayout.SIZE, r.byteSize());
        assertEquals(MemifMsgConnectLayout.SIZE, MemifMsgConnectLayout.LAYOUT.byteSize());
        assertEquals(MemifMsgConnectedLayout.SIZE, MemifMsgConnectedLayout.LAYOUT.byteSize());
        assertEquals(MemifMsgDisconnectLayout.OFF_STRING, off(MemifMsgDisconnectLayout.LAYOUT, "string"));
        assertEquals(MemifMsgDisconnectLayout.SIZE, MemifMsgDisconnectLayout.LAYOUT.byteSize());
        StructLayout d = MemifDescLayout.LAYOUT;
        assertEquals(MemifDescLayout.OFF_REGION, off(d, "region"));
        assertEquals(MemifDescLayout.OFF_LENGTH, off(d, "length"));
        assertEquals(MemifDescLayout.OFF_OFFSET, off(d, "offset"));
        assertEquals(MemifDescLayout.OFF_METADATA, off(d, "metadata"));
        assertEquals(MemifDescLayout.SIZE, d.byteSize());
        StructLayout g = MemifRingLayout.LAYOUT;
        assertEquals(MemifRingLayout.OFF_FLAGS, off(g, "flags"));
        assertEquals(MemifRingLayout.OFF_HEAD, off(g, "head"));
        assertEquals(MemifRingLayout.OFF_TAIL, off(g, "tail"));
        assertEquals(MemifRingLayout.OFF_DESC, g.byteSize());
        // Every body fits the 128-byte message after the 2-byte type.
        for (long size : new long[] {MemifMsgHelloLayout.SIZE, MemifMsgInitLayout.SIZE, MemifMsgAddRegionLayout.SIZE,
                MemifMsgAddRingLayout.SIZE, MemifMsgConnectLayout.SIZE, MemifMsgDisconnectLayout.SIZE}) {
            assertEquals(true, MemifMsgLayout.OFF_BODY + size <= MemifMsgLayout.SIZE);
        }
    }
}
