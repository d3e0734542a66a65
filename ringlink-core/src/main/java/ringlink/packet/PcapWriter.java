package ringlink.packet;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes classic libpcap files with nanosecond timestamps (magic {@code 0xa1b23c4d}), one link
 * type per file. Use {@link PcapngWriter} when several interfaces go into one file. Writing a
 * packet allocates nothing. Not thread-safe.
 */
public final class PcapWriter extends CaptureWriter {
    static final int MAGIC_NANOS = 0xa1b23c4d;
    private final int snapLen;

    /** A writer on {@code channel}; writes the file header now (buffered). */
    public PcapWriter(WritableByteChannel channel, int linkType, int snapLen) throws IOException {
        super(channel);
        if (snapLen <= 0) throw new IllegalArgumentException("snapLen must be positive");
        this.snapLen = snapLen;
        reserve(24);
        buf.putInt(MAGIC_NANOS).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0)
                .putInt(snapLen).putInt(linkType);
    }

    /** Creates (or truncates) {@code file} and returns a writer on it. */
    public static PcapWriter create(Path file, int linkType) throws IOException {
        return new PcapWriter(FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING), linkType, DEFAULT_SNAPLEN);
    }

    /** Writes one packet; {@code timestampNanos} counts from the Unix epoch. */
    public void writePacket(long timestampNanos, MemorySegment seg, long off, int len) throws IOException {
        int cap = Math.min(len, snapLen);
        reserve(16 + cap);
        buf.putInt((int) Math.floorDiv(timestampNanos, 1_000_000_000L))
                .putInt((int) Math.floorMod(timestampNanos, 1_000_000_000L))
                .putInt(cap).putInt(len);
        putData(seg, off, cap, 1);
    }

    /** Writes every packet of {@code batch}, all with the same timestamp. */
    public void write(long timestampNanos, PacketBatch batch) throws IOException {
        for (int i = 0; i < batch.count(); i++) {
            writePacket(timestampNanos, batch.memory(), batch.dataOffset(i), batch.length(i));
        }
    }
}
