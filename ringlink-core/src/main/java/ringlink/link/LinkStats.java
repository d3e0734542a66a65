package ringlink.link;

/**
 * A snapshot of a link's counters.
 *
 * @param rxPackets packets received
 * @param rxBytes bytes received
 * @param txPackets packets transmitted
 * @param txBytes bytes transmitted
 * @param rxDrops packets dropped on receive
 * @param txDrops packets dropped on transmit
 * @param errors errors (bad input from the peer, failed calls)
 * @param superpackets GSO superpackets received or transmitted whole
 */
public record LinkStats(long rxPackets, long rxBytes, long txPackets, long txBytes,
                        long rxDrops, long txDrops, long errors, long superpackets) {
    /** This minus an earlier snapshot: the activity in between. */
    public LinkStats minus(LinkStats o) {
        return new LinkStats(rxPackets - o.rxPackets, rxBytes - o.rxBytes, txPackets - o.txPackets,
                txBytes - o.txBytes, rxDrops - o.rxDrops, txDrops - o.txDrops, errors - o.errors,
                superpackets - o.superpackets);
    }

    /** This plus {@code o}: the counters of two queues of one device together. */
    public LinkStats plus(LinkStats o) {
        return new LinkStats(rxPackets + o.rxPackets, rxBytes + o.rxBytes, txPackets + o.txPackets,
                txBytes + o.txBytes, rxDrops + o.rxDrops, txDrops + o.txDrops, errors + o.errors,
                superpackets + o.superpackets);
    }
}
