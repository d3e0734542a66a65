package ringlink.packet;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;

/**
 * Common part of {@link PcapngWriter} and {@link PcapWriter}: a reused buffer in front of a
 * channel, so writing a packet allocates nothing. Not thread-safe.
 */
public abstract sealed class CaptureWriter implements AutoCloseable permits PcapngWriter, PcapWriter {
    /** pcap link type for Ethernet ({@code LINKTYPE_ETHERNET}, DLT_EN10MB). */
    public static final int LINKTYPE_ETHERNET = 1;
    /** pcap link type for packets starting with an IPv4 or IPv6 header ({@code LINKTYPE_RAW}). */
    public static final int LINKTYPE_RAW = 101;
    /** Default snapshot length: large enough for a 64 KiB GSO superpacket with headers. */
    public static final int DEFAULT_SNAPLEN = 262144;

    private final WritableByteChannel channel;
    final ByteBuffer buf;
    private final MemorySegment bufSeg;
    private boolean closed;

    CaptureWriter(WritableByteChannel channel) {
        this.channel = channel;
        this.buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.nativeOrder());
        this.bufSeg = MemorySegment.ofBuffer(buf);
    }

    /** The pcap link type for packets of this framing. */
    public static int linkType(Framing framing) {
        return framing == Framing.ETHERNET ? LINKTYPE_ETHERNET : LINKTYPE_RAW;
    }

    /** Makes room for {@code n} bytes, flushing the buffer to the channel if needed. */
    final void reserve(int n) throws IOException {
        if (closed) throw new IOException("capture writer is closed");
        if (buf.remaining() < n) flush();
        if (buf.remaining() < n) throw new IOException("record of " + n + " bytes exceeds the write buffer");
    }

    /** Copies {@code len} bytes of packet data, then zero-pads to a multiple of {@code align}. */
    final void putData(MemorySegment seg, long off, int len, int align) {
        int pos = buf.position();
        MemorySegment.copy(seg, off, bufSeg, pos, len);
        int padded = (len + align - 1) & -align;
        for (int k = len; k < padded; k++) bufSeg.set(ValueLayout.JAVA_BYTE, pos + k, (byte) 0);
        buf.position(pos + padded);
    }

    /** Writes buffered records to the channel. */
    public final void flush() throws IOException {
        buf.flip();
        while (buf.hasRemaining()) channel.write(buf);
        buf.clear();
    }

    /** Flushes and closes the channel. */
    @Override
    public void close() throws IOException {
        if (closed) return;
        try {
            flush();
        } finally {
            closed = true;
            channel.close();
        }
    }
}
