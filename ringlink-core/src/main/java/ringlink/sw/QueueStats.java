package ringlink.sw;

import ringlink.link.LinkStats;

/**
 * One queue of a port at a moment.
 *
 * @param queue the queue's index in its device
 * @param enabled whether the peer takes packets on it now ({@link ringlink.link.LinkDevice#transmitEnabled})
 * @param link the queue link's own counters
 * @param forwarded the switch's counters for this queue: rx = taken from it, tx = forwarded to it
 *                  (txDrops: packets it did not take at once)
 */
public record QueueStats(int queue, boolean enabled, LinkStats link, LinkStats forwarded) {}
