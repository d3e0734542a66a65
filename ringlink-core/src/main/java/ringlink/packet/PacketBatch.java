package ringlink.packet;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A reusable batch of packet buffers: the unit every {@code Link} receives into and transmits from.
 *
 * <p>One contiguous {@link MemorySegment} holds {@link #capacity()} buffers of
 * {@link #bufferSize()} bytes each. Packet {@code i}'s bytes are at
 * {@code memory().asSlice(dataOffset(i), length(i))}; its data may start anywhere in its buffer
 * (by default after {@link #headroom()} bytes, so a transport can prepend a header in place).
 * Each packet also carries offload metadata with the semantics and values of the virtio-net
 * header ({@link VirtioNetHdr}): checksum flags and GSO type/size, so a TSO superpacket or a
 * partially checksummed packet passes from one transport to another untouched.
 *
 * <p>Nothing here allocates per packet: metadata lives in primitive arrays sized at construction.
 * A batch is used by one thread at a time; it is not thread-safe.
 */
public final class PacketBatch implements AutoCloseable {
    /** Default bytes reserved in front of each packet. */
    public static final int DEFAULT_HEADROOM = 64;
    /** Buffer size that holds the largest GSO superpacket (64 KiB + headers) with headroom. */
    public static final int SUPERPACKET_BUFFER = 65536 + 256 + DEFAULT_HEADROOM;

    private final Arena arena; // null when the memory is not ours
    private final MemorySegment memory;
    private final int capacity;
    private final int bufferSize;
    private final int headroom;
    private final int[] offset;
    private final int[] length;
    private final byte[] flags;
    private final byte[] gsoType;
    private final char[] hdrLen;
    private final char[] gsoSize;
    private final char[] csumStart;
    private final char[] csumOffset;
    /** Per-packet transport peer id (see {@link #peer(int)}); 0 unless a link sets it. */
    private final int[] peer;
    private int count;

    /** A batch of {@code capacity} buffers of {@code bufferSize} bytes, with the default headroom. */
    public PacketBatch(int capacity, int bufferSize) {
        this(capacity, bufferSize, DEFAULT_HEADROOM);
    }

    /** A batch with its own native memory (freed by {@link #close()}). */
    public PacketBatch(int capacity, int bufferSize, int headroom) {
        this(null, capacity, bufferSize, headroom);
    }

    /**
     * A batch over memory the caller owns (e.g. ring memory for zero copy), laid out as
     * {@code capacity} consecutive buffers of {@code bufferSize} bytes. {@link #close()} does not
     * free it.
     */
    public PacketBatch(MemorySegment memory, int capacity, int bufferSize, int headroom) {
        if (capacity <= 0) throw new IllegalArgumentException("capacity must be positive: " + capacity);
        if (bufferSize <= 0) throw new IllegalArgumentException("bufferSize must be positive: " + bufferSize);
        if (headroom < 0 || headroom >= bufferSize) {
            throw new IllegalArgumentException("headroom " + headroom + " must be in [0, bufferSize=" + bufferSize
                    + ")");
        }
        long bytes = Math.multiplyExact((long) capacity, bufferSize);
        if (memory == null) {
            this.arena = Arena.ofShared();
            this.memory = arena.allocate(bytes, 64);
        } else {
            if (memory.byteSize() < bytes) {
                throw new IllegalArgumentException("memory of " + memory.byteSize() + " bytes is smaller than "
                        + capacity + " x " + bufferSize);
            }
            this.arena = null;
            this.memory = memory;
        }
        this.capacity = capacity;
        this.bufferSize = bufferSize;
        this.headroom = headroom;
        this.offset = new int[capacity];
        this.length = new int[capacity];
        this.flags = new byte[capacity];
        this.gsoType = new byte[capacity];
        this.hdrLen = new char[capacity];
        this.gsoSize = new char[capacity];
        this.csumStart = new char[capacity];
        this.csumOffset = new char[capacity];
        this.peer = new int[capacity];
        java.util.Arrays.fill(offset, headroom);
    }

    /** The number of packet buffers. */
    public int capacity() { return capacity; }
    /** The size of one buffer in bytes (headroom included). */
    public int bufferSize() { return bufferSize; }
    /** Bytes reserved at the start of every buffer before the data of a new packet (room to prepend headers). */
    public int headroom() { return headroom; }
    /** The memory holding every buffer. */
    public MemorySegment memory() { return memory; }
    /** Number of packets in the batch. */
    public int count() { return count; }
    /** True if the batch holds no packet. */
    public boolean isEmpty() { return count == 0; }
    /** True if every buffer holds a packet ({@link #count()} equals {@link #capacity()}). */
    public boolean isFull() { return count == capacity; }

    /** Empties the batch (buffers are kept). */
    public void clear() { count = 0; }

    /**
     * Appends an empty packet (data at the headroom, length 0, no offload metadata) and returns
     * its index.
     *
     * @throws IllegalStateException if the batch is full
     */
    public int add() {
        if (count == capacity) throw new IllegalStateException("batch full (" + capacity + " packets)");
        int i = count++;
        offset[i] = headroom;
        length[i] = 0;
        clearOffload(i);
        peer[i] = 0;
        return i;
    }

    /** Sets the packet count directly (packets {@code [0,n)} keep whatever their slots hold). */
    public void setCount(int n) {
        Objects.checkIndex(n, capacity + 1);
        count = n;
    }

    /**
     * Removes packets {@code [0, n)}, moving the rest down (bytes and metadata are copied, so
     * this is for the rare partial-transmit case, not the hot path).
     */
    public void removeFirst(int n) {
        Objects.checkIndex(n, count + 1);
        if (n == 0) return;
        for (int src = n, dst = 0; src < count; src++, dst++) {
            copyPacket(src, dst);
        }
        count -= n;
    }

    /** Copies packet {@code src} (bytes and metadata) into slot {@code dst} of this batch. */
    public void copyPacket(int src, int dst) {
        if (src == dst) return;
        MemorySegment.copy(memory, dataOffset(src), memory, bufferOffset(dst) + offset[src], length[src]);
        offset[dst] = offset[src];
        length[dst] = length[src];
        copyOffload(this, src, dst);
        peer[dst] = peer[src];
    }

    /** Offset in {@link #memory()} of buffer {@code i}'s first byte. */
    public long bufferOffset(int i) { return (long) i * bufferSize; }

    /** Offset in {@link #memory()} of packet {@code i}'s first byte. */
    public long dataOffset(int i) { return (long) i * bufferSize + offset[i]; }

    /** Where packet {@code i}'s data starts inside its buffer. */
    public int dataStart(int i) { return offset[i]; }

    /** Packet {@code i}'s length in bytes. */
    public int length(int i) { return length[i]; }

    /** Bytes available in buffer {@code i} from the data start to the end of the buffer. */
    public int room(int i) { return bufferSize - offset[i]; }

    /** Sets packet {@code i}'s length. */
    public void setLength(int i, int len) {
        if (len < 0 || len > bufferSize - offset[i]) {
            throw new IndexOutOfBoundsException("length " + len + " does not fit buffer " + i + " (room " + room(i)
                    + ")");
        }
        length[i] = len;
    }

    /** Places packet {@code i}'s data at {@code start} within its buffer with {@code len} bytes. */
    public void setData(int i, int start, int len) {
        if (start < 0 || len < 0 || (long) start + len > bufferSize) {
            throw new IndexOutOfBoundsException("data [" + start + ", +" + len + ") outside buffer of " + bufferSize);
        }
        offset[i] = start;
        length[i] = len;
    }

    /**
     * Grows packet {@code i} at the front by {@code n} bytes (into the headroom) and returns the
     * new data offset in {@link #memory()}; a negative {@code n} strips bytes from the front.
     */
    public long push(int i, int n) {
        int start = offset[i] - n;
        int len = length[i] + n;
        if (start < 0 || len < 0) {
            throw new IndexOutOfBoundsException("cannot push " + n + " bytes on packet " + i + " (headroom " + offset[i]
                    + ", length " + length[i] + ")");
        }
        offset[i] = start;
        length[i] = len;
        return dataOffset(i);
    }

    /** Packet {@code i}'s bytes as a slice (allocates a segment view: not for the hottest paths). */
    public MemorySegment data(int i) { return memory.asSlice(dataOffset(i), length[i]); }

    /** Buffer {@code i} whole, from its first byte. */
    public MemorySegment buffer(int i) { return memory.asSlice(bufferOffset(i), bufferSize); }

    /** Total bytes of packets {@code [0, count)}. */
    public long totalBytes() {
        long t = 0;
        for (int i = 0; i < count; i++) t += length[i];
        return t;
    }

    // ---- transport peer (datagram links) ----

    /**
     * Packet {@code i}'s transport peer: on a link that talks to several remote endpoints over
     * one socket ({@code udp:}), the id (in that link's peer table) of the endpoint the packet
     * came from, or is to be sent to; 0, the default, is the link's first configured remote.
     * Links without peers ignore it. {@link #add()} resets it to 0; copies keep it.
     */
    public int peer(int i) { return peer[i]; }

    /** Sets packet {@code i}'s transport peer id (see {@link #peer(int)}). */
    public void setPeer(int i, int id) { peer[i] = id; }

    // ---- offload metadata (virtio-net header semantics) ----

    /** Packet {@code i}'s virtio-net header flags ({@code VirtioNetHdr.F_*}). */
    public int flags(int i) { return flags[i] & 0xff; }
    /** Packet {@code i}'s GSO type ({@code VirtioNetHdr.GSO_*}, with the ECN bit). */
    public int gsoType(int i) { return gsoType[i] & 0xff; }
    /** Packet {@code i}'s {@code hdr_len}: the length of the headers to copy into every segment. */
    public int hdrLen(int i) { return hdrLen[i]; }
    /** Packet {@code i}'s {@code gso_size}: payload bytes per segment. */
    public int gsoSize(int i) { return gsoSize[i]; }
    /** Packet {@code i}'s {@code csum_start}: where checksumming starts, from the packet's first byte. */
    public int csumStart(int i) { return csumStart[i]; }
    /** Packet {@code i}'s {@code csum_offset}: where the checksum goes, relative to {@code csum_start}. */
    public int csumOffset(int i) { return csumOffset[i]; }

    /** True if packet {@code i} is a GSO superpacket. */
    public boolean isGso(int i) { return (gsoType[i] & ~VirtioNetHdr.GSO_ECN) != VirtioNetHdr.GSO_NONE; }

    /** True if packet {@code i}'s transport checksum still has to be computed. */
    public boolean needsCsum(int i) { return (flags[i] & VirtioNetHdr.F_NEEDS_CSUM) != 0; }

    /**
     * Sets all of packet {@code i}'s offload metadata (the virtio-net header fields; the four lengths are kept as
     * 16-bit unsigned values).
     */
    public void setOffload(int i, int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset) {
        this.flags[i] = (byte) flags;
        this.gsoType[i] = (byte) gsoType;
        this.hdrLen[i] = (char) hdrLen;
        this.gsoSize[i] = (char) gsoSize;
        this.csumStart[i] = (char) csumStart;
        this.csumOffset[i] = (char) csumOffset;
    }

    /** Sets packet {@code i}'s virtio-net header flags. */
    public void setFlags(int i, int flags) { this.flags[i] = (byte) flags; }
    /** Sets packet {@code i}'s GSO type, header length and segment size (16-bit unsigned lengths). */
    public void setGso(int i, int gsoType, int hdrLen, int gsoSize) {
        this.gsoType[i] = (byte) gsoType;
        this.hdrLen[i] = (char) hdrLen;
        this.gsoSize[i] = (char) gsoSize;
    }
    /** Sets packet {@code i}'s {@code csum_start} and {@code csum_offset} (16-bit unsigned). */
    public void setCsum(int i, int csumStart, int csumOffset) {
        this.csumStart[i] = (char) csumStart;
        this.csumOffset[i] = (char) csumOffset;
    }

    /** Clears packet {@code i}'s offload metadata (a plain packet with a complete checksum). */
    public void clearOffload(int i) {
        flags[i] = 0;
        gsoType[i] = 0;
        hdrLen[i] = 0;
        gsoSize[i] = 0;
        csumStart[i] = 0;
        csumOffset[i] = 0;
    }

    /** Copies packet {@code src}'s metadata from {@code from} to packet {@code dst} of {@code this}. */
    public void copyOffload(PacketBatch from, int src, int dst) {
        flags[dst] = from.flags[src];
        gsoType[dst] = from.gsoType[src];
        hdrLen[dst] = from.hdrLen[src];
        gsoSize[dst] = from.gsoSize[src];
        csumStart[dst] = from.csumStart[src];
        csumOffset[dst] = from.csumOffset[src];
    }

    /**
     * Appends a copy of packet {@code src} of {@code from} (bytes and metadata) and returns its
     * index here.
     */
    public int append(PacketBatch from, int src) {
        int len = from.length(src);
        if (len > bufferSize - headroom) {
            throw new IllegalArgumentException("packet of " + len + " bytes does not fit a buffer of "
                    + (bufferSize - headroom));
        }
        int i = add();
        MemorySegment.copy(from.memory, from.dataOffset(src), memory, dataOffset(i), len);
        length[i] = len;
        copyOffload(from, src, i);
        peer[i] = from.peer[src];
        return i;
    }

    /** Frees the batch's memory if it owns it. */
    @Override
    public void close() {
        if (arena != null) arena.close();
    }
}
