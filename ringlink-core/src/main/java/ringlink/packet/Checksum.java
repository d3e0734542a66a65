package ringlink.packet;

import static ringlink.sys.Endian.BE16;
import static ringlink.sys.Endian.BE32;
import static ringlink.sys.Endian.BE64;

import java.lang.foreign.MemorySegment;

/**
 * The Internet checksum (RFC 1071): ones'-complement sums, pseudo-header sums, incremental
 * update (RFC 1624), and completing a checksum a sender left partial ({@code NEEDS_CSUM}).
 *
 * <p>Two representations are used, as in the kernel:
 * <ul>
 *   <li>a <em>partial sum</em> is a non-negative {@code long} accumulating 16-bit big-endian words
 *       without folding; partial sums of disjoint, even-aligned ranges are combined by plain
 *       addition (they cannot overflow for anything smaller than 2<sup>40</sup> bytes);</li>
 *   <li>a <em>folded sum</em> is the 16-bit ones'-complement sum ({@link #fold}); the value
 *       stored in a header is its complement ({@link #finish}).</li>
 * </ul>
 * A range's partial sum treats its first byte as the high byte of a word, so a range that starts
 * at an odd distance from where the checksum starts must not be summed on its own.
 *
 * <p>{@link #sum} reads 8 bytes at a time (big-endian {@code long}) and adds both 32-bit halves to
 * a 64-bit accumulator: the ones'-complement sum of 32-bit words folds to the same 16-bit value
 * as that of 16-bit words, and the carries are kept in the upper bits until {@link #fold}.
 */
public final class Checksum {
    private Checksum() {}

    /**
     * Partial sum of {@code len} bytes at {@code seg[off]} added to {@code initial}; an odd final
     * byte counts as the high byte of a word padded with zero.
     */
    public static long sum(MemorySegment seg, long off, int len, long initial) {
        if (len < 0) throw new IllegalArgumentException("negative length " + len);
        // One bounds check up front; the JIT then elides the per-access checks in the loop.
        java.util.Objects.checkFromIndexSize(off, len, seg.byteSize());
        long a = initial, b = 0;
        // int-counted loops: C2 unrolls them and hoists the segment's bound and liveness checks,
        // which it does less well for a long induction variable.
        int n32 = len & ~31;
        int i = 0;
        for (; i < n32; i += 32) {
            long x0 = seg.get(BE64, off + i);
            long x1 = seg.get(BE64, off + i + 8);
            long x2 = seg.get(BE64, off + i + 16);
            long x3 = seg.get(BE64, off + i + 24);
            // Two independent accumulators so the additions can issue in parallel.
            a += (x0 >>> 32) + (x0 & 0xffffffffL) + (x1 >>> 32) + (x1 & 0xffffffffL);
            b += (x2 >>> 32) + (x2 & 0xffffffffL) + (x3 >>> 32) + (x3 & 0xffffffffL);
        }
        for (; len - i >= 8; i += 8) {
            long x = seg.get(BE64, off + i);
            a += (x >>> 32) + (x & 0xffffffffL);
        }
        if (len - i >= 4) {
            b += Integer.toUnsignedLong(seg.get(BE32, off + i));
            i += 4;
        }
        if (len - i >= 2) {
            b += Short.toUnsignedInt(seg.get(BE16, off + i));
            i += 2;
        }
        if (i < len) {
            b += (long) Bytes.u8(seg, off + i) << 8;
        }
        return a + b;
    }

    /** Partial sum of {@code len} bytes at {@code seg[off]}. */
    public static long sum(MemorySegment seg, long off, int len) {
        return sum(seg, off, len, 0);
    }

    /** Folds a partial sum to its 16-bit ones'-complement value (not complemented). */
    public static int fold(long sum) {
        long s = (sum & 0xffffffffL) + (sum >>> 32);
        s = (s & 0xffffffffL) + (s >>> 32);
        s = (s & 0xffff) + (s >>> 16);
        s = (s & 0xffff) + (s >>> 16);
        s = (s & 0xffff) + (s >>> 16);
        return (int) s;
    }

    /** The value to store in a checksum field for a partial sum: the complement of its fold. */
    public static int finish(long sum) {
        return ~fold(sum) & 0xffff;
    }

    /** The Internet checksum of {@code len} bytes, as stored in a header. */
    public static int checksum(MemorySegment seg, long off, int len) {
        return finish(sum(seg, off, len, 0));
    }

    /**
     * True if the bytes, including their checksum field, sum to 0xffff, i.e. the checksum they
     * carry is correct; {@code initial} is e.g. a pseudo-header sum.
     */
    public static boolean verify(MemorySegment seg, long off, int len, long initial) {
        return fold(sum(seg, off, len, initial)) == 0xffff;
    }

