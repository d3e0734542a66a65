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
     * sealable file (memfd) gets F_SEAL_SHRINK added if the peer did not seal it; one whose seals
     * are closed (F_SEAL_SEAL) without F_SEAL_SHRINK is refused. Files that cannot carry seals
     * (hugetlbfs or disk files) are accepted after the size check: the peer can still truncate
     * them, which the documentation states as a limit. Returns the seals now on the file (−1 if
     * none are possible).
     */
    public static int checkRegion(Fd fd, long size, String what) throws IOException {
        long have;
        try {
            have = fd.size();
        } catch (SysException e) {
            throw new BadPeerFdException(what + ": not a mappable file (" + describe(fd) + "): " + e.getMessage());
        }
        if (have < size) throw new BadPeerFdException(what + ": file has " + have + " bytes, peer claims " + size);
        int seals = Seals.get(fd);
        if (seals >= 0 && (seals & Seals.F_SEAL_SHRINK) == 0) {
            if ((seals & Seals.F_SEAL_SEAL) != 0) {
                throw new BadPeerFdException(what + ": file may shrink (sealed without F_SEAL_SHRINK)");
            }
            Seals.add(fd, Seals.F_SEAL_SHRINK);
            seals |= Seals.F_SEAL_SHRINK;
        }
        return seals;
    }
}
