package ringlink.vhostuser;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.SysException;

/**
 * The front-end's dirty-page log (vhost-user.rst, "Migration"): a bitmap with one bit per 4 KiB
 * page of guest physical address, bit {@code p % 8} of byte {@code p / 8} for page {@code p},
 * starting {@code mmap_offset} bytes into the file QEMU passed with SET_LOG_BASE.
 *
 * <p>QEMU reads and clears the bitmap while we set bits, and several of our queues set bits in
 * it at once, so every update is an atomic OR. It is done on aligned 64-bit words (the only
 * width the FFM API ORs atomically); the mapping is rounded up to a whole word, which stays in
 * the file's last page, and bits we do not mean to set are ORed with zero, so a neighbour's bits
 * are never disturbed. A page beyond the bitmap is dropped (counted in {@link #dropped()}).
 */
final class DirtyLog implements AutoCloseable {
    /** VHOST_LOG_PAGE: the granule of the log. */
    static final int PAGE_SHIFT = 12;

    private static final VarHandle WORD = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final Mapping mapping;
    private final MemorySegment seg;
    private final long offset;   // where the bitmap starts in the mapping
    private final long pages;    // bits in the bitmap
    private final AtomicLong marked = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();

    /** False if the front-end can shrink the log's file under our mapping ({@link MemoryTable#sealedAgainstShrink}). */
    final boolean sealed;

    private DirtyLog(Mapping mapping, long offset, long size, boolean sealed) {
        this.sealed = sealed;
        this.mapping = mapping;
        this.seg = mapping.segment();
        this.offset = offset;
        this.pages = size << 3;
    }

    /**
     * Maps the log of SET_LOG_BASE: {@code size} bytes at {@code offset} in {@code fd} (closed
     * afterwards; the mapping keeps the memory). Sizes the front-end gives are hostile: zero,
     * sums that overflow, or an end beyond the file (touching that would raise SIGBUS) are
     * rejected before anything is mapped.
     */
    static DirtyLog adopt(Fd fd, long size, long offset) throws VhostUserException {
        if (fd == null) throw new VhostUserException.IncorrectFds("SET_LOG_BASE without the log's file descriptor");
        try (fd) {
            String what = "SET_LOG_BASE log of " + Long.toUnsignedString(size) + " bytes at offset "
                    + Long.toUnsignedString(offset);
            // The bit count (size * 8) must fit a long, and the word-rounded end too.
            if (size <= 0 || offset < 0 || size > (Long.MAX_VALUE >>> 4) || offset > (Long.MAX_VALUE >>> 1) - size) {
                throw new VhostUserException.InvalidParam(what + ": impossible size/offset");
            }
            boolean sealed = MemoryTable.sealedAgainstShrink(fd, "SET_LOG_BASE log"); // before the size is read
            long fileSize;
            try {
                fileSize = fd.size();
            } catch (SysException e) {
                throw new VhostUserException.InvalidParam(what + ": cannot size its fd: " + e.getMessage(), e);
            }
            if (offset + size > fileSize) {
                throw new VhostUserException.InvalidParam(what + " ends beyond its file of " + fileSize + " bytes");
            }
            long len = (offset + size + 7) & ~7L;
            try {
                Mapping m = Mapping.map(fd, len, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0,
                        "vhost-user dirty log");
                return new DirtyLog(m, offset, size, sealed);
            } catch (SysException e) {
                throw new VhostUserException.InvalidParam(what + ": " + e.getMessage(), e);
            }
        } catch (ClosedFdException e) {
            throw new VhostUserException.SocketBroken("log fd closed", e);
        }
    }

    /** Bits (pages) the bitmap covers. */
    long pages() { return pages; }

    /** Page marks done so far (a page written twice counts twice). */
    long marked() { return marked.get(); }

    /** Page marks dropped because the page lies beyond the bitmap. */
    long dropped() { return dropped.get(); }

    /**
     * Marks every page of guest physical range [{@code gpa}, {@code gpa + len}) dirty. A range
     * that wraps the address space or runs past the bitmap is cut there (the pages past it are
     * dropped).
     */
    void mark(long gpa, long len) {
        if (len <= 0) return;
        long first = gpa >>> PAGE_SHIFT;
        long lastAddr = gpa + len - 1;
        if (Long.compareUnsigned(lastAddr, gpa) < 0) lastAddr = -1L; // wraps: up to the top
        long last = lastAddr >>> PAGE_SHIFT;
        long n = last - first + 1;
        if (Long.compareUnsigned(first, pages) >= 0) {
            dropped.addAndGet(n);
            return;
        }
        if (Long.compareUnsigned(last, pages) >= 0) {
            dropped.addAndGet(last - pages + 1);
            last = pages - 1;
            n = last - first + 1;
        }
        // Gather the bits of one 64-bit word, then OR them in with a single atomic update.
        long p = first;
        while (p <= last) {
            long byteOff = offset + (p >>> 3);
            long word = byteOff & ~7L;
            int bit = (int) ((byteOff - word) << 3) + (int) (p & 7);
            long bits = 0;
            while (p <= last && bit < 64) {
                bits |= 1L << bit;
                bit++;
                p++;
            }
            WORD.getAndBitwiseOr(seg, word, bits);
        }
        marked.addAndGet(n);
    }

    /** True if the bit of page {@code page} is set (tests). */
    boolean isDirty(long page) {
        if (page < 0 || page >= pages) return false;
        long byteOff = offset + (page >>> 3);
        return (seg.get(ValueLayout.JAVA_BYTE, byteOff) & (1 << (page & 7))) != 0;
    }

    @Override
    public void close() {
        mapping.close();
    }
}
