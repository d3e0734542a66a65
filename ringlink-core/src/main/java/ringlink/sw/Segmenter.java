package ringlink.sw;

import ringlink.packet.PacketBatch;

/**
 * Software segmentation of a GSO superpacket for a port that cannot take it whole: the seam
 * between the switch and {@code ringlink.packet}'s GSO code.
 *
 * <p>Resumable, like a transmit: the switch calls {@link #segment} with an empty destination
 * batch, transmits what was appended, and calls again with the returned index until the packet
 * is done. One instance per polling thread (implementations keep parse scratch).
 */
public interface Segmenter {
    /**
     * Appends segments {@code from, from+1, ...} of packet {@code i} of {@code src} (an Ethernet
     * frame) to {@code dst} until {@code dst} is full or the packet is done; each segment has a
     * complete checksum and no offload metadata.
     *
     * @return the index of the next segment to produce, or {@code -1} when the packet is done
     * @throws RuntimeException (e.g. {@code MalformedPacketException}) if the superpacket's
     *     headers and metadata disagree; the switch drops it and counts the drop
     */
    int segment(PacketBatch src, int i, PacketBatch dst, int from);

    /** A segmenter that cannot segment: superpackets for ports without the offload are dropped. */
    Segmenter NONE = (src, i, dst, from) -> {
        throw new UnsupportedOperationException("software segmentation is not available in this build");
    };
}
