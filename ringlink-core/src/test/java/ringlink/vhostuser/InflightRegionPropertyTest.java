package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import net.jqwik.api.*;
import ringlink.virtio.VirtqLayout;

/**
 * The inflight buffer belongs to the front-end, so a back-end starting over it must survive any
 * contents: a region left by real tracking, then scribbled on at random, either recovers (within
 * the ring's bounds) or is refused with {@link VhostUserException.InvalidParam}; never another
 * exception, an endless loop or an access outside the region or ring. Split and packed layouts.
 */
class InflightRegionPropertyTest {

    @Provide
    Arbitrary<Integer> ringSizes() {
        return Arbitraries.of(1, 2, 4, 8, 64, 256);
    }

    @Property(tries = 400)
    void packedRegionScribbledOnRecoversOrIsRefused(@ForAll("ringSizes") int num, @ForAll long seed) throws Exception {
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(Inflight.regionSize(num, true), 8);
            MemorySegment ring = arena.allocate(16L * num, 8);
            for (int i = 0; i < num; i++) {
                ring.set(PackedInflight.U64, 16L * i, rnd.nextLong());
                ring.set(PackedInflight.U32, 16L * i + 8, rnd.nextInt(4096));
                ring.set(PackedInflight.U16, 16L * i + 12, (short) i);
                ring.set(PackedInflight.U16, 16L * i + 14, (short) VirtqLayout.VIRTQ_DESC_F_AVAIL);
            }
            // Real tracking first: some chains taken, some of them completed and published.
            PackedInflight t = PackedInflight.recover(r, num, ring, 0, true);
            int taken = rnd.nextInt(num + 1), pos = 0;
            for (int k = 0; k < taken; k++) pos = t.taken(pos, 1, k);
            int done = taken == 0 ? 0 : rnd.nextInt(taken + 1);
            int[] ids = new int[done];
            for (int k = 0; k < done; k++) ids[k] = k;
            if (done > 0) {
                t.beforePublish(ids, done, done % num, done < num);
                if (rnd.nextBoolean()) t.published(ids, done); // else: a crash between the two
            }
            scribble(r, rnd);
            if (rnd.nextInt(4) == 0) scribble(ring, rnd);
            try {
                PackedInflight u = PackedInflight.recover(r, num, ring, 0, true);
                assertTrue(u.resubmitted >= 0 && u.resubmitted <= num, "resubmitted " + u.resubmitted);
                assertTrue(u.resumePos >= 0 && u.resumePos < num, "resume position " + u.resumePos);
            } catch (VhostUserException.InvalidParam e) {
                assertTrue(e.getMessage().startsWith("packed inflight region"), e.getMessage());
            }
        }
    }

    @Property(tries = 400)
    void splitRegionScribbledOnRecoversOrIsRefused(@ForAll("ringSizes") int num, @ForAll long seed) throws Exception {
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(Inflight.regionSize(num, false), 8);
            int usedIdx = rnd.nextInt(65536);
            assertEquals(0, new SplitInflight(r, num).recover(usedIdx));
            int taken = rnd.nextInt(num + 1);
            long counter = 1;
            for (int id = 0; id < taken; id++) new SplitInflight(r, num).taken(id, counter++);
            int done = taken == 0 ? 0 : rnd.nextInt(taken + 1);
            int[] ids = new int[done];
            for (int k = 0; k < done; k++) {
                ids[k] = k;
                new SplitInflight(r, num).used(k);
            }
            if (done > 0 && rnd.nextBoolean())
                    new SplitInflight(r, num).published(ids, done, (usedIdx + done) & 0xffff);
            scribble(r, rnd);
            try {
                int pending = new SplitInflight(r, num).recover((usedIdx + done) & 0xffff);
                assertTrue(pending >= 0 && pending <= num, "pending " + pending);
            } catch (VhostUserException.InvalidParam e) {
                assertNotNull(e.getMessage());
            }
        }
    }

    /** One to eight random bytes, words or indices written at random places. */
    private static void scribble(MemorySegment s, Random rnd) {
        int writes = 1 + rnd.nextInt(8);
        for (int w = 0; w < writes; w++) {
            long at = (long) (rnd.nextDouble() * (s.byteSize() - 1));
            switch (rnd.nextInt(3)) {
                case 0 -> s.set(ValueLayout.JAVA_BYTE, at, (byte) rnd.nextInt());
                case 1 -> s.set(PackedInflight.U16, Math.min(at, s.byteSize() - 2), (short) rnd.nextInt(70000));
                default -> s.set(PackedInflight.U16, Math.min(at, s.byteSize() - 2), (short) rnd.nextInt(4));
            }
        }
    }
}
