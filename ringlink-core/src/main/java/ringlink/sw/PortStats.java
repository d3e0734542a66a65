package ringlink.sw;

import java.util.List;
import java.util.Map;
import ringlink.link.LinkStats;

/**
 * One port's counters at a moment: what its link counted and what the switch counted for it
 * (packets it received from the port, forwarded to it, and dropped, by reason).
 *
 * @param name the port's link name
 * @param up whether the port is forwarding
 * @param link the link's own counters
 * @param forwarded the switch's counters: rx = taken from this port, tx = forwarded to it, drops
 * @param drops the switch's drops by reason
 * @param segmented superpackets segmented in software for this port (it lacks the offload)
 * @param checksummed partial checksums finished in software for this port
 * @param macs addresses learned on this port now
 * @param unlearned source addresses not learned because the port held its MAC limit
 * @param downReason why the port is down (null while up)
 * @param queues per queue (one entry for a single-queue port, equal to the port's counters):
 *               the queue link's counters and what the switch took from / forwarded to it;
 *               {@code link} is their sum
 */
public record PortStats(String name, boolean up, LinkStats link, LinkStats forwarded, Map<DropReason, Long> drops,
                        long segmented, long checksummed, int macs, long unlearned, String downReason,
                        List<QueueStats> queues) {
    /** A port's counters without address counts, down reason or per-queue detail (a single-queue port). */
    public PortStats(String name, boolean up, LinkStats link, LinkStats forwarded, Map<DropReason, Long> drops,
                     long segmented, long checksummed) {
        this(name, up, link, forwarded, drops, segmented, checksummed, 0, 0, null,
                List.of(new QueueStats(0, true, link, forwarded)));
    }

    /** Every packet lost at this port: the switch's drops plus the link's own. */
    public long totalDrops() {
        return forwarded.rxDrops() + forwarded.txDrops() + link.rxDrops() + link.txDrops();
    }
}
