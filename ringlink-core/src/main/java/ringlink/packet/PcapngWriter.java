package ringlink.packet;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes pcapng files (draft-ietf-opsawg-pcapng): a section header, one interface description
 * per {@link #addInterface} (with {@code if_tsresol} = 9, i.e. nanosecond timestamps), and an
 * enhanced packet block per packet. Blocks are in the host's byte order, which readers detect
 * from the byte-order magic. Packets longer than the interface's snapshot length are truncated
 * (the original length is recorded). Writing a packet allocates nothing; the records are buffered
 * and reach the file on {@link #flush()} or {@link #close()}. Not thread-safe.
 *
 * <pre>{@code
 * try (var w = PcapngWriter.create(Path.of("out.pcapng"))) {
 *     int eth = w.addInterface(CaptureWriter.LINKTYPE_ETHERNET, CaptureWriter.DEFAULT_SNAPLEN, "tap0");
 *     w.write(eth, System.currentTimeMillis() * 1_000_000, batch);
 * }
 * }</pre>
 */
public final class PcapngWriter extends CaptureWriter {
    static final int BT_SHB = 0x0A0D0D0A;
    static final int BT_IDB = 0x00000001;
    static final int BT_EPB = 0x00000006;
    static final int BYTE_ORDER_MAGIC = 0x1A2B3C4D;
    static final int OPT_ENDOFOPT = 0;
    static final int IF_NAME = 2;
    static final int IF_TSRESOL = 9;

    private final int[] snaplen = new int[256];
    private int interfaces;

    /** A writer on {@code channel}; writes the section header block now (buffered). */
    public PcapngWriter(WritableByteChannel channel) throws IOException {
        super(channel);
        reserve(28);
        buf.putInt(BT_SHB).putInt(28).putInt(BYTE_ORDER_MAGIC)
                .putShort((short) 1).putShort((short) 0).putLong(-1L) // section length unknown
                .putInt(28);
    }

    /** Creates (or truncates) {@code file} and returns a writer on it. */
    public static PcapngWriter create(Path file) throws IOException {
        return new PcapngWriter(FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING));
    }

    /**
     * Adds an interface and returns its id for {@link #writePacket}.
     *
     * @param linkType {@link #LINKTYPE_ETHERNET} or {@link #LINKTYPE_RAW} (or any pcap link type)
     * @param snapLen bytes kept of each packet
     * @param name interface name recorded as {@code if_name}, or null
     */
    public int addInterface(int linkType, int snapLen, String name) throws IOException {
        if (interfaces == snaplen.length) throw new IllegalStateException("too many interfaces");
        if (snapLen <= 0) throw new IllegalArgumentException("snapLen must be positive");
        byte[] nm = name == null ? new byte[0] : name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int nameOpt = nm.length == 0 ? 0 : 4 + ((nm.length + 3) & ~3);
        int total = 8 + 8 + 8 + nameOpt + 4 + 4;
        reserve(total);
        buf.putInt(BT_IDB).putInt(total).putShort((short) linkType).putShort((short) 0).putInt(snapLen);
        buf.putShort((short) IF_TSRESOL).putShort((short) 1).put((byte) 9).put((byte) 0).putShort((short) 0);
        if (nameOpt > 0) {
            buf.putShort((short) IF_NAME).putShort((short) nm.length).put(nm);
            for (int k = nm.length; k < ((nm.length + 3) & ~3); k++) buf.put((byte) 0);
        }
        buf.putShort((short) OPT_ENDOFOPT).putShort((short) 0).putInt(total);
        snaplen[interfaces] = snapLen;
        return interfaces++;
    }

    /** Adds an interface with the default snapshot length and no name. */
    public int addInterface(int linkType) throws IOException {
        return addInterface(linkType, DEFAULT_SNAPLEN, null);
    }

    /**
     * Writes one packet as an enhanced packet block.
     *
     * @param iface an id returned by {@link #addInterface}
     * @param timestampNanos nanoseconds since the Unix epoch
     */
    public void writePacket(int iface, long timestampNanos, MemorySegment seg, long off, int len) throws IOException {
        if (iface < 0 || iface >= interfaces) throw new IllegalArgumentException("unknown interface " + iface);
        int cap = Math.min(len, snaplen[iface]);
        int total = 32 + ((cap + 3) & ~3);
        reserve(total);
        buf.putInt(BT_EPB).putInt(total).putInt(iface)
                .putInt((int) (timestampNanos >>> 32)).putInt((int) timestampNanos)
                .putInt(cap).putInt(len);
        putData(seg, off, cap, 4);
        buf.putInt(total);
    }

    /** Writes every packet of {@code batch}, all with the same timestamp. */
    public void write(int iface, long timestampNanos, PacketBatch batch) throws IOException {
        for (int i = 0; i < batch.count(); i++) {
            writePacket(iface, timestampNanos, batch.memory(), batch.dataOffset(i), batch.length(i));
        }
    }
}
