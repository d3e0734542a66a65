package ringlink.packet;

/**
 * Checks the offload metadata a peer handed with a packet before the packet goes anywhere: the
 * one ingress check every transport applies (TUN/TAP for the kernel, the vhost-user back-end for
 * a guest's TX, shm for the other process, the vhost-user front-end and vhost-net for a device's
 * RX). A peer is not trusted: a lying {@code gso_size}, {@code hdr_len}, {@code csum_start} or
 * {@code csum_offset} must not reach another guest, a TAP or the software segmenter.
 *
 * <p>What it does, per packet ({@link #check}):
 * <ul>
 *   <li><b>Flags</b>, by who sent them ({@link Source}). From the kernel, an unknown flag is
 *       dropped ({@link Reason#FLAGS}). From a virtio <em>driver</em> (a guest's TX):
 *       {@code DATA_VALID} and {@code RSC_INFO} are cleared, as is any unknown flag: the driver
 *       must not set them and the device ignores them (virtio 1.2 §5.1.6.2), and passed on they
 *       would tell the next receiver (a TAP: CHECKSUM_UNNECESSARY) that a checksum nobody checked
 *       is good. From a <em>device</em> (our front-end, vhost-net): {@code DATA_VALID} keeps its
 *       meaning (the device validated the checksum), {@code RSC_INFO} (never negotiated) and
 *       unknown flags are cleared, as a driver must ignore them.</li>
 *   <li><b>A plain packet</b> (no GSO): {@code hdr_len} and {@code gso_size} are cleared (they
 *       mean nothing there); with {@code NEEDS_CSUM} the checksum field must lie inside the packet
 *       ({@link Reason#CSUM}), and where the link did not negotiate CSUM the checksum is finished in
 *       software.</li>
 *   <li><b>A superpacket</b>: its type must be one the link negotiated ({@link Reason#NOT_NEGOTIATED}),
 *       it must carry {@code NEEDS_CSUM} ({@link Reason#GSO_CSUM}), {@code gso_size} must be at
 *       least {@link #MIN_GSO_SIZE} ({@link Reason#GSO_SIZE}), its headers must agree with its
 *       metadata ({@link Gso#validate}, which also corrects {@code hdr_len}: {@link Reason#GSO_HEADERS}),
 *       and a UDP superpacket may have at most {@link #MAX_UDP_SEGMENTS} segments
 *       ({@link Reason#GSO_SEGMENTS}).</li>
 * </ul>
 * A rejected packet is dropped by the caller and counted per {@link Reason}. The fix-ups (flags
 * cleared, checksum finished) are counted in {@link #fixedUp()}.
 *
 * <p><b>GSO amplification.</b> A superpacket is segmented in software for every port that lacks
 * the offload, on the polling thread: {@code gso_size} 1 on a 64 KiB superpacket would be about
 * 65 000 segments (and 65 000 descriptors on the destination ring) for one received packet. The
 * floor {@link #MIN_GSO_SIZE} is Linux's own against the same amplification ({@code TCP_MIN_SND_MSS},
 * 48, the smallest MSS its TCP sends with since CVE-2019-11479): it bounds a 64 KiB superpacket to
 * 1366 segments and the output to about 3 times the input. UDP is bounded as Linux bounds it at
 * the same ingress ({@code virtio_net_hdr_to_skb}: {@code UDP_MAX_SEGMENTS}, 128).
 *
 * <p>One instance per receiving thread (it holds parse scratch and counters); nothing is allocated
 * per packet; a plain packet without offload metadata costs one test.
 */
public final class OffloadValidator {
    /**
     * The smallest {@code gso_size} taken: Linux's {@code TCP_MIN_SND_MSS}. Smaller superpackets
     * would cost far more segments (and destination ring slots) than bytes.
     */
    public static final int MIN_GSO_SIZE = 48;
    /** Most segments of one UDP (USO) superpacket: Linux's {@code UDP_MAX_SEGMENTS}. */
    public static final int MAX_UDP_SEGMENTS = 128;

    /** Who wrote the metadata: decides what the flags mean. */
    public enum Source {
        /** The kernel (TUN/TAP with IFF_VNET_HDR): trusted to be right, checked anyway. */
        KERNEL,
        /** A virtio driver (a guest's TX on our vhost-user back-end, an shm peer's transmit). */
        DRIVER,
        /** A virtio device (the RX of our vhost-user front-end or vhost-net). */
        DEVICE
    }

    /** Why a packet was dropped. */
    public enum Reason {
        /** Unknown virtio-net header flags (from the kernel). */
        FLAGS,
        /** A GSO type (or ECN) the link did not negotiate, or an unknown or unsupported one (UFO). */
        NOT_NEGOTIATED,
        /** A superpacket without NEEDS_CSUM. */
        GSO_CSUM,
        /** {@code gso_size} 0 or below {@link #MIN_GSO_SIZE}. */
        GSO_SIZE,
        /** More segments than allowed ({@link #MAX_UDP_SEGMENTS} for UDP). */
        GSO_SEGMENTS,
        /**
         * A superpacket whose headers disagree with its metadata (not IP, wrong protocol, fragment, csum fields,
         * sizes).
         */
        GSO_HEADERS,
        /** A NEEDS_CSUM packet whose checksum field lies outside it. */
        CSUM
    }

