package ringlink.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks on descriptors a peer process handed us (SCM_RIGHTS), before we use them: a hostile
 * peer may send a pipe where an eventfd belongs (a read or write on it could block a data-path
 * thread forever), or a file smaller than it claims (mapping it and touching the missing part
 * raises SIGBUS).
 */
public final class PeerFd {
    private PeerFd() {}

    /** A descriptor a peer sent failed a check; the message says which and why. */
    public static final class BadPeerFdException extends IOException {
        public BadPeerFdException(String message) { super(message); }
    }

    /** What /proc says the descriptor is ("anon_inode:[eventfd]", "/memfd:x (deleted)", "pipe:[123]"). */
    public static String describe(Fd fd) throws ClosedFdException {
        int f = fd.acquire();
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + f)).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "?";
        } finally {
            fd.release();
        }
    }

    /**
     * Adopts a peer's descriptor as an eventfd after checking it is one, and makes it
     * non-blocking, so that neither a read (counter 0) nor a write (counter at its maximum) can
     * ever block. O_NONBLOCK is a file-status flag shared with the peer's copy; every known peer
     * (DPDK, libmemif, QEMU) creates its eventfds non-blocking anyway.
     */
    public static EventFd eventFd(Fd fd, String what) throws IOException {
        String kind = describe(fd);
        if (!kind.equals("anon_inode:[eventfd]")) {
            throw new BadPeerFdException(what + ": expected an eventfd, got " + kind);
        }
        fd.setNonBlocking(true);
        return EventFd.adopt(fd);
    }

    /**
     * Checks a peer's shared-memory descriptor before it is mapped for {@code size} bytes: the
     * file must be at least that long, and must not be able to shrink under the mapping. A
     * sealable file (memfd) gets F_SEAL_SHRINK added if the peer did not seal it. A file that can
     * shrink and cannot be sealed against it (seals closed with F_SEAL_SEAL but no F_SEAL_SHRINK,
     * or no seals at all: hugetlbfs, disk files) is refused unless {@code allowUnsealed}: the
     * peer could truncate it under our mapping and crash the JVM with SIGBUS, so accepting it
     * means trusting the peer. Returns the seals now on the file (−1 if none are possible).
     */
    public static int checkRegion(Fd fd, long size, String what, boolean allowUnsealed) throws IOException {
        long have;
        try {
            have = fd.size();
        } catch (SysException e) {
            throw new BadPeerFdException(what + ": not a mappable file (" + describe(fd) + "): " + e.getMessage());
        }
        if (have < size) throw new BadPeerFdException(what + ": file has " + have + " bytes, peer claims " + size);
        int seals = Seals.get(fd);
        if (seals >= 0 && (seals & Seals.F_SEAL_SHRINK) != 0) return seals;
        if (seals >= 0 && (seals & Seals.F_SEAL_SEAL) == 0) {
            Seals.add(fd, Seals.F_SEAL_SHRINK);
            return seals | Seals.F_SEAL_SHRINK;
        }
        if (!allowUnsealed) {
            throw new BadPeerFdException(what + ": the peer could shrink the file under our mapping ("
                    + (seals < 0 ? "it cannot be sealed" : "sealed without F_SEAL_SHRINK") + ", " + describe(fd) + ")");
        }
        return seals;
    }
}
