package ringlink.sw;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The switch's forwarding table: (VLAN, MAC) to port, with ageing, shared by every polling
 * thread without locks.
 *
 * <p>Open addressing over two primitive arrays, so learning and lookup allocate nothing. A slot's
 * key is claimed with a CAS (empty or expired slots only); its value packs the port, the time the
 * address was last seen and a 16-bit check derived from the key. A reader that races with a
 * writer reclaiming an expired slot may see the new key with the old value: the check bits (and
 * the old value's age) make it treat the slot as a miss, so the packet is flooded, never misdirected.
 *
 * <p>Refreshing a known address writes only when its port changed or its timestamp is more than
 * {@link #REFRESH_MS} old, so steady traffic does not bounce the table's cache lines between
 * cores.
 */
public final class MacTable {
    /** Timestamps closer than this are not rewritten on refresh. */
    static final int REFRESH_MS = 1000;
    /** Slots probed before giving up: a full neighbourhood means "not learned" (the frame floods). */
    static final int MAX_PROBE = 16;

    private static final VarHandle KEYS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle VALS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] keys;
    private final long[] vals;
    private final int mask;
    private final long ageingMs;

    /**
     * @param capacity slots (rounded up to a power of two); about twice the addresses expected
     * @param ageingMs how long an address stays known without being seen
     */
    public MacTable(int capacity, long ageingMs) {
        if (capacity < 16 || capacity > (1 << 26)) throw new IllegalArgumentException("MAC table capacity " + capacity + " not in [16, 2^26]");
        if (ageingMs <= 0 || ageingMs > Integer.MAX_VALUE / 2) throw new IllegalArgumentException("ageing " + ageingMs + " ms out of range");
        int cap = Integer.highestOneBit(capacity - 1) << 1;
        this.keys = new long[cap];
        this.vals = new long[cap];
        this.mask = cap - 1;
        this.ageingMs = ageingMs;
    }

    /** The key of a 48-bit MAC in VLAN {@code vid} (0..4095): never 0, so 0 marks an empty slot. */
    public static long key(long mac, int vid) {
        return (mac & 0xffff_ffff_ffffL) | ((long) (vid + 1) << 48);
    }

    private static int hash(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29));
    }

    private static long check(long key) {
        return ((key * 0xC2B2AE3D27D4EB4FL) >>> 48) & 0xffff;
    }

    private static long pack(long key, int port, int nowMs) {
        return (check(key) << 48) | ((nowMs & 0xffff_ffffL) << 16) | (port + 1);
    }

    private boolean fresh(long v, int nowMs) {
        return (v & 0xffff) != 0 && (nowMs - (int) (v >>> 16)) < ageingMs;
    }

    /** The port {@code key} was last seen on, or -1 if unknown or aged out. */
    public int lookup(long key, int nowMs) {
        int h = hash(key);
        for (int p = 0; p < MAX_PROBE; p++) {
            int s = (h + p) & mask;
            long k = (long) KEYS.getAcquire(keys, s);
            if (k == 0) return -1;
            if (k == key) {
                long v = (long) VALS.getAcquire(vals, s);
                if ((v >>> 48) != check(key) || !fresh(v, nowMs)) return -1;
                return (int) (v & 0xffff) - 1;
            }
        }
        return -1;
    }

    /**
     * Records that {@code key} was seen on {@code port} at {@code nowMs}. Returns false if the
     * table has no room for it near its hash (it is then simply not learned).
     */
    public boolean learn(long key, int port, int nowMs) {
        int h = hash(key);
        int expired = -1;
        for (int p = 0; p < MAX_PROBE; p++) {
            int s = (h + p) & mask;
            long k = (long) KEYS.getAcquire(keys, s);
            if (k == key) {
                long v = (long) VALS.getAcquire(vals, s);
                if ((v & 0xffff) != port + 1 || (v >>> 48) != check(key) || nowMs - (int) (v >>> 16) >= REFRESH_MS) {
                    VALS.setRelease(vals, s, pack(key, port, nowMs));
                }
                return true;
            }
            if (k == 0) {
                if (expired >= 0) break; // reuse the expired slot found earlier in the chain
                if (KEYS.compareAndSet(keys, s, 0L, key)) {
                    VALS.setRelease(vals, s, pack(key, port, nowMs));
                    return true;
                }
                p--; // someone claimed it: look at the same slot again
                continue;
            }
            if (expired < 0 && !fresh((long) VALS.getAcquire(vals, s), nowMs)) expired = s;
        }
        if (expired >= 0) {
            long old = (long) KEYS.getAcquire(keys, expired);
            if (!fresh((long) VALS.getAcquire(vals, expired), nowMs) && KEYS.compareAndSet(keys, expired, old, key)) {
                VALS.setRelease(vals, expired, pack(key, port, nowMs));
                return true;
            }
        }
        return false;
    }

    /** Forgets every address on {@code port} (it went down). */
    public void forgetPort(int port) {
        for (int s = 0; s <= mask; s++) {
            long v = (long) VALS.getAcquire(vals, s);
            if ((v & 0xffff) == port + 1) VALS.compareAndSet(vals, s, v, v & ~0xffffL);
        }
    }

    /** Addresses currently known (a scan: for statistics, not the data path). */
    public int size(int nowMs) {
        int n = 0;
        for (int s = 0; s <= mask; s++) {
            if ((long) KEYS.getAcquire(keys, s) != 0 && fresh((long) VALS.getAcquire(vals, s), nowMs)) n++;
        }
        return n;
    }

    /**
     * A learned address, for tools.
     *
     * @param mac the 48-bit address
     * @param vid its VLAN (0 on a switch that is not VLAN-aware)
     * @param port the port it was last seen on
     * @param ageMs milliseconds since it was last seen (refreshes are coarse: {@link #REFRESH_MS})
     */
    public record Entry(long mac, int vid, int port, int ageMs) {}

    /** Every fresh address (a scan, not for the data path), in table order. */
    public java.util.List<Entry> entries(int nowMs) {
        java.util.List<Entry> out = new java.util.ArrayList<>();
        for (int s = 0; s <= mask; s++) {
            long k = (long) KEYS.getAcquire(keys, s);
            if (k == 0) continue;
            long v = (long) VALS.getAcquire(vals, s);
            if ((v >>> 48) != check(k) || !fresh(v, nowMs)) continue;
            out.add(new Entry(k & 0xffff_ffff_ffffL, (int) (k >>> 48) - 1, (int) (v & 0xffff) - 1, nowMs - (int) (v >>> 16)));
        }
        return out;
    }
}
