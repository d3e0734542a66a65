package ringlink.shm;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.packet.OffloadValidator;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;

/**
 * The shm peer's offload metadata is checked on arrival like every peer's: a superpacket with a
 * tiny gso_size or lying headers is dropped and counted per reason, a peer's DATA_VALID and
 * unknown flags are cleared, good packets pass.
 */
@Timeout(30)
class ShmOffloadIngressTest {
    @Test
    void thePeersMetadataIsValidatedOnArrival() throws Exception {
        ShmLink.Options v = ShmLink.Options.defaults().withVnetHdr(true);
        ShmLink[] p = ShmLinkTest.pair(v, v);
        try (ShmLink server = p[0]; ShmLink client = p[1];
             PacketBatch b = new PacketBatch(8, PacketBatch.SUPERPACKET_BUFFER);
             PacketBatch r = new PacketBatch(8, PacketBatch.SUPERPACKET_BUFFER)) {
            int tiny = b.add(); // GSO amplification: gso_size 1 on 60 000 bytes
            b.setLength(tiny, 60_000);
            ShmLinkTest.tcp4Headers(b, tiny);
            b.setOffload(tiny, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 54, 1, 34, 16);
            int lying = b.add(); // no IP header at all
            b.setLength(lying, 30_000);
            b.setOffload(lying, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 54, 1448, 34, 16);
            int outside = b.add(); // checksum field beyond the packet
            b.setLength(outside, 100);
            b.setOffload(outside, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_NONE, 0, 0, 90, 16);
            int flagged = b.add(); // DATA_VALID and an unknown flag from a sender
            b.setLength(flagged, 100);
            b.setOffload(flagged, VirtioNetHdr.F_DATA_VALID | 0x40, VirtioNetHdr.GSO_NONE, 9, 9, 0, 0);
            int good = b.add();
            b.setLength(good, 60_000);
            ShmLinkTest.tcp4Headers(b, good);
            b.setOffload(good, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 200, 1448, 34, 16);
            assertEquals(5, client.transmit(b));
            long end = System.currentTimeMillis() + 5000;
            while (r.count() < 2 && System.currentTimeMillis() < end) server.receive(r);
            assertEquals(2, r.count());
            assertEquals(100, r.length(0));
            assertEquals(0, r.flags(0), "the peer's DATA_VALID and unknown flag cleared");
            assertEquals(0, r.hdrLen(0));
            assertEquals(60_000, r.length(1));
            assertEquals(54, r.hdrLen(1), "hdr_len corrected from the headers");
            var c = server.counters();
            assertEquals(1, c.invalidCount(OffloadValidator.Reason.GSO_SIZE));
            assertEquals(1, c.invalidCount(OffloadValidator.Reason.GSO_HEADERS));
            assertEquals(1, c.invalidCount(OffloadValidator.Reason.CSUM));
            assertEquals(3, c.snapshot().rxDrops());
        }
    }
}
