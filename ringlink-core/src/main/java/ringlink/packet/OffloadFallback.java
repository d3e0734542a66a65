package ringlink.packet;

/**
 * The software fallback for a packet whose offload metadata its destination does not accept
 * ({@code Offloads.accepts} false): a partial checksum is finished in place, a GSO superpacket
 * is segmented into a scratch batch, segment runs handed to a {@link Sink} as they are made.
 * The switch ({@code sw.Poller}) and the relay ({@code tun.LinkRelay}) both use it, so the two
 * cannot drift apart.
 *
 * <p>One instance per thread (the segmentation keeps parse scratch); nothing is allocated per
 * packet.
 */
public final class OffloadFallback {
    /**
     * Resumable software segmentation (the contract of the switch's {@code Segmenter}): appends
     * segments {@code from, from+1, ...} of packet {@code i} of {@code src} to {@code dst} until
     * {@code dst} is full or the packet is done; returns the next segment's index, or -1 when done.
     */
    @FunctionalInterface
    public interface Segmentation {
        /**
         * Appends segments {@code from, from+1, ...} of packet {@code i} of {@code src} to {@code dst} until
         * {@code dst} is full or the packet is done; returns the next segment's index, or -1 when done.
         */
        int segment(PacketBatch src, int i, PacketBatch dst, int from);
    }

    /** Where finished packets go: packets {@code [from, to)} of {@code b}; false stops a segmentation early. */
    @FunctionalInterface
    public interface Sink<X extends Exception> {
        /** Takes packets {@code [from, to)} of {@code b}; returns false to stop a segmentation early. */
        boolean send(PacketBatch b, int from, int to) throws X;
    }

    private final Segmentation segmentation;

    /** A fallback segmenting with {@code segmentation} (e.g. {@link #gso}). */
    public OffloadFallback(Segmentation segmentation) {
        this.segmentation = segmentation;
    }

    /** A fallback with {@link Gso} for packets framed as {@code framing}. */
    public OffloadFallback(Framing framing) {
        this(gso(framing));
    }

    /** {@link Gso} as a resumable segmentation (a new one: it keeps parse scratch, one per thread). */
    public static Segmentation gso(Framing framing) {
        Gso gso = new Gso();
        return (src, i, dst, from) -> {
            int next = gso.segment(src, i, framing, dst, from); // validates (once a round, not twice)
            return next >= gso.segmentCount() ? -1 : next;
        };
    }

    /**
     * Makes packet {@code k} of {@code b} acceptable without offloads and sends it to
     * {@code sink}: a non-GSO packet has its checksum completed in place (then it is final for
     * every destination) and is sent as itself; a superpacket is segmented through
     * {@code scratch} (cleared before each round) until done or {@code sink} returns false.
     *
     * @return true if the packet was segmented, false if its checksum was completed
     * @throws MalformedPacketException if its headers and metadata disagree (nothing of a
     *     non-GSO packet was sent then; segments already made of a superpacket were)
     * @throws IllegalArgumentException if a segment does not fit {@code scratch}'s buffers
     */
    public <X extends Exception> boolean fix(PacketBatch b, int k, PacketBatch scratch, Sink<X> sink) throws X {
        if (!b.isGso(k)) {
            Checksum.complete(b, k);
            sink.send(b, k, k + 1);
            return false;
        }
        int next = 0;
        do {
            scratch.clear();
            next = segmentation.segment(b, k, scratch, next);
            if (scratch.count() > 0 && !sink.send(scratch, 0, scratch.count())) break;
        } while (next >= 0);
        return true;
    }
}
