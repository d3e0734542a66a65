package ringlink.sw;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

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
 *
 * <p><b>Flooding peers.</b> The table counts the slots each port holds (every value change is
 * an atomic exchange, so the count stays exact under racing pollers). {@link #learn(long, int, int, int)}
 * takes a per-port limit: a port at its limit learns no new address ({@link #LIMITED}; its
 * frames are still forwarded, replies to them flood) until some of its addresses age out
 * (expired slots are released by a sweep at most every {@link #SWEEP_MS} while some port is at
 * its limit). When the probe neighbourhood of a new address is full of fresh entries, the entry
 * of the port holding the most slots is replaced if that port holds more than the learner (the
 * fair eviction OVS's MAC learning uses), so a port flooding spoofed sources cannot keep another
 * port's new station from being learned.
 */
public final class MacTable {
    /** Timestamps closer than this are not rewritten on refresh. */
    static final int REFRESH_MS = 1000;
    /** Slots probed before giving up: a full neighbourhood means "not learned" (the frame floods). */
    static final int MAX_PROBE = 16;
    /** Least time between two sweeps that release expired slots for ports at their limit. */
    static final int SWEEP_MS = 1000;
    /** The port field is 16 bits holding port + 1. */
    static final int MAX_PORTS = 0xfffe;

    /** {@link #learn(long, int, int, int)}: learned or refreshed. */
    public static final int LEARNED = 0;
    /** {@link #learn(long, int, int, int)}: not learned, the port holds its limit of addresses. */
    public static final int LIMITED = 1;
    /** {@link #learn(long, int, int, int)}: not learned, no room near the address's hash. */
    public static final int FULL = 2;

    private static final VarHandle KEYS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle VALS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] keys;
    private final long[] vals;
    private final int mask;
    private final long ageingMs;
    /** Slots whose value carries port p (fresh or expired but not yet released), by p + 1. */
    private final AtomicIntegerArray held;
    private final AtomicInteger lastSweep = new AtomicInteger(-SWEEP_MS); // the clock starts at 0

    /**
     * @param capacity slots (rounded up to a power of two); about twice the addresses expected
     * @param ageingMs how long an address stays known without being seen
     */
    public MacTable(int capacity, long ageingMs) {
        this(capacity, ageingMs, 1024);
    }

    /**
     * @param capacity slots (rounded up to a power of two); about twice the addresses expected
     * @param ageingMs how long an address stays known without being seen
     * @param ports the number of ports whose slots are counted (ports beyond it learn without a limit)
     */
    public MacTable(int capacity, long ageingMs, int ports) {
        if (capacity < 16 || capacity > (1 << 26))
                throw new IllegalArgumentException("MAC table capacity " + capacity + " not in [16, 2^26]");
        if (ageingMs <= 0 || ageingMs > Integer.MAX_VALUE / 2)
                throw new IllegalArgumentException("ageing " + ageingMs + " ms out of range");
        if (ports < 1 || ports > MAX_PORTS)
                throw new IllegalArgumentException("ports " + ports + " not in [1, " + MAX_PORTS + "]");
        int cap = Integer.highestOneBit(capacity - 1) << 1;
        this.keys = new long[cap];
        this.vals = new long[cap];
        this.mask = cap - 1;
        this.ageingMs = ageingMs;
        this.held = new AtomicIntegerArray(ports + 1);
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
     * Records that {@code key} was seen on {@code port} at {@code nowMs}, without a per-port
     * limit. Returns false if the table has no room for it near its hash (it is then simply not
     * learned).
     */
    public boolean learn(long key, int port, int nowMs) {
        return learn(key, port, nowMs, Integer.MAX_VALUE) == LEARNED;
    }

    /**
     * Records that {@code key} was seen on {@code port} at {@code nowMs}, if that port holds
     * fewer than {@code limit} addresses (a known address of the port is always refreshed).
     *
     * @return {@link #LEARNED}, {@link #LIMITED} or {@link #FULL}
     */
    public int learn(long key, int port, int nowMs, int limit) {
        int h = hash(key);
        int expired = -1, victim = -1, victimHeld = -1;
        for (int p = 0; p < MAX_PROBE; p++) {
            int s = (h + p) & mask;
            long k = (long) KEYS.getAcquire(keys, s);
            if (k == key) {
                long v = (long) VALS.getAcquire(vals, s);
                boolean mine = (v & 0xffff) == port + 1;
                if (mine && (v >>> 48) == check(key) && nowMs - (int) (v >>> 16) < REFRESH_MS) return LEARNED;
                if (!mine && !admit(port, limit, nowMs)) return LIMITED;
                // One exchange: if another poller changed the value meanwhile, its write stands
                // (the address was just seen there) and the counts follow what is stored.
                if (VALS.compareAndSet(vals, s, v, pack(key, port, nowMs))) moved(v, port);
                return LEARNED;
            }
            if (k == 0) {
                if (expired >= 0) break; // reuse the expired slot found earlier in the chain
                if (!admit(port, limit, nowMs)) return LIMITED;
                if (KEYS.compareAndSet(keys, s, 0L, key)) {
                    moved((long) VALS.getAndSet(vals, s, pack(key, port, nowMs)), port);
                    return LEARNED;
                }
                p--; // someone claimed it: look at the same slot again
                continue;
            }
            long v = (long) VALS.getAcquire(vals, s);
            if (!fresh(v, nowMs)) {
                if (expired < 0) expired = s;
            } else if (expired < 0) {
                int owner = (int) (v & 0xffff);
                int n = owner < held.length() ? held.get(owner) : 0;
                if (n > victimHeld) {
                    victim = s;
                    victimHeld = n;
                }
            }
        }
        int s = expired;
        if (s < 0) {
            // A neighbourhood of fresh entries: replace one of the port that holds the most, if
            // that is more than this port holds.
            if (victim < 0 || victimHeld <= heldBy(port)) return FULL;
            s = victim;
        }
        if (!admit(port, limit, nowMs)) return LIMITED;
        long old = (long) KEYS.getAcquire(keys, s);
        long ov = (long) VALS.getAcquire(vals, s);
        if (old == key || old == 0) return FULL; // changed under us: the next frame tries again
        if (s == expired && fresh(ov, nowMs)) return FULL; // refreshed meanwhile
        if (KEYS.compareAndSet(keys, s, old, key)) {
            moved((long) VALS.getAndSet(vals, s, pack(key, port, nowMs)), port);
            return LEARNED;
        }
        return FULL;
    }

    private int heldBy(int port) {
        return port + 1 < held.length() ? held.get(port + 1) : 0;
    }

    /** A slot's value went from {@code old} to one carrying {@code port}: move the count. */
    private void moved(long old, int port) {
        int from = (int) (old & 0xffff);
        if (from == port + 1) return;
        if (from != 0 && from < held.length()) held.decrementAndGet(from);
        if (port + 1 < held.length()) held.incrementAndGet(port + 1);
    }

    /** True if {@code port} may take one more slot; sweeps expired slots first when it is at its limit. */
    private boolean admit(int port, int limit, int nowMs) {
        if (limit == Integer.MAX_VALUE || heldBy(port) < limit) return true;
        int last = lastSweep.get();
        if (nowMs - last >= SWEEP_MS && lastSweep.compareAndSet(last, nowMs)) sweep(nowMs);
        return heldBy(port) < limit;
    }

    /** Releases the port of every expired slot (the slot stays reclaimable as before). */
    private void sweep(int nowMs) {
        for (int s = 0; s <= mask; s++) {
            long v = (long) VALS.getAcquire(vals, s);
            if ((v & 0xffff) != 0 && !fresh(v, nowMs) && VALS.compareAndSet(vals, s, v, v & ~0xffffL)) {
                int from = (int) (v & 0xffff);
                if (from < held.length()) held.decrementAndGet(from);
            }
        }
    }

    /** Slots {@code port} holds now (fresh addresses and expired ones not yet released). */
    public int held(int port) {
        return heldBy(port);
    }

    /** Forgets every address on {@code port} (it went down). */
    public void forgetPort(int port) {
        for (int s = 0; s <= mask; s++) {
            long v = (long) VALS.getAcquire(vals, s);
            if ((v & 0xffff) == port + 1 && VALS.compareAndSet(vals, s, v, v & ~0xffffL) && port + 1 < held.length()) {
                held.decrementAndGet(port + 1);
            }
        }
    }

    /** Fresh addresses on {@code port} (a scan: for statistics, not the data path). */
    public int size(int port, int nowMs) {
        int n = 0;
        for (int s = 0; s <= mask; s++) {
            long v = (long) VALS.getAcquire(vals, s);
            if ((v & 0xffff) == port + 1 && (long) KEYS.getAcquire(keys, s) != 0 && fresh(v, nowMs)) n++;
        }
        return n;
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
            out.add(new Entry(k & 0xffff_ffff_ffffL, (int) (k >>> 48) - 1, (int) (v & 0xffff) - 1,
                    nowMs - (int) (v >>> 16)));
        }
        return out;
    }
}
