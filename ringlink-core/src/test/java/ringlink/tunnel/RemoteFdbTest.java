package ringlink.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The tunnel's MAC → remote table: learning, moves, ageing, static entries, capacity. */
class RemoteFdbTest {
    final AtomicLong now = new AtomicLong(1_000_000_000L);

    void advanceSeconds(long s) { now.addAndGet(s * 1_000_000_000L); }

    @Test
    void learnsMovesAndAges() {
        RemoteFdb f = new RemoteFdb(16, 300_000, now::get);
        assertEquals(-1, f.lookup(0x0200_0000_0001L));
        assertTrue(f.learn(0x0200_0000_0001L, 3));
        assertEquals(3, f.lookup(0x0200_0000_0001L));
        assertTrue(f.learn(0x0200_0000_0001L, 5)); // the MAC moved behind another remote
        assertEquals(5, f.lookup(0x0200_0000_0001L));
        advanceSeconds(200);
        assertEquals(5, f.lookup(0x0200_0000_0001L));
        advanceSeconds(101);
        assertEquals(-1, f.lookup(0x0200_0000_0001L), "aged out after 300 s: flood again");
        assertTrue(f.learn(0x0200_0000_0001L, 6));
        assertEquals(6, f.lookup(0x0200_0000_0001L));
    }

    @Test
    void staticEntriesNeverAgeOrMove() {
        RemoteFdb f = new RemoteFdb(16, 1000, now::get);
        f.addStatic(0x0200_0000_0009L, 1);
        assertTrue(f.learn(0x0200_0000_0009L, 2));
        assertEquals(1, f.lookup(0x0200_0000_0009L), "learning does not move a static entry");
        advanceSeconds(10_000);
        assertEquals(1, f.lookup(0x0200_0000_0009L));
        int[] seen = new int[1];
        f.forEach((mac, peer, st) -> {
            assertTrue(st);
            seen[0]++;
        });
        assertEquals(1, seen[0]);
    }

    @Test
    void fullTableStopsLearningUntilEntriesAge() {
        RemoteFdb f = new RemoteFdb(4, 10_000, now::get); // 8 slots, at most 4 used
        for (int i = 0; i < 4; i++) assertTrue(f.learn(0x0200_0000_0100L + i, i));
        assertFalse(f.learn(0x0200_0000_0200L, 9), "full");
        assertEquals(1, f.full());
        assertEquals(-1, f.lookup(0x0200_0000_0200L));
        advanceSeconds(11);
        // the aged slots are reused for new addresses (when one lies on the probe path)
        int learned = 0;
        for (int i = 0; i < 16; i++) if (f.learn(0x0200_0000_0300L + i, 7)) learned++;
        assertTrue(learned >= 1, "aged slots are reused");
        for (int i = 0; i < 4; i++) assertEquals(-1, f.lookup(0x0200_0000_0100L + i));
    }
}
