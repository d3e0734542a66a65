package ringlink.sw;

import static org.junit.jupiter.api.Assertions.*;
import static ringlink.sw.SwitchTest.frame;
import static ringlink.sw.SwitchTest.mac;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.PacketBatch;

/** Ports added and removed while the switch runs, with traffic on the other ports. */
@Timeout(120)
class SwitchPortsTest {
    static final long A = 0x02_00_00_00_01_0aL, B = 0x02_00_00_00_01_0bL, C = 0x02_00_00_00_01_0cL;
    static final long BCAST = 0xff_ff_ff_ff_ff_ffL;

    final List<PairLink[]> pairs = new ArrayList<>();
    final PacketBatch tx = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
    final PacketBatch rx = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
    final List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
    Switch sw;

    @AfterEach
    void tearDown() {
        if (sw != null) sw.close();
        for (PairLink[] p : pairs) p[1].free();
        tx.close();
        rx.close();
    }

    PairLink[] pair(String name, int buffer) throws IOException {
        PairLink[] p = PairLink.create(name, 256, buffer, Layer.L2, 1500, Offloads.ALL);
        pairs.add(p);
        return p;
    }

    Switch.Builder builder() {
        return Switch.builder().threads(2).busyPoll(Duration.ofNanos(20_000)).log(log::add);
    }

    void send(Link from, long dst, long src, int payload) throws IOException {
        tx.clear();
        frame(tx, dst, src, -1, payload);
        assertEquals(1, from.transmit(tx));
    }

    /** Receives exactly {@code n} packets within 10 s, then checks nothing more arrives for a moment. */
    PacketBatch expect(Link at, int n) throws IOException, InterruptedException {
        rx.clear();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (rx.count() < n && System.nanoTime() < deadline) {
            if (at.receive(rx) == 0) Thread.sleep(1);
        }
        assertEquals(n, rx.count(), at.name() + ": packets received");
        Thread.sleep(30);
        assertEquals(0, at.receive(rx), at.name() + ": unexpected extra packets");
        return rx;
    }

    @Test
    void anAddedPortForwardsBothWaysAndARemovedOneIsClosedAndForgotten() throws Exception {
        PairLink[] a = pair("rlsp-a", 2048), b = pair("rlsp-b", 2048), c = pair("rlsp-c", 2048);
        sw = builder().port(a[0]).port(b[0]).build();
        sw.start();
        int ci = sw.addPort(c[0], null);
        assertEquals(2, ci);
        assertTrue(sw.hasPort(ci));
        assertEquals(ci, sw.indexOf(c[0].name()));
        send(c[1], BCAST, C, 32); // flooded to both old ports, C learned on the new one
        expect(a[1], 1);
        expect(b[1], 1);
        send(a[1], C, A, 32); // unicast to the new port
        assertEquals(A, mac(expect(c[1], 1), 0, 6));
        expect(b[1], 0);
        assertEquals(ci, sw.lookup(C, 0));
        assertEquals(3, sw.stats().ports().size());

        sw.removePort(c[0].name());
        assertFalse(c[0].isOpen(), "the switch closed the removed port's link");
        assertFalse(sw.hasPort(ci));
        assertEquals(-1, sw.lookup(C, 0), "addresses learned on it are forgotten");
        assertEquals(2, sw.stats().ports().size());
        send(a[1], C, A, 32); // C unknown again: flooded to the port that is left
        expect(b[1], 1);
        assertThrows(IllegalArgumentException.class, () -> sw.removePort(ci));
        assertThrows(IllegalArgumentException.class, () -> sw.removePort("nope"));

        // The freed index is reused; a second port of the same name is refused (and closed).
        PairLink[] d = pair("rlsp-d", 2048);
        assertEquals(ci, sw.addPort(d[0], null));
        PairLink[] dup = PairLink.create("rlsp-d", 16, 2048, Layer.L2, 1500, Offloads.ALL);
        try {
            var e = assertThrows(IllegalArgumentException.class, () -> sw.addPort(dup[0], null));
            assertTrue(e.getMessage().contains("exists"), e.getMessage());
            assertFalse(dup[0].isOpen());
        } finally {
            dup[1].free();
        }
        send(d[1], BCAST, C, 32);
        expect(a[1], 1);
        expect(b[1], 1);
        assertTrue(log.stream().anyMatch(m -> m.contains("removed")), log.toString());
    }

    @Test
    void portsComeToAnEmptySwitchAndAPortWithBiggerBuffersGrowsItsThreadsBatch() throws Exception {
        // The thread started for a 2 KB-buffer port gets a port receiving 9 KB frames later: its
        // receive batch must grow, or the big frame would not fit.
        sw = Switch.builder().threads(1).log(log::add).build();
        sw.start();
        PairLink[] a = pair("rlsp-e", 2048),
                b = PairLink.create("rlsp-f", 256, PacketBatch.SUPERPACKET_BUFFER, Layer.L2, 9000, Offloads.ALL);
        pairs.add(b);
        PairLink[] c = PairLink.create("rlsp-g", 256, PacketBatch.SUPERPACKET_BUFFER, Layer.L2, 9000, Offloads.ALL);
        pairs.add(c);
        sw.addPort(a[0], null);
        sw.addPort(b[0], null);
        sw.addPort(c[0], null);
        assertEquals(1, sw.pollerStats().size(), "one thread, as configured");
        assertEquals(3, sw.pollerStats().getFirst().ports());
        send(b[1], BCAST, B, 8000);
        expect(c[1], 1);
        assertEquals(8000 + 8 + 20 + 14, rx.length(0));
        expect(a[1], 0); // too big for a's buffers: dropped at a, not at the switch's receive
        // Idle since: the thread is asleep, and a sleep in progress counts as idle.
        Thread.sleep(1000);
        PollerStats ps = sw.pollerStats().getFirst();
        assertTrue(ps.alive());
        assertTrue(ps.wallNanos() >= 1_000_000_000L, ps.toString());
        assertTrue(ps.busyRatio(null) < 0.9, "an idle thread counted busy: " + ps);
    }

