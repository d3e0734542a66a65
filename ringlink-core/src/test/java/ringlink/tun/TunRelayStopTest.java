package ringlink.tun;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.Offloads;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.CpuAffinity;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.sys.SysException;
import ringlink.sys.UnixSocket;

/**
 * LinkRelay's busy-polling must not cost its stop guarantees: a relay that is spinning (or asleep
 * after the spin) stops promptly on close(), and ends by itself, without a failure, when its
 * source link is closed. Runs over SOCK_SEQPACKET pairs standing in for TUN queues (no root).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TunRelayStopTest {
    UnixSocket[] spa, spb;
    TunLink a, b;
    final Arena arena = Arena.ofShared();
    final MemorySegment buf = arena.allocate(4096);

    @BeforeEach
    void setUp() throws Exception {
        openLinks();
    }

    /** Two TUN links over socketpairs (SEQPACKET keeps packet boundaries, as a TUN fd does). */
    private void openLinks() throws Exception {
        spa = UnixSocket.pair(UnixSocket.SOCK_SEQPACKET);
        spb = UnixSocket.pair(UnixSocket.SOCK_SEQPACKET);
        spa[0].fd().setNonBlocking(true);
        spb[0].fd().setNonBlocking(true);
        a = new TunLink("a", "none", spa[0].fd(), Layer.L3, 1500, Offloads.NONE, VirtioNetHdr.SIZE, true, false, false);
        b = new TunLink("b", "none", spb[0].fd(), Layer.L3, 1500, Offloads.NONE, VirtioNetHdr.SIZE, true, false, false);
    }

    @AfterEach
    void tearDown() {
        a.close();
        b.close();
        spa[1].close();
        spb[1].close();
        arena.close();
    }

    /** Sends one packet into a (as the kernel would) and checks it comes out of b. */
    private void relayOnePacket() throws Exception {
        byte[] p = Pkt.tcp4(1, 0x10, 1, new byte[100]);
        byte[] msg = Pkt.concat(Pkt.vhdr(0, 0, 0, 0, 0, 0), p);
        MemorySegment.copy(msg, 0, buf, ValueLayout.JAVA_BYTE, 0, msg.length);
        spa[1].fd().write(buf, msg.length);
        assertTrue((PollSet.pollOne(spb[1].fd(), PollfdLayout.POLLIN, 5000) & PollfdLayout.POLLIN) != 0, "relayed");
        long n = spb[1].fd().read(buf, buf.byteSize());
        byte[] got = buf.asSlice(VirtioNetHdr.SIZE, n - VirtioNetHdr.SIZE).toArray(ValueLayout.JAVA_BYTE);
        assertArrayEquals(p, got);
    }

    @Test
    void closeStopsASpinningRelayPromptly() throws Exception {
        LinkRelay r = LinkRelay.start(a, b, Duration.ofSeconds(1)); // spins a whole second after each packet
        relayOnePacket();
        long t0 = System.nanoTime();
        r.close(); // the thread is inside its spin now
        assertFalse(r.alive(), "relay thread still running after close()");
        assertTrue(System.nanoTime() - t0 < 500_000_000L, "close() waited for the spin to run out");
        assertNull(r.failure());
    }

    @Test
    void closeStopsASleepingRelay() throws Exception {
        LinkRelay r = LinkRelay.start(a, b, Duration.ZERO);
        relayOnePacket();
        Thread.sleep(50); // asleep in poll now (100 ms rounds)
        r.close();
        assertFalse(r.alive(), "relay thread still running after close()");
        assertNull(r.failure());
    }

    @Test
    void closingTheSourceEndsTheRelay() throws Exception {
        for (Duration spin : new Duration[] {Duration.ofSeconds(1), Duration.ZERO}) {
            setUpFresh();
            LinkRelay r = LinkRelay.start(a, b, spin);
            relayOnePacket();
            a.close(); // spinning (1 s) or asleep on a's readyFd (0): either way the relay must end by itself
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (r.alive() && System.nanoTime() < deadline) Thread.sleep(5);
            assertFalse(r.alive(), "relay did not end after its source closed (spin " + spin + ")");
            assertNull(r.failure(), "a closed source is a normal end, not a failure");
            r.close();
        }
    }

    @Test
    void aPinnedRelayRunsOnItsCpuAndStops() throws Exception {
        int cpu = Runtime.getRuntime().availableProcessors() - 1;
        LinkRelay r = LinkRelay.start(a, b, Duration.ofSeconds(1), cpu);
        relayOnePacket();
        long t0 = System.nanoTime();
        r.close();
        assertFalse(r.alive(), "pinned relay thread still running after close()");
        assertTrue(System.nanoTime() - t0 < 500_000_000L, "close() waited for the spin to run out");
        assertNull(r.failure());
    }

    @Test
    void pinningToACpuTheKernelLacksFailsAtStart() {
        // CPU 1023 can be named in the mask but does not exist on a test machine: the kernel says EINVAL
        SysException e =
                assertThrows(SysException.class, () -> LinkRelay.start(a, b, Duration.ZERO, CpuAffinity.MAX_CPUS - 1));
        assertTrue(e.getMessage().contains("sched_setaffinity"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LinkRelay.start(a, b, Duration.ZERO, -1));
        assertThrows(IllegalArgumentException.class, () -> LinkRelay.start(a, b, Duration.ZERO, CpuAffinity.MAX_CPUS));
    }

    @Test
    void spinOutsideItsRangeIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> LinkRelay.start(a, b, Duration.ofMillis(-1)));
        assertThrows(IllegalArgumentException.class, () -> LinkRelay.start(a, b, Duration.ofSeconds(2)));
    }

    private void setUpFresh() throws Exception {
        tearDownLinks();
        openLinks();
    }

    private void tearDownLinks() {
        a.close();
        b.close();
        spa[1].close();
        spb[1].close();
    }
}
