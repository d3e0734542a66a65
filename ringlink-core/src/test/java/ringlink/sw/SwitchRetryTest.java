package ringlink.sw;

import static org.junit.jupiter.api.Assertions.*;
import static ringlink.sw.SwitchTest.frame;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkCounters;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.PacketBatch;
import ringlink.sys.Fd;

/** A port that is full for a moment gets a bounded retry instead of losing the packets. */
@Timeout(60)
class SwitchRetryTest {
    static final long A = 0x02_00_00_00_02_0aL, BCAST = 0xff_ff_ff_ff_ff_ffL;

    final List<PairLink[]> pairs = new ArrayList<>();
    Switch sw;

    @AfterEach
    void tearDown() {
        if (sw != null) sw.close();
        for (PairLink[] p : pairs) p[1].free();
    }

    /** A port that refuses the first offer of each run ({@code refuse} = 1) or every offer (-1). */
    static final class Full implements Link {
        final Link in;
        final int refuse;
        final AtomicInteger refused = new AtomicInteger();
        boolean last;

        Full(Link in, int refuse) {
            this.in = in;
            this.refuse = refuse;
        }

        @Override public String name() { return in.name() + "(full)"; }
        @Override public Layer layer() { return in.layer(); }
        @Override public int mtu() { return in.mtu(); }
        @Override public Offloads offloads() { return in.offloads(); }
        @Override public int maxReceiveSize() { return in.maxReceiveSize(); }
        @Override public int receive(PacketBatch b) throws IOException { return in.receive(b); }
        @Override public Fd readyFd() { return in.readyFd(); }
        @Override public boolean prepareToWait() throws IOException { return in.prepareToWait(); }
        @Override public void finishWait() throws IOException { in.finishWait(); }
        @Override public LinkCounters counters() { return in.counters(); }
        @Override public boolean isOpen() { return in.isOpen(); }
        @Override public void close() { in.close(); }

        /** When set, transmits go to it instead (a port whose behaviour changes under the switch). */
        volatile Full delegate;

        @Override
        public int transmit(PacketBatch b, int from, int to) throws IOException {
            Full d = delegate;
            if (d != null) return d.transmit(b, from, to);
            // refuse == 1: every other offer is refused, so each run's first offer fails and the retry succeeds.
            if (refuse < 0 || (last = !last)) {
                refused.incrementAndGet();
                return 0;
            }
            return in.transmit(b, from, to);
        }
    }

    PairLink[] pair(String name) throws IOException {
        PairLink[] p = PairLink.create(name, 256, 2048, Layer.L2, 1500, Offloads.ALL);
        pairs.add(p);
        return p;
    }

    int deliver(Link from, Link to, int runs, int expect) throws Exception {
        try (PacketBatch tx = new PacketBatch(8, 2048); PacketBatch rx = new PacketBatch(64, 2048)) {
            int got = 0;
            for (int r = 0; r < runs; r++) {
                tx.clear();
                for (int k = 0; k < 4; k++) frame(tx, BCAST, A, -1, 32);
                assertEquals(4, from.transmit(tx));
                // All expected: wait for each run; some dropped by design: a short wait per run.
                long deadline = System.nanoTime() + (expect == runs * 4 ? 5_000_000_000L : 300_000_000L);
                int want = Math.min(expect, (r + 1) * 4);
                while (got < want && System.nanoTime() < deadline) {
                    rx.clear();
                    got += to.receive(rx);
                    if (got < want) Thread.sleep(1);
                }
            }
            Thread.sleep(50);
            rx.clear();
            got += to.receive(rx);
            return got;
        }
    }

    @Test
    void aPortFullForAMomentLosesNothing() throws Exception {
        PairLink[] a = pair("rlsr-a"), b = pair("rlsr-b");
        Full full = new Full(b[0], 1);
        sw = Switch.builder().threads(1).port(a[0]).port(full).log(m -> { }).build();
        sw.start();
        assertEquals(40, deliver(a[1], b[1], 10, 40));
        assertTrue(full.refused.get() >= 10, "the port was full at first for every run: " + full.refused);
        var drops = sw.stats().ports().get(1).drops();
        assertEquals(0, drops.getOrDefault(DropReason.BACKPRESSURE, 0L), drops.toString());
        assertEquals(40, sw.retried(1));
    }

    @Test
    void withoutRetryTheSameRunsAreDropped() throws Exception {
        PairLink[] a = pair("rlsr-c"), b = pair("rlsr-d");
        Full full = new Full(b[0], 1);
        sw = Switch.builder().threads(1).txRetry(Duration.ZERO).port(a[0]).port(full).log(m -> { }).build();
        sw.start();
        int got = deliver(a[1], b[1], 10, 20);
        assertTrue(got < 40, "half the runs meet a full port and are dropped: got " + got);
        assertEquals(40 - got, sw.stats().ports().get(1).drops().get(DropReason.BACKPRESSURE));
    }

    @Test
    void aPortThatStaysFullDoesNotStallTheOthers() throws Exception {
        PairLink[] a = pair("rlsr-e"), b = pair("rlsr-f"), c = pair("rlsr-g");
        Full stuck = new Full(c[0], -1);
        sw = Switch.builder().threads(1).txRetry(Duration.ofMillis(1)).port(a[0]).port(b[0]).port(stuck).log(m -> { })
                .build();
        sw.start();
        assertEquals(200, deliver(a[1], b[1], 50, 200), "the good port gets every flooded frame");
        assertEquals(200, sw.stats().ports().get(2).drops().get(DropReason.BACKPRESSURE));
        // After one retry that took nothing the port is stalled: later runs make one offer each,
        // not a retry each (that would be hundreds of offers and up to 4 ms per run).
        assertTrue(stuck.refused.get() < 2000, "offers to the stuck port: " + stuck.refused);
    }

    @Test
    void aStalledPortIsRetriedAgainOnceItTakesPackets() throws Exception {
        PairLink[] a = pair("rlsr-h"), b = pair("rlsr-i");
        Full full = new Full(b[0], -1);
        sw = Switch.builder().threads(1).txRetry(Duration.ofMillis(1)).port(a[0]).port(full).log(m -> { }).build();
        sw.start();
        deliver(a[1], b[1], 2, 0); // full: the first run's retry takes nothing, the port is stalled
        assertEquals(8, sw.stats().ports().get(1).drops().get(DropReason.BACKPRESSURE));
        Full flaky = new Full(b[0], 1); // from now on a run's first offer fails, the retry succeeds
        full.delegate = flaky;
        // One run meets the stalled port (its first offer refused: dropped at once, no retry)...
        int got = deliver(a[1], b[1], 10, 36);
        // ...then a first offer is taken again and retries are back: at most one run lost.
        assertTrue(got >= 36, "got " + got);
        assertTrue(sw.retried(1) > 0, "retried again");
    }
}
