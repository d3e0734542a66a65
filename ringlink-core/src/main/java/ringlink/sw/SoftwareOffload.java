package ringlink.sw;

import ringlink.packet.Framing;
import ringlink.packet.OffloadFallback;

/**
 * Where the switch gets its software segmentation: {@code ringlink.packet}'s {@code Gso}, through
 * {@link OffloadFallback#gso}.
 */
final class SoftwareOffload {
    private SoftwareOffload() {}

    /** A new segmenter for one polling thread (Gso keeps parse scratch). */
    static Segmenter segmenter() {
        return OffloadFallback.gso(Framing.ETHERNET)::segment;
    }
}
