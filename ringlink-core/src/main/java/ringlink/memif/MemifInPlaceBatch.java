package ringlink.memif;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import ringlink.packet.PacketBatch;

/**
 * Packets lent in place by {@link MemifLink#receiveInPlace}: as memif server, the frames stay in
 * the client's buffers (its shared regions) until {@link MemifLink#releaseInPlace} hands those
 * buffers back, so the payload is never copied. memif allows this to the server only: the
 * client owns the buffers and reuses one only after the server has moved the ring's tail past
 * it.
 *
 * <p>Packet {@code i} is {@link #segments(int)} pieces (more than one when the client chained
 * descriptors), piece {@code k} at {@link #segmentOffset(int, int)} in
 * {@link #segmentMemory(int, int)} (the whole mapped region, a bounded segment), of
 * {@link #segmentLength(int, int)} bytes; every piece was checked against its region's bounds
 * before it was lent. Nothing here allocates per packet.
 *
 * <p><b>The peer can still write these bytes</b> while they are lent (a hostile or buggy client
 * ignores the protocol as it likes). So the first {@link #headerSize()} bytes of every packet
 * are also copied into memory of ours ({@link #headers()}, at {@link #headerOffset(int)}):
 * decide on those (addresses, ports, lengths, anything a check or a lookup reads), and treat
 * the lent bytes as payload that may change under you. Reading lent bytes is memory-safe: the
 * pieces are bounds-checked, and if the connection goes away while packets are lent the region
 * is unmapped through its arena, so a read throws {@link IllegalStateException} rather than
 * touching freed memory.
 *
 * <p>One thread at a time, like {@link PacketBatch}.
 */
public final class MemifInPlaceBatch implements AutoCloseable {
    /** Header bytes copied per packet by default: Ethernet + VLAN + IPv6 + TCP with options fit. */
    public static final int DEFAULT_HEADER = 128;

    private final Arena arena = Arena.ofShared();
    private final int capacity, headerSize, maxSegments;
    private final MemorySegment headers;
    private final int[] first, length;
    private final MemorySegment[] segMem;
    private final long[] segOff;
    private final int[] segLen;
    int count, segs;
    /** The session the packets were lent from and how many ring slots they hold (released together). */
    Session session;
    int lentSlots;

    /** A batch of up to {@code capacity} packets with {@link #DEFAULT_HEADER} header bytes copied each. */
    public MemifInPlaceBatch(int capacity) {
        this(capacity, DEFAULT_HEADER, 4 * capacity + 64);
    }

    /**
     * @param capacity    packets per call
     * @param headerSize  bytes copied from the start of every packet into {@link #headers()}
     * @param maxSegments pieces (descriptors) per call over all packets; a packet chained over
     *                    more than this is dropped (counted in the link's {@code rxDrops})
     */
    public MemifInPlaceBatch(int capacity, int headerSize, int maxSegments) {
        if (capacity <= 0 || headerSize < 0 || maxSegments < capacity) {
            throw new IllegalArgumentException("capacity " + capacity + ", headerSize " + headerSize + ", maxSegments "
                    + maxSegments);
        }
        this.capacity = capacity;
        this.headerSize = headerSize;
        this.maxSegments = maxSegments;
        this.headers = arena.allocate(Math.max(1L, (long) capacity * headerSize), 64);
        this.first = new int[capacity + 1];
        this.length = new int[capacity];
        this.segMem = new MemorySegment[maxSegments];
        this.segOff = new long[maxSegments];
        this.segLen = new int[maxSegments];
    }

    /** Packets lent now (0 after {@link MemifLink#releaseInPlace}). */
    public int count() { return count; }

    /** The most packets one call lends. */
    public int capacity() { return capacity; }

    /** Bytes of each packet copied into {@link #headers()}. */
    public int headerSize() { return headerSize; }

    /** Packet {@code i}'s whole length. */
    public int length(int i) {
        Objects.checkIndex(i, count);
        return length[i];
    }

    /** How many pieces packet {@code i} is in. */
    public int segments(int i) {
        Objects.checkIndex(i, count);
        return first[i + 1] - first[i];
    }

    /** The peer's region holding piece {@code k} of packet {@code i} (read it at {@link #segmentOffset}). */
    public MemorySegment segmentMemory(int i, int k) { return segMem[piece(i, k)]; }

    /** Where piece {@code k} of packet {@code i} starts in {@link #segmentMemory}. */
    public long segmentOffset(int i, int k) { return segOff[piece(i, k)]; }

    /** Length of piece {@code k} of packet {@code i}. */
    public int segmentLength(int i, int k) { return segLen[piece(i, k)]; }

    private int piece(int i, int k) {
        Objects.checkIndex(k, segments(i));
        return first[i] + k;
    }

    /** Our private copies of every packet's first bytes (see the class comment). */
    public MemorySegment headers() { return headers; }

    /** Where packet {@code i}'s header copy starts in {@link #headers()}. */
    public long headerOffset(int i) {
        Objects.checkIndex(i, count);
        return (long) i * headerSize;
    }

    /** How many bytes of packet {@code i} were copied: {@code min(length, headerSize)}. */
    public int headerLength(int i) { return Math.min(length(i), headerSize); }

    /**
     * Copies packet {@code i} into a new packet of {@code batch} (e.g. to forward it), the header
     * bytes from our copy and the rest from the lent pieces; returns its index in the batch, or
     * -1 if the batch is full or the packet does not fit a buffer.
     */
    public int copyTo(int i, PacketBatch batch) {
        int len = length(i);
        if (batch.isFull()) return -1;
        int j = batch.add();
        if (len > batch.room(j)) {
            batch.setCount(j);
            return -1;
        }
        MemorySegment dst = batch.memory();
        long at = batch.dataOffset(j);
        int h = headerLength(i);
        MemorySegment.copy(headers, headerOffset(i), dst, at, h);
        int skip = h, done = 0;
        for (int k = first[i]; k < first[i + 1]; k++) {
            int l = segLen[k], from = Math.min(l, skip);
            skip -= from;
            if (l > from) MemorySegment.copy(segMem[k], segOff[k] + from, dst, at + h + done, l - from);
            done += l - from;
        }
        batch.setLength(j, len);
        return j;
    }

    // ---- filled by MemifLink ----

    boolean segmentRoom(int n) { return segs + n <= maxSegments; }

    int maxSegments() { return maxSegments; }

    void beginPacket() { first[count] = segs; }

    void addSegment(MemorySegment region, long off, int len) {
        segMem[segs] = region;
        segOff[segs] = off;
        segLen[segs] = len;
        segs++;
    }

    /** Drops the pieces added since {@link #beginPacket()}. */
    void abandonPacket() { segs = first[count]; }

    /** Ends the packet begun last: its length, and its first bytes copied into our memory. */
    void endPacket(int total) {
        int i = count;
        length[i] = total;
        first[i + 1] = segs;
        int want = Math.min(total, headerSize), done = 0;
        long to = (long) i * headerSize;
        for (int k = first[i]; k < segs && done < want; k++) {
            int n = Math.min(segLen[k], want - done);
            MemorySegment.copy(segMem[k], segOff[k], headers, to + done, n);
            done += n;
        }
        count++;
    }

    boolean isFull() { return count == capacity; }

    void clear() {
        for (int k = 0; k < segs; k++) segMem[k] = null; // no reference to an old connection's regions
        count = 0;
        segs = 0;
        first[0] = 0;
        session = null;
        lentSlots = 0;
    }

    /** Frees the header memory. Release lent packets first ({@link MemifLink#releaseInPlace}). */
    @Override
    public void close() {
        arena.close();
    }
}
