package ringlink.sys;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * The checks on descriptors a peer could send, as memif uses them: {@link EventFd#checkPeer} then
 * {@link EventFd#adoptPeer} for an interrupt eventfd, {@link MemFd#checkPeer} for a region
 * (the seal constants are checked against the headers in {@code MemFdSealTest}, the eventfd
 * checks in depth in {@code EventFdPeerTest}).
 */
class PeerFdTest {
    @Test
    void eventFdCheck() throws Exception {
        Fd blocking = EventFd.createFd(0, 0);
        assertNull(EventFd.checkPeer(blocking));
        try (EventFd ok = EventFd.adoptPeer(blocking)) {
            // a read of a zero counter returns at once
            assertEquals(0, ok.drain());
            assertTrue(ok.isShared());
        }
        try (Fd mem = MemFd.create("rl-peerfd", 4096)) {
            assertNotNull(EventFd.checkPeer(mem));
        }
        Fd[] p = Pipe.create(0);
        try {
            assertNotNull(EventFd.checkPeer(p[0]));
        } finally {
            p[0].close();
            p[1].close();
        }
    }

    @Test
    void regionCheck() throws Exception {
        // A sealable memfd gets F_SEAL_SHRINK; too small is refused.
        try (Fd f = MemFd.create("rl-peerfd", 8192, MemFd.MFD_ALLOW_SEALING)) {
            assertTrue(MemFd.checkPeer(f, 16384, false).contains("8192 bytes"), MemFd.checkPeer(f, 16384, false));
            assertNull(MemFd.checkPeer(f, 8192, false));
            assertTrue(MemFd.cannotShrink(f));
            assertThrows(SysException.class, () -> f.truncate(4096), "the seal stops a shrink");
        }
        // Not sealable (no MFD_ALLOW_SEALING: F_SEAL_SEAL from birth): refused unless allowed.
        try (Fd f = MemFd.create("rl-peerfd", 8192, 0)) {
            assertTrue(MemFd.checkPeer(f, 8192, false).contains("sealed without F_SEAL_SHRINK"),
                    MemFd.checkPeer(f, 8192, false));
            assertNull(MemFd.checkPeer(f, 8192, true));
            assertEquals(MemFd.F_SEAL_SEAL, MemFd.seals(f));
        }
        // Already sealed by its creator (MemFd.create): accepted as it is.
        try (Fd f = MemFd.create("rl-peerfd", 8192)) {
            assertNull(MemFd.checkPeer(f, 8192, false));
        }
        // A pipe is no file at all.
        Fd[] p = Pipe.create(0);
        try {
            assertTrue(MemFd.checkPeer(p[0], 4096, true).startsWith("not a mappable file (pipe:["),
                    MemFd.checkPeer(p[0], 4096, true));
        } finally {
            p[0].close();
            p[1].close();
        }
    }
}
