package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.sys.Mapping;
import ringlink.virtio.DescriptorChain;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.GuestAllocator;
import ringlink.virtio.GuestMemory;
import ringlink.virtio.PackedQueueDevice;
import ringlink.virtio.PackedQueueDriver;
import ringlink.virtio.PackedRing;
import ringlink.virtio.VirtioFeature;
import ringlink.testing.LinkTraffic;

/**
 * INFLIGHT_SHMFD: the split and packed queue regions' bookkeeping, recovery rules (including
 * back-ends that die between any two steps), hostile regions, and restarts with the buffer handed over.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserInflightTest {
    /** A directory of its own per test, so runs in parallel (two checkouts, two engineers) never share a socket. */
    @TempDir Path tmp;

    static final ValueLayout.OfShort U16 = Message.U16;

    @Test
    void recoveryFollowsTheSpec() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            int num = 8;
            MemorySegment r = a.allocate(Inflight.regionSize(num, false));
            // Fresh region: initialised, nothing pending.
            assertEquals(0, new SplitInflight(r, num).recover(5));
            assertEquals(1, r.get(U16, QueueRegionSplitLayout.OFF_VERSION));
            assertEquals(num, r.get(U16, QueueRegionSplitLayout.OFF_DESC_NUM));
            assertEquals(5, r.get(U16, QueueRegionSplitLayout.OFF_USED_IDX));
            // Take 3 chains, complete 2 of them and publish.
            new SplitInflight(r, num).taken(4, 1);
            new SplitInflight(r, num).taken(6, 2);
            new SplitInflight(r, num).taken(1, 3);
            new SplitInflight(r, num).used(4);
            new SplitInflight(r, num).used(6);
            new SplitInflight(r, num).published(new int[] {4, 6}, 2, 7);
            assertEquals(1, new SplitInflight(r, num).recover(7), "chain 1 is still in flight");
            assertEquals(3, new SplitInflight(r, num).maxCounter());
            // A crash after used.idx moved but before the region was updated: the last batch is cleared.
            new SplitInflight(r, num).used(1);
            assertEquals(0, new SplitInflight(r, num).recover(8));
            assertEquals(8, r.get(U16, QueueRegionSplitLayout.OFF_USED_IDX));
            // A lying region: batch longer than the ring, or a list pointing outside it.
            r.set(U16, QueueRegionSplitLayout.OFF_USED_IDX, (short) 0);
            assertThrows(VhostUserException.InvalidParam.class, () -> new SplitInflight(r, num).recover(100));
            r.set(U16, QueueRegionSplitLayout.OFF_LAST_BATCH_HEAD, (short) 200);
            assertThrows(VhostUserException.InvalidParam.class, () -> new SplitInflight(r, num).recover(3));
            r.set(U16, QueueRegionSplitLayout.OFF_DESC_NUM, (short) 16);
            assertThrows(VhostUserException.InvalidParam.class, () -> new SplitInflight(r, num).recover(0));
        }
    }

    @Test
    void bufferIsKeptUpToDateAndHandedToTheNextBackend() throws Exception {
        Path sock = tmp.resolve("rlvu-inflight.sock");
        VhostUserBackend be1 = VhostUserBackend.listen(sock, BackendConfig.defaults());
        try (VhostUserFrontend fe =
                VhostUserFrontend.connectReconnecting(sock, FrontendConfig.defaults().withInflight(true))) {
            assertTrue(be1.awaitReady(1, 5000), () -> "not ready: " + be1.lastError());
            assertNotNull(fe.inflightFd());
            VhostUserLoopTest.exchange(fe.link(0), be1.link(0), 1000, 64);
            try (Mapping m = Mapping.map(fe.inflightFd(), fe.inflightSize(), Mapping.PROT_READ | Mapping.PROT_WRITE,
                    Mapping.MAP_SHARED, 0, "test view of inflight")) {
                long rs = Inflight.regionSize(256, false);
                for (int q = 0; q < 2; q++) {
                    MemorySegment r = m.segment().asSlice(q * rs, rs);
                    assertEquals(1, r.get(U16, QueueRegionSplitLayout.OFF_VERSION));
                    assertEquals(256, r.get(U16, QueueRegionSplitLayout.OFF_DESC_NUM));
                    assertEquals(1000 & 0xffff, r.get(U16, QueueRegionSplitLayout.OFF_USED_IDX),
                            "queue " + q + " used_idx");
                    assertTrue(new SplitInflight(r, 256).maxCounter() >= 1000, "counters advance");
                }
                // Nothing of the TX queue is in flight between batches.
                assertEquals(0, new SplitInflight(m.segment().asSlice(rs, rs), 256).recover(1000));
            }
            restartDelivers(fe, be1, sock, BackendConfig.defaults());
        } finally {
            be1.close();
            Files.deleteIfExists(sock);
        }
    }

    // ---- packed rings ----

    /**
     * A packed ring with our driver on one side and, on the other, a device with packed
     * inflight tracking driven the way BackendLink drives it; {@link #start} plays a back-end
     * (re)starting over the same region, a crash is simply not finishing a step.
     */
    static final class PackedSim implements AutoCloseable {
        final Arena arena = Arena.ofShared();
        final int num;
        final FeatureSet f;
        final GuestMemory mem;
        final PackedRing ring;
        final PackedQueueDriver driver;
        final MemorySegment region;
        final long buf;
        PackedQueueDevice dev;
        PackedInflight track;

        PackedSim(int num, FeatureSet f) {
            this.num = num;
            this.f = f;
            MemorySegment seg = arena.allocate(1 << 20, 4096);
            GuestMemory.Region gr = GuestMemory.Region.of(0x4000_0000L, seg);
            mem = GuestMemory.of(gr);
            GuestAllocator alloc = new GuestAllocator(gr);
            ring = PackedRing.allocate(mem, alloc, num);
            driver = new PackedQueueDriver(ring, f);
            region = arena.allocate(Inflight.regionSize(num, true), 64);
            buf = alloc.allocate(1 << 19, 64);
        }

        /** A back-end starting over the region: recovery, then a device where it says. */
        int start() throws VhostUserException {
            track = PackedInflight.recover(region, num, ring.descRing(), 0, true);
            dev = new PackedQueueDevice(
                    PackedRing.map(mem, num, ring.descAddress(), ring.driverEventAddress(), ring.deviceEventAddress()),
                    mem, f, track.resumePos, track.resumeWrap, track.resumePos, track.resumeWrap);
            return track.resubmitted;
        }

        /** Offers a chain of {@code n} descriptors whose first address encodes {@code token}. */
        int offer(int token, int n, boolean writable) {
            long[] a = new long[n];
            int[] l = new int[n];
            for (int j = 0; j < n; j++) {
                a[j] = buf + 32L * token + 8L * j;
                l[j] = 8;
            }
            return driver.offer(a, l, 0, n, writable ? 0 : n);
        }

        int token(DescriptorChain c) { return (int) ((c.address(0) - buf) / 32); }

        /** Pops up to {@code max} chains, tracked. */
        List<DescriptorChain> take(int max) {
            List<DescriptorChain> out = new ArrayList<>();
            while (out.size() < max) {
                int pos = dev.availPosition();
                DescriptorChain c = new DescriptorChain();
                if (!dev.pop(c)) break;
                track.taken(pos, c.descriptorCount(), c.id());
                out.add(c);
            }
            return out;
        }

        /** Completes {@code cs}; stage 0 stops before the ring publish, 1 after it, 2 finishes. */
        void complete(List<DescriptorChain> cs, int written, int stage) {
            int[] ids = new int[cs.size()];
            for (int k = 0; k < ids.length; k++) {
                dev.push(cs.get(k), written);
                ids[k] = cs.get(k).id();
            }
            track.beforePublish(ids, ids.length, dev.usedPosition(), dev.usedWrapCounter());
            if (stage == 0) return;
            dev.publish();
            if (stage == 2) track.published(ids, ids.length);
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    /**
     * Random traffic over a ring of 8 with back-ends dying at every step the spec distinguishes
     * (mid-batch before the publish, after the publish before the commit, with chains only
     * taken): each time the next back-end resumes, every chain the driver offered comes back to it
     * exactly once and in order. With IN_ORDER the device returns runs of read-only chains as one
     * used descriptor, which tracking still completes chain by chain.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void packedRecoveryDeliversEveryChainExactlyOnce(boolean inOrder) throws Exception {
        FeatureSet f = inOrder ? FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.IN_ORDER)
                : FeatureSet.of(VirtioFeature.VERSION_1);
        try (PackedSim sim = new PackedSim(8, f)) {
            assertEquals(0, sim.start());
            Random rnd = new Random(42);
            List<Integer> offered = new ArrayList<>(); // tokens in offer order
            int[] tokenOfId = new int[8];
            int published = 0;   // tokens whose used descriptor reached the ring
            int deviceNext = 0;  // index into offered of the next chain the device must pop
            // Chains recovery put back stay in flight in the region until taken again: a back-end
            // dying before that resubmits them again.
            int recoveredUntil = 0;
            int collected = 0;   // tokens the driver has collected, in order
            List<DescriptorChain> held = new ArrayList<>();
            int restarts = 0, resubmittedTotal = 0;
            int[] ids = new int[8], lens = new int[8];
            for (int step = 0; step < 4000; step++) {
                int action = rnd.nextInt(10);
                boolean dies = false; // the back-end dies after this step; the next starts over the region
                if (action < 3) {
                    for (int k = rnd.nextInt(3) + 1; k > 0; k--) {
                        int token = offered.size();
                        int id = sim.offer(token % 16000, rnd.nextInt(3) + 1, !inOrder);
                        if (id < 0) break;
                        tokenOfId[id] = token;
                        offered.add(token);
                    }
                    sim.driver.publish();
                } else if (action < 6) {
                    for (DescriptorChain c : sim.take(rnd.nextInt(4))) {
                        assertEquals(offered.get(deviceNext) % 16000, sim.token(c),
                                "step " + step + ": chains come in offer order");
                        deviceNext++;
                        held.add(c);
                    }
                } else if (action < 9 && !held.isEmpty()) {
                    int j = rnd.nextInt(held.size()) + 1;
                    List<DescriptorChain> batch = new ArrayList<>(held.subList(0, j));
                    int stage = rnd.nextInt(6) == 0 ? rnd.nextInt(2) : 2;
                    sim.complete(batch, inOrder ? 0 : 4, stage);
                    if (stage >= 1) published += j;
                    if (stage == 2) {
                        held.subList(0, j).clear();
                    } else {
                        dies = true; // half-way through completing the batch
                    }
                } else if (action == 9 && rnd.nextInt(4) == 0) {
                    dies = true; // with chains only taken (or nothing at all in flight)
                }
                if (dies) {
                    held.clear();
                    int r = sim.start();
                    assertEquals(Math.max(deviceNext, recoveredUntil) - published, r,
                            "step " + step + ": chains resubmitted");
                    resubmittedTotal += r;
                    deviceNext = published;
                    recoveredUntil = published + r;
                    restarts++;
                }
                int n;
                while ((n = sim.driver.collect(ids, lens, 8)) > 0) {
                    for (int k = 0; k < n; k++) {
                        assertEquals(collected, tokenOfId[ids[k]], "step " + step + ": collected once, in order");
                        collected++;
                    }
                }
                assertEquals(published, collected, "step " + step);
            }
            assertTrue(restarts > 50 && resubmittedTotal > 50,
                    restarts + " restarts, " + resubmittedTotal + " resubmitted");
            assertTrue(collected > 500, collected + " collected");
        }
    }

    /** Recovery resubmits in counter order, not in the order of the region's entries. */
    @Test
    void packedResubmitsInCounterOrder() throws Exception {
        try (PackedSim sim = new PackedSim(8, FeatureSet.of(VirtioFeature.VERSION_1))) {
            sim.start();
            int a = sim.offer(1, 1, true), b = sim.offer(2, 2, true), c = sim.offer(3, 1, true);
            sim.driver.publish();
            List<DescriptorChain> taken = sim.take(8);
            assertEquals(3, taken.size());
            // Swap the counters of a's and c's heads (entries 0 and 3): c was taken first.
            long ea = QueueRegionPackedLayout.OFF_DESC + DescStatePackedLayout.OFF_COUNTER,
                    ec = ea + 3L * DescStatePackedLayout.SIZE;
            long ca = sim.region.get(PackedInflight.U64, ea), cc = sim.region.get(PackedInflight.U64, ec);
            sim.region.set(PackedInflight.U64, ea, cc);
            sim.region.set(PackedInflight.U64, ec, ca);
            assertEquals(3, sim.start());
            List<DescriptorChain> again = sim.take(8);
            assertEquals(List.of(c, b, a), again.stream().map(DescriptorChain::id).toList());
            assertEquals(List.of(3, 2, 1), again.stream().map(sim::token).toList());
            assertEquals(List.of(1, 2, 1), again.stream().map(DescriptorChain::descriptorCount).toList());
            assertEquals(0, sim.take(8).size(), "nothing else on the ring");
        }
    }

    /** Fresh region: initialised at the base SET_VRING_BASE gave; a batch of exactly num descriptors still commits. */
    @Test
    void packedFreshRegionAndFullRingBatch() throws Exception {
        try (PackedSim sim = new PackedSim(4, FeatureSet.of(VirtioFeature.VERSION_1))) {
            PackedInflight t = PackedInflight.recover(sim.region, 4, sim.ring.descRing(), 2, false);
            assertEquals(2, t.resumePos);
            assertFalse(t.resumeWrap);
            assertEquals(1, sim.region.get(U16, QueueRegionPackedLayout.OFF_VERSION));
            assertEquals(4, sim.region.get(U16, QueueRegionPackedLayout.OFF_DESC_NUM));
            sim.region.fill((byte) 0);
            sim.start();
            for (int k = 0; k < 4; k++) sim.offer(k, 1, true);
            sim.driver.publish();
            List<DescriptorChain> all = sim.take(8);
            assertEquals(4, all.size());
            // used_idx comes back to 0 with the wrap counter flipped; published, not committed.
            sim.complete(all, 4, 1);
            assertEquals(0, sim.region.get(U16, QueueRegionPackedLayout.OFF_USED_IDX));
            assertEquals(0, sim.start(), "the published batch is committed, not resubmitted");
            assertEquals(0, sim.track.resumePos);
            assertFalse(sim.track.resumeWrap);
        }
    }

    /** Hostile packed regions: every field that steers recovery is checked; the ring does not start. */
    @Test
    void packedHostileRegionsAreRejected() throws Exception {
        long off = QueueRegionPackedLayout.OFF_DESC;
        long ds = DescStatePackedLayout.SIZE;
        List<Consumer<MemorySegment>> lies = List.of(
                r -> r.set(U16, QueueRegionPackedLayout.OFF_VERSION, (short) 2),
                r -> r.set(U16, QueueRegionPackedLayout.OFF_DESC_NUM, (short) 16),
                r -> r.set(U16, QueueRegionPackedLayout.OFF_FREE_HEAD, (short) 9),
                r -> r.set(U16, QueueRegionPackedLayout.OFF_OLD_FREE_HEAD, (short) 0xffff),
                r -> r.set(U16, QueueRegionPackedLayout.OFF_USED_IDX, (short) 8),
                r -> r.set(U16, QueueRegionPackedLayout.OFF_OLD_USED_IDX, (short) 0x8003),
                r -> r.set(ValueLayout.JAVA_BYTE, QueueRegionPackedLayout.OFF_OLD_USED_WRAP_COUNTER, (byte) 2),
                // free list loops back on itself / runs past the entries
                r -> r.set(U16, off + 7L * ds + DescStatePackedLayout.OFF_NEXT, (short) 4),
                r -> r.set(U16, off + 7L * ds + DescStatePackedLayout.OFF_NEXT, (short) 12),
                // inflight byte that is neither 0 nor 1
                r -> r.set(ValueLayout.JAVA_BYTE, off + DescStatePackedLayout.OFF_INFLIGHT, (byte) 7),
                // chain length 0, longer than the ring, links outside, last that disagrees
                r -> r.set(U16, off + DescStatePackedLayout.OFF_NUM, (short) 0),
                r -> r.set(U16, off + 1L * ds + DescStatePackedLayout.OFF_NUM, (short) 9),
                r -> r.set(U16, off + 1L * ds + DescStatePackedLayout.OFF_NEXT, (short) 300),
                r -> r.set(U16, off + 1L * ds + DescStatePackedLayout.OFF_LAST, (short) 1),
                // a chain running into the free list, two chains sharing an entry
                r -> r.set(U16, off + 1L * ds + DescStatePackedLayout.OFF_NEXT, (short) 5),
                r -> r.set(U16, off + 1L * ds + DescStatePackedLayout.OFF_NEXT, (short) 0),
                // buffer id outside the ring / twice; flags that end a chain early
                r -> r.set(U16, off + DescStatePackedLayout.OFF_ID, (short) 8),
                r -> r.set(U16, off + DescStatePackedLayout.OFF_ID,
                        r.get(U16, off + 2L * ds + DescStatePackedLayout.OFF_ID)),
                r -> r.set(U16, off + 1L * ds + DescStatePackedLayout.OFF_FLAGS, (short) 0x80));
        for (int k = 0; k < lies.size(); k++) {
            try (PackedSim sim = new PackedSim(8, FeatureSet.of(VirtioFeature.VERSION_1))) {
                sim.start();
                sim.offer(0, 1, true);
                sim.offer(1, 2, true);
                sim.offer(2, 1, true);
                sim.driver.publish();
                assertEquals(3, sim.take(8).size()); // entries 0 | 1,2 | 3 in flight, 4..7 free
                lies.get(k).accept(sim.region);
                int lie = k;
                VhostUserException.InvalidParam e =
                        assertThrows(VhostUserException.InvalidParam.class, sim::start, () -> "lie " + lie);
                assertTrue(e.getMessage().startsWith("packed inflight region"), e.getMessage());
            }
        }
    }

    /**
     * Packed rings end to end: after traffic both queue regions are committed (used_idx equals
     * old_used_idx, nothing of the TX queue in flight, the used position where 1000
     * single-descriptor chains put it); the next back-end resumes from the buffer and delivers
     * what was queued meanwhile exactly once; a buffer the front-end corrupted is refused with a
     * typed error instead of being followed.
     */
    @Test
    void packedBufferIsKeptUpToDateHandedOverAndCheckedWhenCorrupt(@TempDir Path dir) throws Exception {
        Path sock = dir.resolve("rlvi-inflight-packed.sock");
        BackendConfig bc = BackendConfig.defaults().withPacked(true);
        VhostUserBackend be1 = VhostUserBackend.listen(sock, bc);
        try (VhostUserFrontend fe = VhostUserFrontend.connectReconnecting(sock,
                FrontendConfig.defaults().withPacked(true).withInflight(true))) {
            assertTrue(be1.awaitReady(1, 5000), () -> "not ready: " + be1.lastError());
            VhostUserLoopTest.exchange(fe.link(0), be1.link(0), 1000, 64);
            long rs = Inflight.regionSize(256, true);
            assertTrue(fe.inflightSize() >= 2 * rs);
            try (Mapping m = Mapping.map(fe.inflightFd(), fe.inflightSize(), Mapping.PROT_READ | Mapping.PROT_WRITE,
                    Mapping.MAP_SHARED, 0, "test view of inflight")) {
                for (int q = 0; q < 2; q++) {
                    MemorySegment r = m.segment().asSlice(q * rs, rs);
                    String what = "queue " + q;
                    assertEquals(1, r.get(U16, QueueRegionPackedLayout.OFF_VERSION), what);
                    assertEquals(256, r.get(U16, QueueRegionPackedLayout.OFF_DESC_NUM), what);
                    assertEquals(1000 % 256, r.get(U16, QueueRegionPackedLayout.OFF_USED_IDX), what + " used_idx");
                    assertEquals(r.get(U16, QueueRegionPackedLayout.OFF_USED_IDX),
                            r.get(U16, QueueRegionPackedLayout.OFF_OLD_USED_IDX), what);
                    assertEquals(0, r.get(ValueLayout.JAVA_BYTE, QueueRegionPackedLayout.OFF_USED_WRAP_COUNTER),
                            what + ": 3 laps flip the wrap counter to 0");
                    assertEquals(r.get(ValueLayout.JAVA_BYTE, QueueRegionPackedLayout.OFF_USED_WRAP_COUNTER),
                            r.get(ValueLayout.JAVA_BYTE, QueueRegionPackedLayout.OFF_OLD_USED_WRAP_COUNTER), what);
                    assertEquals(r.get(U16, QueueRegionPackedLayout.OFF_FREE_HEAD),
                            r.get(U16, QueueRegionPackedLayout.OFF_OLD_FREE_HEAD), what);
                }
                MemorySegment txr = m.segment().asSlice(rs, rs);
                for (int i = 0; i < 256; i++) {
                    assertEquals(0, txr.get(ValueLayout.JAVA_BYTE,
                            QueueRegionPackedLayout.OFF_DESC + (long) DescStatePackedLayout.SIZE * i),
                            "TX entry " + i + " in flight between batches");
                }
            }
            restartDelivers(fe, be1, sock, bc);
            // The front-end (or whoever holds the buffer) lies: the TX region's free list loops.
            try (Mapping m = Mapping.map(fe.inflightFd(), fe.inflightSize(), Mapping.PROT_READ | Mapping.PROT_WRITE,
                    Mapping.MAP_SHARED, 0, "test view of inflight")) {
                MemorySegment txr = m.segment().asSlice(rs, rs);
                int head = Short.toUnsignedInt(txr.get(U16, QueueRegionPackedLayout.OFF_FREE_HEAD));
                txr.set(U16, QueueRegionPackedLayout.OFF_DESC + (long) DescStatePackedLayout.SIZE * head
                        + DescStatePackedLayout.OFF_NEXT, (short) head);
            }
            try (VhostUserBackend be3 = VhostUserBackend.listen(sock, bc)) {
                long end = System.currentTimeMillis() + 10_000;
                while (be3.lastError() == null && System.currentTimeMillis() < end) Thread.sleep(10);
                VhostUserException e = be3.lastError();
                assertInstanceOf(VhostUserException.InvalidParam.class, e);
                assertTrue(e.getMessage().contains("packed inflight region: free list loops"), e.getMessage());
                assertFalse(be3.link(0).isRunning());
            }
        } finally {
            be1.close();
        }
    }

    /**
     * Closes {@code be1}, sends 50 packets while no back-end runs, and checks that a new
     * back-end on {@code sock} (which the front-end reconnects to) delivers exactly those, then
     * carries traffic both ways.
     */
    private static void restartDelivers(VhostUserFrontend fe, VhostUserBackend be1, Path sock,
            BackendConfig bc) throws Exception {
        be1.close();
        assertEquals(50, LinkTraffic.send(fe.link(0), 50, 64, 5000));
        try (VhostUserBackend be2 = VhostUserBackend.listen(sock, bc)) {
            long end = System.currentTimeMillis() + 10_000;
            while (fe.sessions() < 2 && System.currentTimeMillis() < end) Thread.sleep(10);
            assertTrue(be2.awaitReady(1, 5000), () -> "not restarted: " + be2.lastError());
            try (LinkTraffic.Counter rx = new LinkTraffic.Counter(be2.link(0))) {
                assertEquals(50, rx.awaitAtLeast(50, 5000));
                assertEquals(50, rx.awaitQuiet(200, 2000));
            }
            VhostUserLoopTest.exchange(fe.link(0), be2.link(0), 500, 64);
        }
    }
}