    @Test
    void addingAndRemovingPortsLosesNothingBetweenTheOthers() throws Exception {
        // Two ports carry a numbered stream (a window below the ring size, so the only way to
        // lose a packet would be the switch); meanwhile ports come and go 30 times, on both
        // threads. Every packet must arrive, in order.
        PairLink[] a = pair("rlsp-h", 2048), b = pair("rlsp-i", 2048);
        sw = builder().port(a[0]).port(b[0]).build();
        sw.start();
        send(b[1], BCAST, B, 32); // learn B so the stream is unicast
        expect(a[1], 1);
        AtomicLong received = new AtomicLong();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        long total = 200_000;
        Thread sender = Thread.ofPlatform().start(() -> {
            try (PacketBatch s = new PacketBatch(32, 2048)) {
                long seq = 0;
                while (seq < total && failed.get() == null) {
                    if (seq - received.get() > 128) {
                        Thread.onSpinWait();
                        continue;
                    }
                    s.clear();
                    int n = (int) Math.min(16, total - seq);
                    for (int k = 0; k < n; k++) {
                        int i = frame(s, B, A, -1, 32);
                        s.memory().set(ValueLayout.JAVA_LONG_UNALIGNED, s.dataOffset(i) + 14 + 20 + 8, seq + k);
                    }
                    int off = 0;
                    while (off < n) off += a[1].transmit(s, off, n); // the source side waits, never drops
                    seq += n;
                }
            } catch (Throwable t) {
                failed.compareAndSet(null, t);
            }
        });
        Thread receiver = Thread.ofPlatform().start(() -> {
            try (PacketBatch r = new PacketBatch(64, 2048)) {
                long expect = 0;
                long deadline = System.nanoTime() + 90_000_000_000L;
                while (expect < total && failed.get() == null) {
                    if (System.nanoTime() > deadline)
                            throw new AssertionError("only " + expect + " of " + total + " arrived");
                    r.clear();
                    int n = b[1].receive(r);
                    for (int k = 0; k < n; k++) {
                        if (mac(r, k, 6) != A) continue; // a broadcast from a port that came and went
                        long seq = r.memory().get(ValueLayout.JAVA_LONG_UNALIGNED, r.dataOffset(k) + 14 + 20 + 8);
                        if (seq != expect)
                                throw new AssertionError("packet " + seq + " arrived where " + expect + " was due");
                        expect++;
                    }
                    received.set(expect);
                    if (n == 0) Thread.onSpinWait();
                }
            } catch (Throwable t) {
                failed.compareAndSet(null, t);
            }
        });
        int changes = 0;
        try {
            for (int k = 0; k < 30 && failed.get() == null; k++) {
                PairLink[] p = PairLink.create("rlsp-x" + k, 64, 2048, Layer.L2, 1500, Offloads.ALL);
                try {
                    int idx = sw.addPort(p[0], null);
                    changes++;
                    Thread.sleep(k % 3);
                    send(p[1], BCAST, C, 32); // the new port's traffic also crosses the running ports
                    sw.removePort(idx);
                    changes++;
                } finally {
                    p[1].free();
                }
            }
        } finally {
            sender.join(100_000);
            receiver.join(100_000);
        }
        if (failed.get() != null)
                throw new AssertionError("stream broken after " + changes + " port changes", failed.get());
        assertEquals(total, received.get());
        assertEquals(60, changes);
        // What the sender transmitted reached b; nothing was dropped on the two stream ports.
        for (PortStats ps : sw.stats().ports()) {
            assertEquals(0, ps.forwarded().txDrops(), ps.name() + " dropped " + ps.drops());
            assertEquals(0, ps.forwarded().rxDrops(), ps.name() + " dropped " + ps.drops());
        }
        assertEquals(2, sw.stats().ports().size());
    }

    @Test
    void vlanMembershipChangesAtRunTime() throws Exception {
        PairLink[] a = pair("rlsp-v", 2048), b = pair("rlsp-w", 2048);
        sw = builder().vlanAware(true).port(a[0], PortVlan.access(10)).port(b[0], PortVlan.access(20)).build();
        sw.start();
        send(a[1], BCAST, A, 32);
        expect(b[1], 0); // different VLANs
        sw.setPortVlan(1, PortVlan.access(10));
        assertEquals("access 10", sw.portVlan(1).toString());
        send(a[1], BCAST, A, 32);
        expect(b[1], 1);
        Switch plain = Switch.builder().build();
        try {
            assertThrows(IllegalStateException.class, () -> plain.setPortVlan(0, PortVlan.access(1)));
        } finally {
            plain.close();
        }
    }

    @Test
    void aClosedSwitchTakesNoPortAndClosesTheLinkItWasGiven() throws Exception {
        PairLink[] a = pair("rlsp-z", 2048);
        sw = builder().build();
        sw.start();
        sw.close();
        assertThrows(IllegalStateException.class, () -> sw.addPort(a[0], null));
        assertFalse(a[0].isOpen());
    }
}
