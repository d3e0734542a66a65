package ringlink.sw;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.PacketBatch;

/** {@link Switch.Builder#filter}: the per-packet hook drops, rewrites in place, and survives throwing. */
@Timeout(60)
class SwitchFilterTest {
    static final long A = 0x02_00_00_00_00_0aL, B = 0x02_00_00_00_00_0bL, C = 0x02_00_00_00_00_0cL,
            D = 0x02_00_00_00_00_0dL;
    static final long BCAST = 0xff_ff_ff_ff_ff_ffL;
    final List<PairLink[]> pairs = new ArrayList<>();
    final PacketBatch tx = new PacketBatch(8, 2048), rx = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
    Switch sw;

    @AfterEach
    void tearDown() {
        if (sw != null) sw.close();
        for (PairLink[] p : pairs) p[1].free();
        tx.close();
        rx.close();
    }

    private void send(Link from, long dst, long src) throws IOException {
        tx.clear();
        SwitchTest.frame(tx, dst, src, -1, 32);
        assertEquals(1, from.transmit(tx));
    }

    /** Receives exactly {@code n} frames within 5 s (then nothing more for a moment). */
    private PacketBatch expect(Link at, int n) throws Exception {
        rx.clear();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (rx.count() < n && System.nanoTime() < deadline) if (at.receive(rx) == 0) Thread.sleep(1);
        Thread.sleep(30);
        at.receive(rx);
        assertEquals(n, rx.count(), at.name());
        return rx;
    }

    private long filtered(int port) {
        return sw.stats().ports().get(port).drops().getOrDefault(DropReason.FILTERED, 0L);
    }

    @Test
    void theFilterDropsRewritesAndAThrowingFilterDropsOnlyThatFrame() throws Exception {
        ConcurrentLinkedQueue<Integer> seenPorts = new ConcurrentLinkedQueue<>();
        PacketFilter f = (port, b, i) -> {
            seenPorts.add(port);
            if (port == 1) return false; // nothing from port 1 gets in
            long off = b.dataOffset(i);
            if (SwitchTest.mac(b, i, 6) == C) throw new IllegalStateException("a buggy filter");
            b.memory().set(ValueLayout.JAVA_BYTE, off + 14 + 8, (byte) 7); // IPv4 TTL := 7, in place
            return true;
        };
        Link[] p = new Link[3];
        Switch.Builder builder = Switch.builder().threads(2).filter(f);
        for (int k = 0; k < 3; k++) {
            PairLink[] pl =
                    PairLink.create("rlswf" + k, 256, PacketBatch.SUPERPACKET_BUFFER, Layer.L2, 1500, Offloads.ALL);
            pairs.add(pl);
            builder.port(pl[0]);
            p[k] = pl[1];
        }
        sw = builder.build();
        sw.start();

        send(p[0], BCAST, A);
        PacketBatch got = expect(p[1], 1);
        assertEquals(7, got.memory().get(ValueLayout.JAVA_BYTE, got.dataOffset(0) + 14 + 8), "rewritten by the filter");
        expect(p[2], 1);
        assertEquals(0, filtered(0));

        send(p[1], BCAST, B);
        expect(p[0], 0);
        expect(p[2], 0);
        assertEquals(1, filtered(1));
        assertEquals(-1, sw.lookup(B, 0), "a filtered frame's source is not learned");

        send(p[2], BCAST, C); // the filter throws: that frame is dropped, the port stays up
        expect(p[0], 0);
        expect(p[1], 0);
        assertEquals(1, filtered(2));
        assertTrue(sw.stats().ports().get(2).up());
        send(p[2], BCAST, D);
        expect(p[0], 1);
        expect(p[1], 1);
        assertTrue(seenPorts.containsAll(List.of(0, 1, 2)), seenPorts::toString);
        assertThrows(NullPointerException.class, () -> Switch.builder().filter(null));
    }
}
