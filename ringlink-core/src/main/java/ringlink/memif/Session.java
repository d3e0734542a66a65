package ringlink.memif;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import ringlink.sys.EventFd;
import ringlink.sys.Mapping;

/**
 * One live connection's shared memory: the mapped regions and, per queue pair, where its two
 * rings lie and their interrupt eventfds. Built by the control thread once the set-up is
 * complete and checked; read by the links' data paths; closed by the control thread only after
 * every link has let go of it ({@link MemifLink#detach()}).
 */
final class Session {
    static final VarHandle U16 = ValueLayout.JAVA_SHORT.varHandle();

    /**
     * Release-store of a ring's head or tail: a release fence, then a plain aligned 16-bit store
     * (on x86 the same code as {@code U16.setRelease} compiled). Not {@code U16.setRelease}: with
     * {@code allow-unsealed} the peer can shrink a region under us, and when the caller is not
     * compiled a 16-bit release store runs HotSpot's C++ {@code xchg %r8w}, whose SIGBUS the x86
     * handler cannot skip (the JVM aborts; ringlink.virtio.VirtqLayout#setRelease16,
     * docs/ARCHITECTURE.md "Shared files").
     */
    static void setRelease16(MemorySegment m, long off, int v) {
        VarHandle.releaseFence();
        m.set(ValueLayout.JAVA_SHORT, off, (short) v);
    }

    final boolean server;
    final MemorySegment[] regions;
    final long[] regionSize;
    final Mapping[] mappings;
    final int pairs, log2, ringSize, mask;
    /** Per pair: the region and offset of the S2M (client to server) and M2S ring. */
    final int[] s2mRegion, m2sRegion;
    final long[] s2mOffset, m2sOffset;
    final EventFd[] s2mInt, m2sInt;
    /** Client only: where buffer {@code slot} of each ring lies in region 0 (fixed per slot). */
    final long bufferStart;
    final int bufferSize;
    /** Set when the data path found the peer broke the rings; the control thread disconnects. */
    volatile String broken;

    Session(boolean server, Mapping[] mappings, long[] regionSize, int pairs, int log2,
            int[] s2mRegion, long[] s2mOffset, EventFd[] s2mInt, int[] m2sRegion, long[] m2sOffset, EventFd[] m2sInt,
            long bufferStart, int bufferSize) {
        this.server = server;
        this.mappings = mappings;
        this.regionSize = regionSize;
        this.regions = new MemorySegment[mappings.length];
        for (int i = 0; i < mappings.length; i++) regions[i] = mappings[i].segment();
        this.pairs = pairs;
        this.log2 = log2;
        this.ringSize = 1 << log2;
        this.mask = ringSize - 1;
        this.s2mRegion = s2mRegion;
        this.s2mOffset = s2mOffset;
        this.s2mInt = s2mInt;
        this.m2sRegion = m2sRegion;
        this.m2sOffset = m2sOffset;
        this.m2sInt = m2sInt;
        this.bufferStart = bufferStart;
        this.bufferSize = bufferSize;
    }

    /**
     * The memory holding pair {@code pair}'s ring that we receive on ({@code rx}) or transmit on:
     * the server receives on S2M and transmits on M2S, the client the other way round.
     */
    MemorySegment ringMemory(int pair, boolean rx) {
        return regions[rx == server ? s2mRegion[pair] : m2sRegion[pair]];
    }

    /** Where that ring starts in {@link #ringMemory}. */
    long ringOffset(int pair, boolean rx) { return rx == server ? s2mOffset[pair] : m2sOffset[pair]; }

    /** That ring's interrupt eventfd. */
    EventFd ringInt(int pair, boolean rx) { return rx == server ? s2mInt[pair] : m2sInt[pair]; }

    /**
     * Client: offset in region 0 of the buffer behind {@code slot} of ring {@code ringNo} (S2M 0..pairs-1, then M2S).
     */
    long clientBuffer(int ringNo, int slot) {
        return bufferStart + ((long) ringNo * ringSize + (slot & mask)) * bufferSize;
    }

    void close() {
        for (Mapping m : mappings) if (m != null) m.close();
        for (EventFd e : s2mInt) if (e != null) e.close();
        for (EventFd e : m2sInt) if (e != null) e.close();
    }
}
