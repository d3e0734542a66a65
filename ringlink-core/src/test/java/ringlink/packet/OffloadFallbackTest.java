package ringlink.packet;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one software fallback of the switch and the relay: checksum in place, or segments in rounds. */
class OffloadFallbackTest {
    private static TestPackets.Spec tcp(int payload) {
        TestPackets.Spec s = new TestPackets.Spec();
        s.framing = Framing.ETHERNET;
        s.flags = Tcp.TH_ACK;
        s.payload = new byte[payload];
        new java.util.Random(3).nextBytes(s.payload);
        return s;
    }

    @Test
    void aPartialChecksumIsFinishedInPlaceAndSentAsItself() {
        try (PacketBatch b = new PacketBatch(2, 2048); PacketBatch scratch = new PacketBatch(4, 2048)) {
            TestPackets.Spec s = tcp(100);
            int i = TestPackets.add(b, TestPackets.build(s, true));
            b.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_NONE, 0, 0, TestPackets.l4Offset(s),
                    Tcp.OFF_CHECK);
            List<int[]> sent = new ArrayList<>();
            boolean segmented = new OffloadFallback(Framing.ETHERNET).fix(b, i, scratch, (p, from, to) -> {
                assertSame(b, p);
                sent.add(new int[] {from, to});
                return true;
            });
            assertFalse(segmented);
            assertEquals(1, sent.size());
            assertArrayEquals(new int[] {i, i + 1}, sent.get(0));
            assertTrue(Slow.checksumsValid(TestPackets.get(b, i), true));
            assertEquals(0, b.flags(i) & VirtioNetHdr.F_NEEDS_CSUM);
        }
    }

    @Test
    void aSuperpacketIsSegmentedInRoundsOfTheScratchBatchUntilTheSinkStops() {
        try (PacketBatch b = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
                PacketBatch scratch = new PacketBatch(2, 2048)) {
            int i = GsoTest.superpacket(b, tcp(5000), 1000); // 5 segments, 2 per round
            List<Integer> rounds = new ArrayList<>();
            OffloadFallback f = new OffloadFallback(Framing.ETHERNET);
            assertTrue(f.fix(b, i, scratch, (p, from, to) -> {
                assertSame(scratch, p);
                for (int k = from; k < to; k++) assertTrue(Slow.checksumsValid(TestPackets.get(p, k), true));
                rounds.add(to - from);
                return true;
            }));
            assertEquals(List.of(2, 2, 1), rounds);
            rounds.clear();
            assertTrue(f.fix(b, i, scratch, (p, from, to) -> rounds.add(to - from) && false));
            assertEquals(List.of(2), rounds, "a sink that returns false stops the segmentation");
        }
    }

    @Test
    void lyingMetadataThrowsBeforeAnythingOfAPlainPacketIsSent() {
        try (PacketBatch b = new PacketBatch(1, 2048); PacketBatch scratch = new PacketBatch(2, 2048)) {
            int i = TestPackets.add(b, TestPackets.build(tcp(100), true));
            b.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_NONE, 0, 0, 4000, 16);
            assertThrows(MalformedPacketException.class,
                    () -> new OffloadFallback(Framing.ETHERNET).fix(b, i, scratch, (p, from, to) -> {
                throw new AssertionError("sent");
            }));
        }
    }
}
