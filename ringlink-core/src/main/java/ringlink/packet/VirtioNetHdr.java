package ringlink.packet;

import static ringlink.sys.Endian.LE16;
import static ringlink.sys.Endian.LE32;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The virtio-net header ({@code struct virtio_net_hdr} / {@code virtio_net_hdr_mrg_rxbuf}, virtio
 * 1.2 §5.1.6): the per-packet offload metadata that TUN/TAP with {@code IFF_VNET_HDR}, vhost-net,
 * vhost-user and virtio rings all carry in front of a packet.
 *
 * <p>Layout (little-endian for VERSION_1 devices and for TUN/TAP on little-endian hosts):
 * <pre>
 *  0  u8  flags        NEEDS_CSUM | DATA_VALID | RSC_INFO
 *  1  u8  gso_type     NONE, TCPV4, UDP, TCPV6, UDP_L4, with the ECN bit
 *  2  u16 hdr_len      length of the headers to copy into every segment
 *  4  u16 gso_size     payload bytes per segment
 *  6  u16 csum_start   where checksumming starts
 *  8  u16 csum_offset  where the checksum goes, relative to csum_start
 * 10  u16 num_buffers  (only with MRG_RXBUF or VERSION_1) chains this packet spans
 * </pre>
 * The same field values are kept per packet in a {@link PacketBatch}, so transports move them
 * between the wire header and the batch with {@link #decode} and {@link #encode}.
 */
public final class VirtioNetHdr {
    private VirtioNetHdr() {}

    /** Size of the header without {@code num_buffers}. */
    public static final int SIZE = 10;
    /** Size of the header with {@code num_buffers} (MRG_RXBUF or VERSION_1). */
    public static final int SIZE_MRG = 12;

    /**
     * Flag: the checksum is partial; finish it from {@code csum_start} and store it at {@code csum_start +
     * csum_offset}.
     */
    public static final int F_NEEDS_CSUM = 1;
    /** Flag: the packet's checksums are known to be good (set by the device on packets it delivers). */
    public static final int F_DATA_VALID = 2;
    /**
     * Flag: receive segment coalescing info: {@code csum_start}/{@code csum_offset} carry the coalesced segment and
     * duplicate ACK counts.
     */
    public static final int F_RSC_INFO = 4;

    /** GSO type: not a superpacket. */
    public static final int GSO_NONE = 0;
    /** GSO type: TCP over IPv4 (TSO). */
    public static final int GSO_TCPV4 = 1;
    /** GSO type: UDP fragmentation offload (UFO). */
    public static final int GSO_UDP = 3;
    /** GSO type: TCP over IPv6 (TSO6). */
    public static final int GSO_TCPV6 = 4;
    /** USO: UDP segmentation (Linux 6.2+; missing from Debian 12's headers). */
    public static final int GSO_UDP_L4 = 5;
    /** Bit added to a TCP GSO type: the TCP ECN bits (CWR) are in use. */
    public static final int GSO_ECN = 0x80;

    /** Offset of {@code flags}. */
    public static final int OFF_FLAGS = 0;
    /** Offset of {@code gso_type}. */
    public static final int OFF_GSO_TYPE = 1;
    /** Offset of {@code hdr_len}. */
    public static final int OFF_HDR_LEN = 2;
    /** Offset of {@code gso_size}. */
    public static final int OFF_GSO_SIZE = 4;
    /** Offset of {@code csum_start}. */
    public static final int OFF_CSUM_START = 6;
    /** Offset of {@code csum_offset}. */
    public static final int OFF_CSUM_OFFSET = 8;
    /** Offset of {@code num_buffers} (present only with MRG_RXBUF or VERSION_1). */
    public static final int OFF_NUM_BUFFERS = 10;


    /** Reads the header at {@code seg[off]} into packet {@code i} of {@code batch}. */
    public static void decode(MemorySegment seg, long off, PacketBatch batch, int i) {
        if (seg.get(LE16, off + OFF_FLAGS) == 0) {
            // flags and gso_type both 0, the common plain packet: the other fields carry nothing
            // (they matter only with NEEDS_CSUM or a GSO type), so one load instead of six.
            batch.clearOffload(i);
            return;
        }
        batch.setOffload(i,
                seg.get(ValueLayout.JAVA_BYTE, off + OFF_FLAGS) & 0xff,
                seg.get(ValueLayout.JAVA_BYTE, off + OFF_GSO_TYPE) & 0xff,
                u16(seg, off + OFF_HDR_LEN),
                u16(seg, off + OFF_GSO_SIZE),
                u16(seg, off + OFF_CSUM_START),
                u16(seg, off + OFF_CSUM_OFFSET));
    }

    /**
     * Writes packet {@code i}'s metadata from {@code batch} as a header of {@code size} bytes
     * ({@link #SIZE} or {@link #SIZE_MRG}); with {@code SIZE_MRG}, {@code num_buffers} is set to
     * {@code numBuffers}.
     */
    public static void encode(MemorySegment seg, long off, int size, PacketBatch batch, int i, int numBuffers) {
        if ((batch.flags(i) | batch.gsoType(i)) == 0) {
            // A plain packet: bytes 0-7 are zero and csum_offset too, so two stores, not seven.
            seg.set(ValueLayout.JAVA_LONG_UNALIGNED, off, 0L);
            if (size >= SIZE_MRG) {
                seg.set(LE32, off + OFF_CSUM_OFFSET, numBuffers << 16); // csum_offset 0, num_buffers
            } else {
                seg.set(LE16, off + OFF_CSUM_OFFSET, (short) 0);
            }
            return;
        }
        seg.set(ValueLayout.JAVA_BYTE, off + OFF_FLAGS, (byte) batch.flags(i));
        seg.set(ValueLayout.JAVA_BYTE, off + OFF_GSO_TYPE, (byte) batch.gsoType(i));
        seg.set(LE16, off + OFF_HDR_LEN, (short) batch.hdrLen(i));
        seg.set(LE16, off + OFF_GSO_SIZE, (short) batch.gsoSize(i));
        seg.set(LE16, off + OFF_CSUM_START, (short) batch.csumStart(i));
        seg.set(LE16, off + OFF_CSUM_OFFSET, (short) batch.csumOffset(i));
        if (size >= SIZE_MRG) {
            seg.set(LE16, off + OFF_NUM_BUFFERS, (short) numBuffers);
        }
    }

    /** Reads {@code num_buffers} of a 12-byte header. */
    public static int numBuffers(MemorySegment seg, long off) {
        return u16(seg, off + OFF_NUM_BUFFERS);
    }

    /** Sets {@code num_buffers} of a 12-byte header. */
    public static void setNumBuffers(MemorySegment seg, long off, int n) {
        seg.set(LE16, off + OFF_NUM_BUFFERS, (short) n);
    }

    private static int u16(MemorySegment seg, long off) {
        return Short.toUnsignedInt(seg.get(LE16, off));
    }

    /** A readable name for a gso_type value (for errors and logs). */
    public static String gsoTypeName(int gsoType) {
        String base = switch (gsoType & ~GSO_ECN) {
            case GSO_NONE -> "NONE";
            case GSO_TCPV4 -> "TCPV4";
            case GSO_UDP -> "UDP";
            case GSO_TCPV6 -> "TCPV6";
            case GSO_UDP_L4 -> "UDP_L4";
            default -> "UNKNOWN(" + (gsoType & ~GSO_ECN) + ")";
        };
        return (gsoType & GSO_ECN) != 0 ? base + "|ECN" : base;
    }
}
