package ringlink.shm;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.LinkSpec;
import ringlink.link.Links;

/** The pipe on its own: wrap-around, batching and validation, checked against a model. */
@Timeout(60)
class ShmPipeTest {

    @Test
    void randomSlotsSurviveManyWrapsAndRevolutionCounterOverflow() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(1000, 8); // not a power of two, not a multiple of 8*slot
            PipeTx tx = new PipeTx(m, "test");
            PipeRx rx = new PipeRx(m, "test");
            Random rnd = new Random(7);
            ArrayDeque<int[]> inFlight = new ArrayDeque<>();
            long seq = 0, got = 0;
            for (int round = 0; round < 200_000; round++) {
                int burst = rnd.nextInt(8);
                for (int i = 0; i < burst; i++) {
                    int size = rnd.nextInt(200);
                    long at = tx.push(size);
                    if (at < 0) break;
                    for (int j = 0; j < size; j++) m.set(ValueLayout.JAVA_BYTE, at + j, (byte) (seq + j));
                    inFlight.add(new int[] {(int) seq++, size});
                }
                tx.flush();
                int take = rnd.nextInt(8);
                for (int i = 0; i < take; i++) {
                    long at = rx.pull();
                    if (at < 0) break;
                    int[] e = inFlight.remove();
                    assertEquals(e[1], rx.size());
                    for (int j = 0; j < e[1]; j++)
                            assertEquals((byte) (e[0] + j), m.get(ValueLayout.JAVA_BYTE, at + j));
                    got++;
                }
                if (rnd.nextBoolean()) rx.flush();
            }
            assertTrue(got > 100_000, "only " + got);
        }
    }

    @Test
    void wrappingSlotThatDoesNotEndAtTheRingStartIsCorruption() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(256, 8);
            PipeTx tx = new PipeTx(m, "test pipe");
            PipeRx rx = new PipeRx(m, "test pipe");
            // Move both ends near the end of the ring: 5 slots of 40 bytes (offset 200).
            for (int i = 0; i < 5; i++) {
                assertTrue(tx.push(32) >= 0);
                tx.flush();
                assertTrue(rx.pull() >= 0);
                rx.flush();
            }
            // A "wrapping" slot at 200 that claims 100 bytes (ends at 44 of the next revolution).
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, 200, 92L);
            var e = assertThrows(CorruptQueueException.class, rx::pull);
            assertTrue(e.getMessage().contains("does not end at the ring start"), e.getMessage());
        }
    }

    @Test
    void aWrapRightAfterAWrapIsCorruption() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(256, 8);
            PipeTx tx = new PipeTx(m, "p");
            PipeRx rx = new PipeRx(m, "p");
            for (int i = 0; i < 5; i++) {
                tx.push(32);
                tx.flush();
                rx.pull();
                rx.flush();
            }
            // A legal wrap at 200 (to the next revolution), then a "wrap" at 0 spanning the ring.
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, PipeLayout.JUMP - 8);
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, 200, PipeLayout.JUMP - 208);
            var e = assertThrows(CorruptQueueException.class, rx::pull);
            assertTrue(e.getMessage().contains("follows a wrapping slot"), e.getMessage());
        }
    }

    @Test
    void reservedHeaderBitsAreCorruption() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(256, 8);
            new PipeTx(m, "p");
            PipeRx rx = new PipeRx(m, "p");
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, (1L << 40) | 8);
            var e = assertThrows(CorruptQueueException.class, rx::pull);
            assertTrue(e.getMessage().contains("reserved bits"), e.getMessage());
        }
    }

    @Test
    void providerIsRegisteredAndChecksItsParameters() {
        assertTrue(Links.providers().containsKey("shm"));
        var e = assertThrows(IllegalArgumentException.class, () -> Links.open("shm:/tmp/rlsh-x.sock?rol=server"));
        assertTrue(e.getMessage().contains("unknown parameter 'rol'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Links.open("shm:/tmp/rlsh-x.sock?role=boss&timeout=0"));
        assertTrue(e.getMessage().contains("role must be server or client"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new ShmLink.Options(1500, 2048, false, Layer.L2, false, false, null, null));
        assertTrue(e.getMessage().contains("eth=true"), e.getMessage());
        assertEquals("shm", LinkSpec.parse("shm:/run/x.sock?role=client").scheme());
    }
}
