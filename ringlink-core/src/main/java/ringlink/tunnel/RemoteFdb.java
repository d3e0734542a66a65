package ringlink.tunnel;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * Which remote tunnel endpoint an inner MAC address lives behind, like the Linux VXLAN driver's
 * forwarding database: entries learned from received frames (inner source MAC → the outer source
 * address) age out after {@code ageingMillis}; static entries never do and are never moved by
 * learning.
 *
 * <p>Open addressing over two {@link AtomicLongArray}s: key = MAC + 1 (0 = empty slot), value =
 * peer id (low 32 bits) | static flag (bit 31 of the high word) | last-seen seconds (high 31
 * bits). Slots are never emptied (an expired entry is reused for the next address that probes
 * onto it), so a concurrent reader's probe sequence is never cut short. One writer (the receiving
 * thread; static entries at open), any number of readers. No allocation.
 */
public final class RemoteFdb {
    private static final long STATIC = 1L << 63;

    private final AtomicLongArray keys, values;
    private final int mask;
    private final long ageingSeconds;
    private final LongSupplier clock; // nanoseconds
    private final long epoch;
    private volatile int size;
    private long full;

    /** A table of at least {@code capacity} entries; learned entries expire after {@code ageingMillis}. */
    public RemoteFdb(int capacity, long ageingMillis, LongSupplier nanoClock) {
        if (capacity < 1 || capacity > 1 << 22)
                throw new IllegalArgumentException("fdb capacity " + capacity + " not in [1, 2^22]");
        int slots = Integer.highestOneBit(capacity * 2 - 1) << 1;
        this.keys = new AtomicLongArray(slots);
        this.values = new AtomicLongArray(slots);
        this.mask = slots - 1;
        this.ageingSeconds = Math.max(1, ageingMillis / 1000);
        this.clock = nanoClock;
        this.epoch = nanoClock.getAsLong();
    }

    private long now() { return (clock.getAsLong() - epoch) / 1_000_000_000L; }

    /** The peer id {@code mac} lives behind, or −1 (unknown or aged out: flood). */
    public int lookup(long mac) {
        long key = mac + 1;
        int s = hash(mac) & mask;
        for (int n = 0; n <= mask; n++) {
            long k = keys.get(s);
            if (k == 0) return -1;
            if (k == key) {
                long v = values.get(s);
                if ((v & STATIC) == 0 && now() - ((v >>> 32) & 0x7fff_ffffL) > ageingSeconds) return -1;
                return (int) v;
            }
            s = (s + 1) & mask;
        }
        return -1;
    }

    /** Learns that {@code mac} lives behind {@code peer} (the receiving thread). Returns false if the table is full. */
    public boolean learn(long mac, int peer) {
        return put(mac, peer, false);
    }

    /** A static entry (never ages, never moved by learning). */
    public synchronized void addStatic(long mac, int peer) {
        if (!put(mac, peer, true)) throw new IllegalStateException("fdb full");
    }

    private boolean put(long mac, int peer, boolean isStatic) {
        long key = mac + 1;
        long t = now();
        long v = (isStatic ? STATIC : 0) | (t & 0x7fff_ffffL) << 32 | (peer & 0xffff_ffffL);
        int s = hash(mac) & mask;
        int reuse = -1;
        for (int n = 0; n <= mask; n++) {
            long k = keys.get(s);
            if (k == key) {
                long old = values.get(s);
                if ((old & STATIC) != 0 && !isStatic) return true;
                if (old != v) values.set(s, v);
                return true;
            }
            if (k == 0) {
                if (reuse >= 0) break;
                if (size >= (mask + 1) / 2) { // keep probes short: at most half full
                    full++;
                    return false;
                }
                values.set(s, v);
                keys.set(s, key); // publish after the value
                size = size + 1;
                return true;
            }
            long ov = values.get(s);
            if (reuse < 0 && (ov & STATIC) == 0 && t - ((ov >>> 32) & 0x7fff_ffffL) > ageingSeconds) reuse = s;
            s = (s + 1) & mask;
        }
        if (reuse < 0) {
            full++;
            return false;
        }
        // an aged-out slot: readers probing through it for another key are unaffected
        values.set(reuse, v);
        keys.set(reuse, key);
        return true;
    }

    /** Entries in use (including aged-out ones not yet reused). */
    public int size() { return size; }

    /** Addresses not learned because the table was full. */
    public long full() { return full; }

    /** Calls {@code f(mac, peer, isStatic)} for every live entry (control path). */
    public void forEach(Entry f) {
        long t = now();
        for (int s = 0; s <= mask; s++) {
            long k = keys.get(s);
            if (k == 0) continue;
            long v = values.get(s);
            boolean st = (v & STATIC) != 0;
            if (!st && t - ((v >>> 32) & 0x7fff_ffffL) > ageingSeconds) continue;
            f.accept(k - 1, (int) v, st);
        }
    }

    /**
     * Calls {@code f(mac, peer, isStatic, ageSeconds)} for every live entry (control path: the
     * CLI's {@code tunnel/show}); {@code ageSeconds} is the time since the entry was learned or
     * last refreshed by a received frame (0 for static entries).
     */
    public void forEachWithAge(AgedEntry f) {
        long t = now();
        for (int s = 0; s <= mask; s++) {
            long k = keys.get(s);
            if (k == 0) continue;
            long v = values.get(s);
            boolean st = (v & STATIC) != 0;
            long age = Math.max(0, t - ((v >>> 32) & 0x7fff_ffffL));
            if (!st && age > ageingSeconds) continue;
            f.accept(k - 1, (int) v, st, st ? 0 : age);
        }
    }

    /** The ageing time in seconds: learned entries older than this are gone. */
    public long ageingSeconds() { return ageingSeconds; }

    /** An entry visitor with the entry's age. */
    @FunctionalInterface
    public interface AgedEntry {
        /**
         * Visits one entry: {@code mac} (low 48 bits) lives behind peer id {@code peer}; {@code isStatic} if
         * configured; {@code ageSeconds} since last seen.
         */
        void accept(long mac, int peer, boolean isStatic, long ageSeconds);
    }

    /** An entry visitor. */
    @FunctionalInterface
    public interface Entry {
        /**
         * Visits one entry: inner MAC address {@code mac} (low 48 bits) lives behind peer id {@code peer};
         * {@code isStatic} if configured, not learned.
         */
        void accept(long mac, int peer, boolean isStatic);
    }

    private static int hash(long mac) {
        long x = mac * 0x9E3779B97F4A7C15L;
        return (int) (x ^ x >>> 32);
    }
}
