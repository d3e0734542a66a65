package ringlink.memif;

import static ringlink.memif.MemifDescLayout.*;
import static ringlink.memif.MemifRingLayout.OFF_DESC;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One descriptor of a ring the peer fills, read once and checked against the regions we mapped.
 * Both receive paths (copying and in place) walk chains through this: the fields are the values
 * checked and the ones the caller uses, so a descriptor is never read again (the peer can rewrite
 * it meanwhile). One per link, used by its receive thread only and reused: nothing per packet; a
 * final class with a small method, so the JIT inlines it into either loop.
 */
final class MemifDescReader {
    /** The last descriptor read: its ring slot, flags, region, and where its bytes are. */
    int slot, flags, region;
    long offset, length;

    /**
     * Reads descriptor {@code slot} of the ring at {@code ring} in {@code m} into the fields;
     * returns false if it points outside a region we mapped ({@link #outside} says how).
     */
    boolean read(Session s, MemorySegment m, long ring, int slot) {
        this.slot = slot & s.mask;
        long d = ring + OFF_DESC + (long) this.slot * MemifDescLayout.SIZE;
        flags = m.get(ValueLayout.JAVA_SHORT, d + OFF_FLAGS);
        region = m.get(ValueLayout.JAVA_SHORT, d + OFF_REGION) & 0xffff;
        length = m.get(ValueLayout.JAVA_INT, d + OFF_LENGTH) & 0xffffffffL;
        offset = m.get(ValueLayout.JAVA_INT, d + OFF_OFFSET) & 0xffffffffL;
        return region < s.regions.length && offset + length <= s.regionSize[region];
    }

    /** True if the packet goes on in the next descriptor. */
    boolean chained() { return (flags & MEMIF_DESC_FLAG_NEXT) != 0; }

    /** Why the descriptor just read was refused, for {@link MemifException}. */
    String outside(int pair) {
        return "descriptor " + slot + " of ring " + pair + " points outside the shared memory (region " + region
                + ", offset " + offset + ", length " + length + ")";
    }
}