    /**
     * Partial sum of the IPv4 pseudo-header (RFC 793/768) for the IPv4 header at {@code ip}:
     * source and destination address, protocol and the given upper-layer length.
     */
    public static long pseudoHeaderV4(MemorySegment seg, long ip, int protocol, int l4Length) {
        return Bytes.u32(seg, ip + Ipv4.OFF_SADDR) + Bytes.u32(seg, ip + Ipv4.OFF_DADDR) + protocol + l4Length;
    }

    /**
     * Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1) for the IPv6 header at {@code ip}:
     * addresses, upper-layer length and next header (the upper-layer protocol, not the first
     * extension header).
     */
    public static long pseudoHeaderV6(MemorySegment seg, long ip, int protocol, int l4Length) {
        long s = 0;
        for (int k = 0; k < 32; k += 8) {
            long x = seg.get(BE64, ip + Ipv6.OFF_SADDR + k);
            s += (x >>> 32) + (x & 0xffffffffL);
        }
        return s + Integer.toUnsignedLong(l4Length) + protocol;
    }

    /**
     * Pseudo-header partial sum for the IP header at {@code ip} (version taken from the header).
     */
    public static long pseudoHeader(MemorySegment seg, long ip, int protocol, int l4Length) {
        return (Bytes.u8(seg, ip) >>> 4) == 6
                ? pseudoHeaderV6(seg, ip, protocol, l4Length)
                : pseudoHeaderV4(seg, ip, protocol, l4Length);
    }

    /**
     * RFC 1624 eqn. 3: the new checksum field value after a 16-bit word covered by checksum
     * {@code check} changes from {@code oldWord} to {@code newWord}: HC' = ~(~HC + ~m + m').
     */
    public static int update16(int check, int oldWord, int newWord) {
        long s = (~check & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
        return ~fold(s) & 0xffff;
    }

    /** {@link #update16} for a 32-bit field (e.g. an IPv4 address or a TCP sequence number). */
    public static int update32(int check, int oldWord, int newWord) {
        long s = (~check & 0xffff)
                + (~oldWord >>> 16 & 0xffff) + (~oldWord & 0xffff)
                + (newWord >>> 16 & 0xffff) + (newWord & 0xffff);
        return ~fold(s) & 0xffff;
    }

    /**
     * Completes a checksum its sender left partial (virtio {@code VIRTIO_NET_HDR_F_NEEDS_CSUM},
     * the kernel's {@code CHECKSUM_PARTIAL}): sums the bytes from {@code csumStart} to the end of
     * the packet, including the field at {@code csumStart + csumOffset} (which holds the
     * pseudo-header sum), and stores the complement there. A UDP result of 0 is stored as 0xffff
     * (RFC 768: 0 means "no checksum").
     *
     * @param off packet start in {@code seg}
     * @param len packet length
     * @throws MalformedPacketException if the checksum field lies outside the packet
     */
    public static void complete(MemorySegment seg, long off, int len, int csumStart, int csumOffset) {
        long field = (long) csumStart + csumOffset;
        if (csumStart >= len || field + 2 > len || csumOffset < 0) {
            throw new MalformedPacketException("partial checksum at csum_start " + csumStart + " + csum_offset "
                    + csumOffset + " lies outside the packet of " + len + " bytes");
        }
        int c = finish(sum(seg, off + csumStart, len - csumStart, 0));
        if (c == 0 && csumOffset == Udp.OFF_CHECK && isUdpAt(seg, off, len, csumStart)) c = 0xffff;
        Bytes.put16(seg, off + field, c);
    }

    /**
     * Completes packet {@code i}'s checksum if it is marked {@code NEEDS_CSUM} and clears the
     * flag (the packet then carries a complete checksum). Does nothing otherwise. For a GSO
     * superpacket use {@link Gso#segment} instead: its checksum is per segment.
     *
     * @throws MalformedPacketException if csum_start/csum_offset point outside the packet
     */
    public static void complete(PacketBatch batch, int i) {
        if (!batch.needsCsum(i)) return;
        complete(batch.memory(), batch.dataOffset(i), batch.length(i), batch.csumStart(i), batch.csumOffset(i));
        batch.setFlags(i, batch.flags(i) & ~VirtioNetHdr.F_NEEDS_CSUM);
    }

    // The 0 -> 0xffff rule is UDP's only; a TCP checksum of 0 is valid. With offset 6 we cannot
    // tell UDP from another protocol by the offset alone, so the bytes at 4..5 must be a UDP
    // length that matches the rest of the packet.
    private static boolean isUdpAt(MemorySegment seg, long off, int len, int l4) {
        return Bytes.u16(seg, off + l4 + Udp.OFF_LEN) == len - l4;
    }
}
