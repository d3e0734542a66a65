package ringlink.sw;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkDevice;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.PacketBatch;

/**
 * A multi-queue port (a {@link LinkDevice} of two in-memory pair links) on the switch: every
 * receive queue is served, each flow leaves by one queue, only enabled queues are used, and the
 * port's statistics have per-queue counters.
 */
@Timeout(60)
class MultiQueueSwitchTest {
    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final long A = 0x02_00_00_00_00_0aL, B = 0x02_00_00_00_00_0bL;

    final List<PairLink[]> pairs = new ArrayList<>();
    final PacketBatch tx = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
    final PacketBatch rx = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
    final AtomicBoolean queue1On = new AtomicBoolean(true);
    Switch sw;

    @AfterEach
    void tearDown() {
        if (sw != null) sw.close();
        for (PairLink[] p : pairs) p[1].free();
        tx.close();
        rx.close();
    }

    PairLink[] pair(String name) throws IOException {
        PairLink[] p = PairLink.create(name, 1024, 2048, Layer.L2, 1500, Offloads.NONE);
        pairs.add(p);
        return p;
    }

    /** Port 0: a device of two queues (queue 1 enabled while {@link #queue1On}); port 1: one queue. */
    Link[] build() throws IOException {
        PairLink[] a0 = pair("rlmq-a0"), a1 = pair("rlmq-a1"), b = pair("rlmq-b");
        List<Link> q = List.of(a0[0], a1[0]);
        LinkDevice dev = new LinkDevice() {
            @Override public String name() { return "mq"; }
            @Override public int queueCount() { return 2; }
            @Override public Link queue(int i) { return q.get(i); }
            @Override public boolean transmitEnabled(int i) { return i == 0 || queue1On.get(); }
            @Override public void close() { for (Link l : q) l.close(); }
        };
        sw = Switch.builder().threads(2).port(dev).port(b[0]).build();
        sw.start();
        return new Link[] {a0[1], a1[1], b[1]};
    }

    /** {@code n} UDP frames from {@code src} to {@code dst} per flow, the flows (source ports) interleaved. */
    void sendFlows(Link from, long dst, long src, int flows, int n) throws IOException {
        for (int k = 0; k < n; k++) {
            tx.clear();
            for (int f = 0; f < flows; f++) {
                int i = SwitchTest.frame(tx, dst, src, -1, 32);
                tx.memory().set(BE16, tx.dataOffset(i) + 14 + 20, (short) (40000 + f)); // UDP source port = flow
            }
            int sent = 0;
            while (sent < tx.count()) sent += from.transmit(tx, sent, tx.count());
        }
    }

    /** Frames received at {@code at} within a quiet period, per flow (UDP source port). */
    Map<Integer, Integer> drain(Link at) throws IOException, InterruptedException {
        Map<Integer, Integer> got = new HashMap<>();
        long last = System.currentTimeMillis();
        while (System.currentTimeMillis() - last < 300) {
            rx.clear();
            int n = at.receive(rx);
            if (n == 0) {
                Thread.sleep(1);
                continue;
            }
            last = System.currentTimeMillis();
            MemorySegment m = rx.memory();
            for (int i = 0; i < n; i++) got.merge(m.get(BE16, rx.dataOffset(i) + 14 + 20) & 0xffff, 1, Integer::sum);
        }
        return got;
    }

    @Test
    void eachFlowLeavesByOneEnabledQueueAndEveryQueueIsReceived() throws Exception {
        Link[] far = build();
        Link q0 = far[0], q1 = far[1], b = far[2];
        // Both receive queues of the device are polled: A speaks on each, B hears both.
        sendFlows(q0, B, A, 1, 10);
        sendFlows(q1, B, A, 1, 15);
        assertEquals(25, drain(b).values().stream().mapToInt(Integer::intValue).sum());

        // B -> A, 16 flows of 50 frames: each flow wholly on one queue, both queues used.
        sendFlows(b, A, B, 16, 50);
        Map<Integer, Integer> on0 = drain(q0), on1 = drain(q1);
        for (int f = 0; f < 16; f++) {
            int port = 40000 + f;
            int c0 = on0.getOrDefault(port, 0), c1 = on1.getOrDefault(port, 0);
            assertEquals(50, c0 + c1, "flow " + f);
            assertTrue(c0 == 0 || c1 == 0, "flow " + f + " split over both queues: " + c0 + " / " + c1);
        }
        assertFalse(on0.isEmpty(), "no flow on queue 0");
        assertFalse(on1.isEmpty(), "no flow on queue 1");

        // The same flows again: each keeps its queue.
        sendFlows(b, A, B, 16, 10);
        assertEquals(new TreeSet<>(on0.keySet()), new TreeSet<>(drain(q0).keySet()));
        assertEquals(new TreeSet<>(on1.keySet()), new TreeSet<>(drain(q1).keySet()));

        // Queue 1 disabled by the peer: everything leaves by queue 0.
        queue1On.set(false);
        sendFlows(b, A, B, 16, 10);
        Map<Integer, Integer> only0 = drain(q0);
        assertEquals(160, only0.values().stream().mapToInt(Integer::intValue).sum());
        assertTrue(drain(q1).isEmpty());
        queue1On.set(true);

        PortStats p = sw.stats().ports().get(0);
        assertEquals(2, p.queues().size());
        QueueStats s0 = p.queues().get(0), s1 = p.queues().get(1);
        assertEquals(10, s0.forwarded().rxPackets());
        assertEquals(15, s1.forwarded().rxPackets());
        long c0 = on0.values().stream().mapToInt(Integer::intValue).sum(),
                c1 = on1.values().stream().mapToInt(Integer::intValue).sum();
        assertEquals(c0 + c0 / 5 + 160, s0.forwarded().txPackets());
        assertEquals(c1 + c1 / 5, s1.forwarded().txPackets());
        assertEquals(25, p.forwarded().rxPackets());
        assertEquals(p.link().txPackets(), s0.link().txPackets() + s1.link().txPackets(),
                "the port's link counters sum its queues");
        assertEquals(Set.of(), Set.copyOf(p.drops().keySet()));
    }

    @Test
    void flowHashKeepsAFlowAndSpreadsFlows() {
        try (PacketBatch b = new PacketBatch(64, 2048)) {
            int[] hashes = new int[32];
            for (int f = 0; f < 32; f++) {
                int i = SwitchTest.frame(b, B, A, -1, 16);
                b.memory().set(BE16, b.dataOffset(i) + 14 + 20, (short) (40000 + f));
                hashes[f] = FlowHash.of(b, i);
                int j = SwitchTest.frame(b, B, A, -1, 100); // same flow, other length and payload
                b.memory().set(BE16, b.dataOffset(j) + 14 + 20, (short) (40000 + f));
                assertEquals(hashes[f], FlowHash.of(b, j));
                if (b.count() >= 62) b.clear();
            }
            int odd = 0;
            for (int h : hashes) odd += Integer.remainderUnsigned(h, 2);
            assertTrue(odd > 4 && odd < 28, "32 flows over two queues: " + odd + " on queue 1");
            // A tagged frame of the same flow hashes the same.
            b.clear();
            int t = SwitchTest.frame(b, B, A, 7, 16);
            b.memory().set(BE16, b.dataOffset(t) + 18 + 20, (short) 40000);
            assertEquals(hashes[0], FlowHash.of(b, t));
        }
    }
}