    private static final Reason[] REASONS = Reason.values();
    private static final int KNOWN_FLAGS =
            VirtioNetHdr.F_NEEDS_CSUM | VirtioNetHdr.F_DATA_VALID | VirtioNetHdr.F_RSC_INFO;

    private final Gso gso = new Gso();
    private final Framing framing;
    private final Source source;
    private final long[] counts = new long[REASONS.length];
    private long fixedUp;
    // The last drop, formatted only when asked: a peer sending bad metadata at line rate must not
    // make the receiving thread allocate a message per packet.
    private Reason lastReason;
    private int lastType, lastValue;
    private String lastDetail;

    /**
     * @param framing how packets start (Ethernet for L2 links, IP for L3)
     * @param source who wrote the metadata
     */
    public OffloadValidator(Framing framing, Source source) {
        this.framing = framing;
        this.source = source;
    }

    /**
     * Checks packet {@code i} of {@code b} (fixing what may be fixed, in place) and returns null
     * if it may be passed on, else why not (also counted, and described by {@link #lastProblem()}).
     *
     * @param accepted whether the link's negotiated offloads accept the packet's metadata as it
     *     came ({@code Offloads.accepts}); only consulted for a superpacket
     * @param csum whether the link negotiated partial checksums: if not, a NEEDS_CSUM packet has
     *     its checksum finished here
     */
    public Reason check(PacketBatch b, int i, boolean accepted, boolean csum) {
        int flags = b.flags(i);
        int gsoType = b.gsoType(i);
        if ((flags | gsoType) == 0) return null; // the common plain packet (VirtioNetHdr.decode cleared the rest)
        int clear = switch (source) {
            case KERNEL -> 0;
            case DRIVER -> flags & ~VirtioNetHdr.F_NEEDS_CSUM;
            case DEVICE -> flags & ~(VirtioNetHdr.F_NEEDS_CSUM | VirtioNetHdr.F_DATA_VALID);
        };
        if (source == Source.KERNEL && (flags & ~KNOWN_FLAGS) != 0) {
            return reject(Reason.FLAGS, gsoType, flags, null);
        }
        if (clear != 0) {
            flags &= ~clear;
            b.setFlags(i, flags);
            fixedUp++;
        }
        try {
            if (gsoType != VirtioNetHdr.GSO_NONE) {
                if (!accepted) return reject(Reason.NOT_NEGOTIATED, gsoType, 0, null);
                if ((flags & VirtioNetHdr.F_NEEDS_CSUM) == 0) return reject(Reason.GSO_CSUM, gsoType, 0, null);
                int size = b.gsoSize(i);
                if (size < MIN_GSO_SIZE) return reject(Reason.GSO_SIZE, gsoType, size, null);
                int n = gso.validate(b, i, framing);
                if ((gsoType & ~VirtioNetHdr.GSO_ECN) == VirtioNetHdr.GSO_UDP_L4 && n > MAX_UDP_SEGMENTS) {
                    return reject(Reason.GSO_SEGMENTS, gsoType, n, null);
                }
                return null;
            }
            b.setGso(i, VirtioNetHdr.GSO_NONE, 0, 0); // hdr_len/gso_size mean nothing on a plain packet
            if ((flags & VirtioNetHdr.F_NEEDS_CSUM) != 0) {
                gso.validate(b, i, framing); // the checksum field inside the packet
                if (!csum) {
                    Checksum.complete(b, i);
                    fixedUp++;
                }
            }
            return null;
        } catch (MalformedPacketException e) {
            return reject(gsoType != VirtioNetHdr.GSO_NONE ? Reason.GSO_HEADERS : Reason.CSUM, gsoType, 0,
                    e.getMessage());
        }
    }

    private Reason reject(Reason r, int type, int value, String detail) {
        counts[r.ordinal()]++;
        lastReason = r;
        lastType = type;
        lastValue = value;
        lastDetail = detail;
        return r;
    }

    /** Packets dropped for {@code r} so far (read by any thread: a racy but tear-free snapshot). */
    public long count(Reason r) {
        return counts[r.ordinal()];
    }

    /** Packets dropped so far, for every reason. */
    public long rejected() {
        long n = 0;
        for (long c : counts) n += c;
        return n;
    }

    /** Packets passed on after a fix-up (flags cleared, checksum finished). */
    public long fixedUp() {
        return fixedUp;
    }

    /** What was wrong with the last packet dropped, or null (formatted now: not for the data path). */
    public String lastProblem() {
        Reason r = lastReason;
        if (r == null) return null;
        String name = VirtioNetHdr.gsoTypeName(lastType);
        return switch (r) {
            case FLAGS -> "unknown virtio-net header flags 0x" + Integer.toHexString(lastValue);
            case NOT_NEGOTIATED -> "superpacket of type " + name + " that was not negotiated";
            case GSO_CSUM -> "superpacket " + name + " without NEEDS_CSUM";
            case GSO_SIZE -> "superpacket " + name + " with gso_size " + lastValue + " (at least " + MIN_GSO_SIZE + ")";
            case GSO_SEGMENTS -> "UDP superpacket of " + lastValue + " segments (at most " + MAX_UDP_SEGMENTS + ")";
            case GSO_HEADERS, CSUM -> lastDetail;
        };
    }
}
