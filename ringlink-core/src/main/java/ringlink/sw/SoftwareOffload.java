package ringlink.sw;

import ringlink.packet.Framing;
import ringlink.packet.Gso;

/** Where the switch gets its software segmentation: {@code ringlink.packet}'s {@link Gso}. */
final class SoftwareOffload {
    private SoftwareOffload() {}

    /** A new segmenter for one polling thread (Gso keeps parse scratch). */
    static Segmenter segmenter() {
        Gso gso = new Gso();
        return (src, i, dst, from) -> {
            int total = gso.validate(src, i, Framing.ETHERNET);
            int next = gso.segment(src, i, Framing.ETHERNET, dst, from);
            return next >= total ? -1 : next;
        };
    }
}
