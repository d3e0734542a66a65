package ringlink.link;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.ValueLayout;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;

@Timeout(60)
class LinkApiTest {

    @Test
    void specParsing() {
        LinkSpec s = LinkSpec.parse("tap:rl0?offload=tso,uso&queues=2");
        assertEquals("tap", s.scheme());
        assertEquals("rl0", s.target());
        assertEquals("tso,uso", s.param("offload", ""));
        assertEquals(2, s.intParam("queues", 1, 1, 16));
        assertEquals("tap:rl0?offload=tso,uso&queues=2", s.toString());
        assertEquals("/run/vm.sock", LinkSpec.parse("vhost-user:/run/vm.sock?mode=server").target());
        assertTrue(LinkSpec.parse("pair:x?flag").boolParam("flag", false));
        var e = assertThrows(IllegalArgumentException.class, () -> LinkSpec.parse("nocolon"));
        assertTrue(e.getMessage().contains("no scheme"));
        e = assertThrows(IllegalArgumentException.class, () -> s.intParam("offload", 1, 0, 5));
        assertTrue(e.getMessage().contains("offload"));
        e = assertThrows(IllegalArgumentException.class, () -> s.checkParams(Set.of("offload")));
        assertTrue(e.getMessage().contains("unknown parameter 'queues'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Links.open("nosuch:x"));
        assertTrue(e.getMessage().contains("pair"), e.getMessage());
    }

    @Test
    void offloadsAcceptOnlyWhatWasNegotiated() {
        try (PacketBatch b = new PacketBatch(4, 2048)) {
            int i = b.add();
            assertTrue(Offloads.NONE.accepts(b, i));
            b.setFlags(i, VirtioNetHdr.F_NEEDS_CSUM);
            assertFalse(Offloads.NONE.accepts(b, i));
            assertTrue(Offloads.parse("csum").accepts(b, i));
            b.setGso(i, VirtioNetHdr.GSO_TCPV4, 54, 1448);
            assertFalse(Offloads.parse("csum").accepts(b, i));
            assertTrue(Offloads.parse("tso4").accepts(b, i));
            b.setGso(i, VirtioNetHdr.GSO_UDP_L4, 42, 1400);
            assertFalse(Offloads.parse("tso").accepts(b, i));
            assertTrue(Offloads.parse("uso").accepts(b, i));
            assertEquals("csum,tso4,tso6,uso", Offloads.parse("tso,uso").toString());
            assertThrows(IllegalArgumentException.class, () -> Offloads.parse("tso,bogus"));
        }
    }

    @Test
    void pairMovesPacketsWithMetadataAcrossThreadsAndSleepsWhenIdle() throws Exception {
        Link a = Links.open("pair:t1?slots=64");
        Link b = Links.open("pair:t1");
        final long total = 200_000;
        AtomicLong received = new AtomicLong();
        Thread consumer = new Thread(() -> {
            try (PacketBatch rx = new PacketBatch(32, 2048)) {
                long expect = 0;
                while (expect < total) {
                    rx.clear();
                    int n = b.receive(rx);
                    if (n == 0) {
                        if (b.prepareToWait()) {
                            PollSet.pollOne(b.readyFd(), PollfdLayout.POLLIN, 1000);
                            b.finishWait();
                        }
                        continue;
                    }
                    for (int i = 0; i < n; i++) {
                        long seq = rx.memory().get(ValueLayout.JAVA_LONG_UNALIGNED, rx.dataOffset(i));
                        if (seq != expect) throw new AssertionError("got " + seq + " expected " + expect);
                        if (rx.length(i) != 8 + (int) (seq % 100)) throw new AssertionError("length");
                        if (rx.gsoSize(i) != (int) (seq & 0xfff)) throw new AssertionError("metadata");
                        expect++;
                    }
                }
                received.set(expect);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        consumer.start();
        try (PacketBatch tx = new PacketBatch(32, 2048)) {
            long seq = 0;
            while (seq < total) {
                tx.clear();
                while (!tx.isFull() && seq + tx.count() < total) {
                    int i = tx.add();
                    long v = seq + i;
                    tx.setLength(i, 8 + (int) (v % 100));
                    tx.memory().set(ValueLayout.JAVA_LONG_UNALIGNED, tx.dataOffset(i), v);
                    tx.setOffload(i, 0, 0, 0, (int) (v & 0xfff), 0, 0);
                }
                int off = 0;
                while (off < tx.count()) {
                    off += a.transmit(tx, off, tx.count());
                    if (off < tx.count()) Thread.onSpinWait();
                }
                seq += tx.count();
            }
        }
        consumer.join(30_000);
        assertEquals(total, received.get());
        assertEquals(total, a.counters().snapshot().txPackets());
        assertEquals(total, b.counters().snapshot().rxPackets());
        a.close();
        assertThrows(LinkClosedException.class, () -> b.receive(new PacketBatch(1, 2048)));
        ((PairLink) a).free();
    }
}
