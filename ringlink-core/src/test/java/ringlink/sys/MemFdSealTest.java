package ringlink.sys;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import ringlink.testing.CProbe;

/**
 * Memfds we create are sealed against any size change once sized (issue 15 item 3), and the
 * seal constants are the kernel's.
 */
class MemFdSealTest {
    @Test
    void constantsMatchTheHeaders() {
        Map<String, Long> c = CProbe.run("#include <fcntl.h>\n#include <linux/memfd.h>",
                "P(F_ADD_SEALS); P(F_GET_SEALS); P(F_SEAL_SEAL); P(F_SEAL_SHRINK); P(F_SEAL_GROW); P(F_SEAL_WRITE);"
                        + " P(MFD_CLOEXEC); P(MFD_ALLOW_SEALING); P(MFD_HUGETLB);");
        assertEquals(MemFd.F_ADD_SEALS, c.get("F_ADD_SEALS"));
        assertEquals(MemFd.F_GET_SEALS, c.get("F_GET_SEALS"));
        assertEquals(MemFd.F_SEAL_SEAL, c.get("F_SEAL_SEAL"));
        assertEquals(MemFd.F_SEAL_SHRINK, c.get("F_SEAL_SHRINK"));
        assertEquals(MemFd.F_SEAL_GROW, c.get("F_SEAL_GROW"));
        assertEquals(MemFd.F_SEAL_WRITE, c.get("F_SEAL_WRITE"));
        assertEquals(MemFd.MFD_CLOEXEC, c.get("MFD_CLOEXEC"));
        assertEquals(MemFd.MFD_ALLOW_SEALING, c.get("MFD_ALLOW_SEALING"));
        assertEquals(MemFd.MFD_HUGETLB, c.get("MFD_HUGETLB"));
    }

    @Test
    void createSealsTheSize() throws Exception {
        try (Fd fd = MemFd.create("rlmfs-sealed", 8192)) {
            assertEquals(MemFd.SEAL_SIZE, MemFd.seals(fd));
            assertTrue(MemFd.cannotShrink(fd));
            SysException shrink = assertThrows(SysException.class, () -> fd.truncate(4096));
            assertTrue(shrink.getMessage().contains("EPERM"), shrink.getMessage());
            assertThrows(SysException.class, () -> fd.truncate(16384));
            // F_SEAL_SEAL: nobody (the peer neither) can lift or add seals.
            assertThrows(SysException.class, () -> MemFd.seal(fd, MemFd.F_SEAL_WRITE));
            assertEquals(8192, fd.size());
        }
    }

    @Test
    void unsealedVariantStaysResizable() throws Exception {
        try (Fd fd = MemFd.create("rlmfs-open", 8192, MemFd.MFD_ALLOW_SEALING)) {
            assertEquals(0, MemFd.seals(fd));
            assertFalse(MemFd.cannotShrink(fd));
            fd.truncate(4096);
            assertEquals(4096, fd.size());
            MemFd.seal(fd, MemFd.F_SEAL_SHRINK);
            assertTrue(MemFd.cannotShrink(fd));
        }
    }

    /**
     * What a back-end does with a peer's file before mapping it: a sealable memfd gets
     * F_SEAL_SHRINK (the peer's shrinking ftruncate then fails with EPERM, growing still works),
     * one already sealed stays as it is, and one made without MFD_ALLOW_SEALING (F_SEAL_SEAL,
     * DPDK's) or a disk file cannot be sealed.
     */
    @Test
    void sealAgainstShrinkSealsWhatCanBeSealed() throws Exception {
        try (Fd fd = MemFd.create("rlmfs-peer", 8192, MemFd.MFD_ALLOW_SEALING)) {
            assertTrue(MemFd.sealAgainstShrink(fd));
            assertEquals(MemFd.F_SEAL_SHRINK, MemFd.seals(fd));
            SysException shrink = assertThrows(SysException.class, () -> fd.truncate(4096));
            assertTrue(shrink.getMessage().contains("EPERM"), shrink.getMessage());
            fd.truncate(16384); // growing is the peer's business
            assertTrue(MemFd.sealAgainstShrink(fd)); // idempotent
        }
        try (Fd fd = MemFd.create("rlmfs-peer-sealed", 8192)) {
            assertTrue(MemFd.sealAgainstShrink(fd));
            assertEquals(MemFd.SEAL_SIZE, MemFd.seals(fd));
        }
        try (Fd fd = MemFd.create("rlmfs-peer-unsealable", 8192, 0)) {
            assertEquals(MemFd.F_SEAL_SEAL, MemFd.seals(fd));
            assertFalse(MemFd.sealAgainstShrink(fd));
            fd.truncate(4096); // nothing stops the peer
        }
        Path p = Files.createTempFile("rlmfs", ".bin");
        try (Fd fd = Fd.open(p.toString(), 2 /* O_RDWR */)) {
            assertFalse(MemFd.sealAgainstShrink(fd));
        } finally {
            Files.deleteIfExists(p);
        }
    }

    @Test
    void aFileWithoutSealSupportReportsNone() throws Exception {
        Path p = Files.createTempFile("rlmfs", ".bin");
        try (Fd fd = Fd.open(p.toString(), 2 /* O_RDWR */)) {
            // 0 (EINVAL) on most file systems; F_SEAL_SEAL alone on a tmpfs /tmp. Never SHRINK.
            assertEquals(0, MemFd.seals(fd) & ~MemFd.F_SEAL_SEAL);
            assertFalse(MemFd.cannotShrink(fd));
        } finally {
            Files.deleteIfExists(p);
        }
    }
}
