package ringlink.sys;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;
import org.junit.jupiter.api.Test;
import ringlink.testing.CProbe;

/** {@link Seals} constants against the headers, and {@link PeerFd}'s checks on descriptors a peer could send. */
class PeerFdTest {
    @Test
    void sealConstantsMatchTheHeaders() {
        Map<String, Long> c = CProbe.run("""
                #define _GNU_SOURCE
                #include <fcntl.h>
                """, """
                P(F_ADD_SEALS); P(F_GET_SEALS); P(F_SEAL_SEAL); P(F_SEAL_SHRINK); P(F_SEAL_GROW); P(F_SEAL_WRITE);
                """);
        assertEquals(c.get("F_ADD_SEALS"), (long) Seals.F_ADD_SEALS);
        assertEquals(c.get("F_GET_SEALS"), (long) Seals.F_GET_SEALS);
        assertEquals(c.get("F_SEAL_SEAL"), (long) Seals.F_SEAL_SEAL);
        assertEquals(c.get("F_SEAL_SHRINK"), (long) Seals.F_SEAL_SHRINK);
        assertEquals(c.get("F_SEAL_GROW"), (long) Seals.F_SEAL_GROW);
        assertEquals(c.get("F_SEAL_WRITE"), (long) Seals.F_SEAL_WRITE);
    }

    @Test
    void eventFdCheck() throws Exception {
        try (EventFd ok = PeerFd.eventFd(EventFd.createFd(0, 0), "test")) {
            // made non-blocking: a read of a zero counter returns at once
            assertEquals(0, ok.drain());
        }
        Fd mem = MemFd.create("rl-peerfd", 4096);
        assertThrows(PeerFd.BadPeerFdException.class, () -> PeerFd.eventFd(mem, "test"));
        mem.close();
        Fd[] p = Pipe.create(0);
        try {
            assertThrows(PeerFd.BadPeerFdException.class, () -> PeerFd.eventFd(p[0], "test"));
        } finally {
            p[0].close();
            p[1].close();
        }
    }

    @Test
    void regionCheck() throws Exception {
        // A sealable memfd gets F_SEAL_SHRINK; too small is refused.
        try (Fd f = MemFd.create("rl-peerfd", 8192)) {
            assertThrows(PeerFd.BadPeerFdException.class, () -> PeerFd.checkRegion(f, 16384, "r", false));
            int seals = PeerFd.checkRegion(f, 8192, "r", false);
            assertNotEquals(0, seals & Seals.F_SEAL_SHRINK);
            assertNotEquals(0, Seals.get(f) & Seals.F_SEAL_SHRINK);
            assertThrows(SysException.class, () -> f.truncate(4096), "the seal stops a shrink");
        }
        // Not sealable (no MFD_ALLOW_SEALING: F_SEAL_SEAL from birth): refused unless allowed.
        try (Fd f = MemFd.create("rl-peerfd", 8192, 0)) {
            assertThrows(PeerFd.BadPeerFdException.class, () -> PeerFd.checkRegion(f, 8192, "r", false));
            assertEquals(Seals.F_SEAL_SEAL, PeerFd.checkRegion(f, 8192, "r", true));
        }
        // A pipe is no file at all.
        Fd[] p = Pipe.create(0);
        try {
            assertThrows(PeerFd.BadPeerFdException.class, () -> PeerFd.checkRegion(p[0], 4096, "r", true));
        } finally {
            p[0].close();
            p[1].close();
        }
    }
}
