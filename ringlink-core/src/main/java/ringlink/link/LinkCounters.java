package ringlink.link;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import ringlink.packet.OffloadValidator;
import ringlink.packet.PacketBatch;

/**
 * A link's counters. Each direction has one writer (the thread that receives, the thread that
 * transmits), which updates with a plain read and an opaque write; any thread may read a
 * consistent-enough {@link #snapshot()} for statistics. No atomics on the hot path.
 */
public final class LinkCounters {
    private static final VarHandle RX_PACKETS, RX_BYTES, TX_PACKETS, TX_BYTES, RX_DROPS, TX_DROPS, ERRORS, SUPER;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            RX_PACKETS = l.findVarHandle(LinkCounters.class, "rxPackets", long.class);
            RX_BYTES = l.findVarHandle(LinkCounters.class, "rxBytes", long.class);
            TX_PACKETS = l.findVarHandle(LinkCounters.class, "txPackets", long.class);
            TX_BYTES = l.findVarHandle(LinkCounters.class, "txBytes", long.class);
            RX_DROPS = l.findVarHandle(LinkCounters.class, "rxDrops", long.class);
            TX_DROPS = l.findVarHandle(LinkCounters.class, "txDrops", long.class);
            ERRORS = l.findVarHandle(LinkCounters.class, "errors", long.class);
            SUPER = l.findVarHandle(LinkCounters.class, "superpackets", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private long rxPackets, rxBytes, txPackets, txBytes, rxDrops, txDrops, errors, superpackets;
    private static final VarHandle INVALID = MethodHandles.arrayElementVarHandle(long[].class);
    /** Received packets dropped for bad offload metadata, by {@link OffloadValidator.Reason}. */
    private final long[] invalid = new long[OffloadValidator.Reason.values().length];

    /** Counts packets received (by the receiving thread). */
    public void received(long packets, long bytes) {
        RX_PACKETS.setOpaque(this, rxPackets + packets);
        RX_BYTES.setOpaque(this, rxBytes + bytes);
    }

    /** Counts packets transmitted (by the transmitting thread). */
    public void transmitted(long packets, long bytes) {
        TX_PACKETS.setOpaque(this, txPackets + packets);
        TX_BYTES.setOpaque(this, txBytes + bytes);
    }

    /** Counts received packets dropped (malformed, no room). Receiving thread. */
    public void rxDropped(long n) { RX_DROPS.setOpaque(this, rxDrops + n); }

    /** Counts packets that could not be transmitted. Transmitting thread. */
    public void txDropped(long n) { TX_DROPS.setOpaque(this, txDrops + n); }

    /** Counts errors (bad input from the peer, failed calls). May be called by either thread. */
    public void error() { ERRORS.getAndAdd(this, 1L); }

    /**
     * Counts a received packet dropped because its offload metadata failed
     * {@link OffloadValidator} (receiving thread; also count it as a drop and an error).
     */
    public void invalid(OffloadValidator.Reason r) {
        int k = r.ordinal();
        INVALID.setOpaque(invalid, k, invalid[k] + 1);
    }

    /**
     * Receiving thread, after packet {@code i} of {@code batch} was copied in (so the peer can no
     * longer change what is checked): checks its offload metadata with {@code v} against
     * {@code allowed}; a packet that fails is taken back out of the batch (its count set to
     * {@code i}) and counted (error, {@link #invalid}), and false returned (the caller counts the
     * drop); a packet that passes returns true, counted as a superpacket if it is one.
     */
    public boolean admitReceived(PacketBatch batch, int i, OffloadValidator v, Offloads allowed) {
        OffloadValidator.Reason why = (batch.flags(i) | batch.gsoType(i)) == 0 ? null
                : v.check(batch, i, allowed.accepts(batch, i), allowed.has(Offloads.CSUM));
        if (why != null) {
            batch.setCount(i);
            error();
            invalid(why);
            return false;
        }
        if (batch.isGso(i)) superpacket(1);
        return true;
    }

    /** Received packets dropped so far for bad offload metadata of kind {@code r}. */
    public long invalidCount(OffloadValidator.Reason r) {
        return (long) INVALID.getOpaque(invalid, r.ordinal());
    }

    /** Counts GSO superpackets seen (received or transmitted whole). */
    public void superpacket(long n) { SUPER.getAndAdd(this, n); }

    /** The counters now. */
    public LinkStats snapshot() {
        return new LinkStats((long) RX_PACKETS.getOpaque(this), (long) RX_BYTES.getOpaque(this),
                (long) TX_PACKETS.getOpaque(this), (long) TX_BYTES.getOpaque(this),
                (long) RX_DROPS.getOpaque(this), (long) TX_DROPS.getOpaque(this),
                (long) ERRORS.getOpaque(this), (long) SUPER.getOpaque(this));
    }
}
