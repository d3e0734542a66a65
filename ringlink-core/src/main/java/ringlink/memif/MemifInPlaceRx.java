package ringlink.memif;

import static ringlink.memif.MemifRingLayout.OFF_TAIL;

import java.lang.foreign.MemorySegment;

/**
 * The server's receive in place for one {@link MemifLink} (its {@link MemifLink#receiveInPlace}
 * and {@link MemifLink#releaseInPlace}): S2M packets are lent where they are, in the client's
 * buffers, and the ring's tail moves past them only at release. Runs on the link's receive
 * thread inside the link's receive announcement (the link enters and exits {@code LinkState});
 * it shares the link's receive cursor and descriptor reader, so both receive paths check a
 * descriptor the same way.
 */
final class MemifInPlaceRx {
    private final MemifLink link;
    /** S2M slots lent in place, tail not yet moved past them (0: nothing lent). */
    int lent;

    MemifInPlaceRx(MemifLink link) {
        this.link = link;
    }

    /** Lends what the client published into {@code view}; the link checked the role and session. */
    int lend(Session s, MemifInPlaceBatch view) throws MemifException {
        if (lent != 0) throw new IllegalStateException(link.name()
                + ": packets are lent in place already; releaseInPlace first");
        int n = link.published(s);
        if (n == 0) return 0;
        MemifDescReader desc = link.desc;
        MemorySegment m = link.rxMem;
        long ring = link.rxRing;
        int cursor = link.rxCursor, used = 0, got = 0, drops = 0;
        long bytes = 0;
        while (used < n && !view.isFull()) {
            view.beginPacket();
            long total = 0;
            int k = 0;
            boolean complete = false, tooMany = false;
            while (used + k < n) {
                if (!desc.read(s, m, ring, cursor + used + k)) {
                    view.abandonPacket();
                    throw link.broken(s, desc.outside(link.pair));
                }
                k++;
                // The values just checked are the ones kept: the view never re-reads the descriptor.
                if (!tooMany && view.segmentRoom(1)) view.addSegment(s.regions[desc.region], desc.offset,
                        (int) desc.length);
                else tooMany = true;
                total += desc.length;
                if (!desc.chained()) {
                    complete = true;
                    break;
                }
            }
            if (!complete) {
                view.abandonPacket();
                link.chainUnfinished(s, n);
                break; // the rest of the chain is not published yet
            }
            if (tooMany && view.count > 0 && k <= view.maxSegments()) {
                view.abandonPacket(); // fits an empty view: the next call takes it
                break;
            }
            used += k;
            if (tooMany || total == 0 || total > link.maxReceiveSize()) {
                view.abandonPacket(); // its slots are returned with the others at release
                drops++;
            } else {
                view.endPacket((int) total);
                bytes += total;
                got++;
            }
        }
        link.rxCursor = (cursor + used) & 0xffff;
        if (got > 0) link.counters().received(got, bytes);
        if (drops > 0) link.counters().rxDropped(drops);
        if (got == 0) {
            if (used > 0) releaseLent(); // only drops: nothing to hold
            view.clear();
            return 0;
        }
        lent = used;
        view.session = s;
        view.lentSlots = used;
        return got;
    }

    /** Hands back what {@code view} holds if it is what this connection lent last. */
    void release(Session s, MemifInPlaceBatch view) {
        if (view.lentSlots != 0 && s == link.rxSession && s == view.session && lent == view.lentSlots) releaseLent();
    }

    /** One release store of the S2M tail up to our cursor: the client may reuse those buffers. */
    private void releaseLent() {
        lent = 0;
        Session.setRelease16(link.rxMem, link.rxRing + OFF_TAIL, link.rxCursor);
    }
}
