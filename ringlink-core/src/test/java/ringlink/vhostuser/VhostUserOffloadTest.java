package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.link.Link;
import ringlink.link.Offloads;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;

/**
 * Offload metadata crosses vhost-user untouched in both directions: a partially checksummed
 * packet and a TSO superpacket (spread over many MRG_RXBUF buffers on the way to the driver).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserOffloadTest {

    /**
     * Makes packet {@code i} (its bytes already there) an Ethernet/IPv4/TCP superpacket: peers' superpackets are
     * checked against their headers.
     */
    static void tcp4Headers(PacketBatch b, int i) {
        java.lang.foreign.MemorySegment m = b.memory();
        long o = b.dataOffset(i);
        var be16 = java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
        m.set(be16, o + 12, (short) 0x0800);
        m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 14, (byte) 0x45);
        m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 15, (byte) 0);
        m.set(be16, o + 16, (short) (b.length(i) - 14));
        m.set(be16, o + 20, (short) 0x4000); // DF, not a fragment
        m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 22, (byte) 64);
        m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 23, (byte) 6);
        m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 34 + 12, (byte) 0x50);
    }

    static void sendAndCheck(Link from, Link to) throws Exception {
        try (PacketBatch out = new PacketBatch(2, PacketBatch.SUPERPACKET_BUFFER);
             PacketBatch in = new PacketBatch(4, PacketBatch.SUPERPACKET_BUFFER)) {
            int a = out.add();
            out.setLength(a, 1000);
            out.setOffload(a, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_NONE, 0, 0, 34, 16);
            int b = out.add();
            out.setLength(b, 30_000);
            out.memory().asSlice(out.dataOffset(b), 30_000).fill((byte) 0x3c);
            tcp4Headers(out, b);
            out.setOffload(b, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 54, 1448, 34, 16);
            assertEquals(2, from.transmit(out));
            long end = System.currentTimeMillis() + 5000;
            while (in.count() < 2 && System.currentTimeMillis() < end) to.receive(in);
            assertEquals(2, in.count());
            assertEquals(1000, in.length(0));
            assertTrue(in.needsCsum(0));
            assertEquals(34, in.csumStart(0));
            assertEquals(16, in.csumOffset(0));
            assertFalse(in.isGso(0));
            assertEquals(30_000, in.length(1));
            assertEquals(VirtioNetHdr.GSO_TCPV4, in.gsoType(1));
            assertEquals(1448, in.gsoSize(1));
            assertEquals(54, in.hdrLen(1));
            assertEquals(0x3c, in.memory().get(java.lang.foreign.ValueLayout.JAVA_BYTE, in.dataOffset(1) + 29_999));
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void checksumAndTsoBothWays(boolean packed) throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults());
             VhostUserFrontend fe = VhostUserFrontend.over(p[1],
                     FrontendConfig.defaults().withPacked(packed).withOffloads(Offloads.ALL))) {
            assertTrue(be.awaitReady(1, 5000));
            assertEquals(Offloads.ALL, fe.link(0).offloads());
            assertEquals(Offloads.ALL, be.link(0).offloads());
            assertTrue(be.link(0).maxReceiveSize() >= 65535);
            sendAndCheck(fe.link(0), be.link(0));
            sendAndCheck(be.link(0), fe.link(0));
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void withoutOffloadsATsoPacketIsACallerError(boolean packed) throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults().withOffloads(Offloads.NONE));
             VhostUserFrontend fe = VhostUserFrontend.over(p[1],
                     FrontendConfig.defaults().withPacked(packed).withOffloads(Offloads.ALL));
             PacketBatch out = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER)) {
            assertTrue(be.awaitReady(1, 5000));
            assertEquals(Offloads.NONE, be.link(0).offloads());
            int i = out.add();
            out.setLength(i, 3000);
            out.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 54, 1448, 34, 16);
            assertThrows(IllegalArgumentException.class, () -> be.link(0).transmit(out));
            assertThrows(IllegalArgumentException.class, () -> fe.link(0).transmit(out));
        }
    }
}
