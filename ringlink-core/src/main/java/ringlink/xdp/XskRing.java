package ringlink.xdp;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import ringlink.sys.Mapping;

/**
 * One of the four AF_XDP rings mapped from the socket: a single-producer single-consumer ring of
 * {@code size} (a power of two) entries with free-running 32-bit producer and consumer indices.
 *
 * <p>We are the producer of the fill and TX rings and the consumer of the RX and completion rings.
 * Each side keeps a cached copy of the other side's index and only reads the shared one (with
 * acquire) when the cache says the ring looks full/empty; our own index is published with
 * release after the entries are written, so the kernel never sees an index ahead of its data.
 * One thread at a time per ring.
 */
final class XskRing {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    final String name;
    final Mapping mapping;
    final MemorySegment mem;
    final int size;
    final int mask;
    final long producerOff, consumerOff, descOff, flagsOff;
    /**
     * Our view: for a producer ring, our producer index and the cached consumer + size; for a consumer ring, the
     * reverse.
     */
    int cachedProd, cachedCons;
    private final boolean producer;

    XskRing(String name, Mapping mapping, int size, MemorySegment offsets, long entrySize, boolean producer) {
        this.name = name;
        this.mapping = mapping;
        this.mem = mapping.segment();
        this.size = size;
        this.mask = size - 1;
        this.producerOff = offsets.get(ValueLayout.JAVA_LONG, XdpRingOffsetLayout.OFF_PRODUCER);
        this.consumerOff = offsets.get(ValueLayout.JAVA_LONG, XdpRingOffsetLayout.OFF_CONSUMER);
        this.descOff = offsets.get(ValueLayout.JAVA_LONG, XdpRingOffsetLayout.OFF_DESC);
        this.flagsOff = offsets.get(ValueLayout.JAVA_LONG, XdpRingOffsetLayout.OFF_FLAGS);
        this.producer = producer;
        long need = descOff + (long) size * entrySize;
        // The offsets come from the kernel; refuse a layout that would put any index outside the mapping.
        for (long off : new long[] {producerOff, consumerOff, flagsOff}) {
            if (off < 0 || off + 4 > mem.byteSize() || (off & 3) != 0) {
                throw new IllegalStateException(name + " ring: kernel offset " + off + " outside mapping of "
                        + mem.byteSize());
            }
        }
        if (descOff < 0 || need > mem.byteSize()) {
            throw new IllegalStateException(name + " ring: descriptors end at " + need + " beyond mapping of "
                    + mem.byteSize());
        }
        if (producer) {
            cachedProd = (int) INT.getAcquire(mem, producerOff);
            cachedCons = (int) INT.getAcquire(mem, consumerOff) + size;
        } else {
            cachedCons = (int) INT.getAcquire(mem, consumerOff);
            cachedProd = (int) INT.getAcquire(mem, producerOff);
        }
    }

    /** Mapping length needed for {@code size} entries of {@code entrySize} after {@code offsets}. */
    static long mapLength(MemorySegment offsets, int size, long entrySize) {
        return offsets.get(ValueLayout.JAVA_LONG, XdpRingOffsetLayout.OFF_DESC) + (long) size * entrySize;
    }

    // ---- producer side (fill, TX) ----

    /** How many entries (up to {@code want}) can be reserved now. */
    int free(int want) {
        int free = cachedCons - cachedProd;
        if (free < want) {
            cachedCons = (int) INT.getAcquire(mem, consumerOff) + size;
            free = cachedCons - cachedProd;
        }
        return Math.min(free, want);
    }

    /** Publishes entries up to {@link #cachedProd} (written by the caller) to the kernel. */
    void submit() {
        INT.setRelease(mem, producerOff, cachedProd);
    }

    // ---- consumer side (RX, completion) ----

    /** How many entries (up to {@code max}) are ready to consume. */
    int available(int max) {
        int n = cachedProd - cachedCons;
        if (n == 0) {
            cachedProd = (int) INT.getAcquire(mem, producerOff);
            n = cachedProd - cachedCons;
        }
        if (n < 0 || n > size) {
            // Only a corrupted ring can say this; never index with it.
            throw new IllegalStateException(name + " ring: producer " + cachedProd + " / consumer " + cachedCons
                    + " is not a valid fill level for size " + size);
        }
        return Math.min(n, max);
    }

    /** Gives {@code n} consumed entries back to the kernel. */
    void release(int n) {
        cachedCons += n;
        INT.setRelease(mem, consumerOff, cachedCons);
    }

    /** Entries currently outstanding from our side's point of view (producer rings: not yet consumed by the kernel). */
    int pending() {
        return cachedProd - ((int) INT.getAcquire(mem, consumerOff));
    }

    boolean needWakeup() {
        return ((int) INT.getAcquire(mem, flagsOff) & XdpRingOffsetLayout.XDP_RING_NEED_WAKEUP) != 0;
    }

    /** True if the kernel has produced entries we have not consumed (RX: there is something to receive). */
    boolean hasEntries() {
        return (int) INT.getAcquire(mem, producerOff) != cachedCons;
    }

    // ---- entries ----

    long addrEntry(int idx) { return mem.get(ValueLayout.JAVA_LONG, descOff + ((long) (idx & mask) << 3)); }

    void setAddrEntry(int idx, long addr) { mem.set(ValueLayout.JAVA_LONG, descOff + ((long) (idx & mask) << 3), addr);
            }

    long descAddr(int idx) { return mem.get(ValueLayout.JAVA_LONG, descOff + ((long) (idx & mask) << 4)); }

    int descLen(int idx) {
            return mem.get(ValueLayout.JAVA_INT, descOff + ((long) (idx & mask) << 4) + XdpDescLayout.OFF_LEN); }

    int descOptions(int idx) {
            return mem.get(ValueLayout.JAVA_INT, descOff + ((long) (idx & mask) << 4) + XdpDescLayout.OFF_OPTIONS); }

    void setDesc(int idx, long addr, int len) {
        long o = descOff + ((long) (idx & mask) << 4);
        mem.set(ValueLayout.JAVA_LONG, o, addr);
        mem.set(ValueLayout.JAVA_INT, o + XdpDescLayout.OFF_LEN, len);
        mem.set(ValueLayout.JAVA_INT, o + XdpDescLayout.OFF_OPTIONS, 0);
    }

    boolean isProducer() { return producer; }
}
