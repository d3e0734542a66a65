package ringlink.xdp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import ringlink.packet.PacketBatch;

/**
 * The ring logic of {@link XdpLink} against {@link XskSimulator} (no kernel, no privileges):
 * frames circulate without loss or duplication across many wrap-arounds of the 32-bit indices'
 * low bits, and every TX frame returns to the pool.
 */
class XskRingTest {
    @Test
    void receiveCirculatesEveryFrameThroughTheFillRing() throws Exception {
        try (XskSimulator sim = XskSimulator.create(256, 2048, 128); PacketBatch b = new PacketBatch(64, 2048)) {
            XdpLink l = sim.link();
            long total = 0;
            for (int round = 0; round < 2000; round++) {
                int d = sim.deliver(1 + round % 64, 60 + round % 100);
                b.clear();
                int n = l.receive(b);
                assertEquals(d, n, "round " + round);
                for (int i = 0; i < n; i++) assertEquals(60 + round % 100, b.length(i));
                total += n;
            }
            assertEquals(total, l.counters().snapshot().rxPackets());
            // Nothing leaked: the fill ring can still be drained of all 128 frames.
            int all = 0;
            for (int k = 0; k < 4 && all < 128; k++) {
                all += sim.deliver(64, 60);
                b.clear();
                l.receive(b);
            }
            assertEquals(128, all);
        }
    }

    @Test
    void transmitReturnsEveryFrameAndRespectsBackPressure() throws Exception {
        try (XskSimulator sim = XskSimulator.create(256, 2048, 128); PacketBatch b = new PacketBatch(64, 2048)) {
            XdpLink l = sim.link();
            for (int i = 0; i < 64; i++) {
                int k = b.add();
                b.setLength(k, 64);
                b.memory().set(ValueLayout.JAVA_INT, b.dataOffset(k), i);
            }
            // Without completions only the pool's 128 frames can go out.
            assertEquals(64, l.transmit(b));
            assertEquals(64, l.transmit(b));
            assertEquals(0, l.transmit(b));
            assertEquals(0, l.txFramesFree());
            assertEquals(128, sim.complete());
            for (int r = 0; r < 1000; r++) {
                assertEquals(64, l.transmit(b));
                sim.complete();
            }
            assertTrue(l.drainTx(1000));
            assertEquals(l.txFrames(), l.txFramesFree());
            assertEquals(128 + 64_000, l.counters().snapshot().txPackets());
        }
    }

    @Test
    void hostileCompletionsAreCountedNotUsed() throws Exception {
        try (XskSimulator sim = XskSimulator.create(256, 2048, 128); PacketBatch b = new PacketBatch(64, 2048)) {
            XdpLink l = sim.link();
            XskRing comp = l.socket().comp;
            var intAt = ValueLayout.JAVA_INT;
            int p = comp.mem.get(intAt, comp.producerOff);
            // Completions for addresses never sent: outside the UMEM, and the UMEM's very last byte.
            comp.setAddrEntry(p, 1L << 40);
            comp.setAddrEntry(p + 1, l.socket().umem().size() - 1);
            comp.mem.set(intAt, comp.producerOff, p + 2);
            for (int i = 0; i < 64; i++) b.setLength(b.add(), 64);
            assertEquals(64, l.transmit(b));
            assertEquals(2, l.counters().snapshot().errors());
            sim.complete();
            assertTrue(l.drainTx(1000));
            assertEquals(l.txFrames(), l.txFramesFree(), "the pool holds exactly its own frames");
        }
    }

    /**
     * close() from another thread wakes a thread asleep in epoll on readyFd (the eventfd stays in the set until it is
     * out).
     */
    @Test
    @org.junit.jupiter.api.Timeout(30)
    void closeWakesAnEpollSleeper() throws Exception {
        for (int round = 0; round < 20; round++) {
            try (XskSimulator sim = XskSimulator.create(64, 2048, 32)) {
                ringlink.testing.CloseWake.assertCloseWakesEpollSleeper(sim.link());
            }
        }
    }
}
