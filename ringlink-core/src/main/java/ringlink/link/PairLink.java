package ringlink.link;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import ringlink.packet.PacketBatch;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.SysException;

/**
 * Two links joined in memory: what one end transmits, the other receives. For tests of
 * everything above the transports (the switch, capture, the benchmark harness) and as the
 * reference implementation of the {@link Link} contract, notification protocol included.
 *
 * <p>Each direction is a single-producer single-consumer ring of packet slots with an eventfd
 * that is signalled only when the consumer announced it is about to sleep.
 */
public final class PairLink implements Link {
    private final String name;
    private final Channel in;
    private final Channel out;
    private final Layer layer;
    private final int mtu;
    private final Offloads offloads;
    private final LinkCounters counters = new LinkCounters();

    private PairLink(String name, Channel in, Channel out, Layer layer, int mtu, Offloads offloads) {
        this.name = name;
        this.in = in;
        this.out = out;
        this.layer = layer;
        this.mtu = mtu;
        this.offloads = offloads;
    }

    /** Creates a connected pair with rings of {@code capacity} (a power of two) slots of {@code bufferSize} bytes. */
    public static PairLink[] create(String name, int capacity, int bufferSize, Layer layer, int mtu, Offloads offloads)
            throws SysException {
        Objects.requireNonNull(layer);
        Channel ab = new Channel(capacity, bufferSize);
        Channel ba;
        try {
            ba = new Channel(capacity, bufferSize);
        } catch (SysException e) {
            ab.free();
            throw e;
        }
        return new PairLink[] {
            new PairLink(name + "[0]", ba, ab, layer, mtu, offloads),
            new PairLink(name + "[1]", ab, ba, layer, mtu, offloads)
        };
    }

    /** An L2 pair with 1500-byte MTU, 1024 slots of 64 KiB + headroom and every offload. */
    public static PairLink[] create(String name) throws SysException {
        return create(name, 1024, PacketBatch.SUPERPACKET_BUFFER, Layer.L2, 1500, Offloads.ALL);
    }

    @Override public String name() { return name; }
    @Override public Layer layer() { return layer; }
    @Override public int mtu() { return mtu; }
    @Override public Offloads offloads() { return offloads; }
    @Override public int maxReceiveSize() { return in.slots.bufferSize() - in.slots.headroom(); }
    @Override public Fd readyFd() { return in.ready.fd(); }
    @Override public LinkCounters counters() { return counters; }
    @Override public boolean isOpen() { return !in.closed && !out.closed; }

    @Override
    public int receive(PacketBatch batch) throws IOException {
        Channel c = in;
        long h = c.head;
        long t = (long) Channel.TAIL.getAcquire(c); // pairs with the producer's setRelease: slots are filled
        int n = (int) Math.min(t - h, batch.capacity() - batch.count());
        if (n == 0) {
            if (c.closed) throw new LinkClosedException(name + ": peer closed");
            return 0;
        }
        long bytes = 0;
        for (int k = 0; k < n; k++) {
            int s = (int) ((h + k) & c.mask);
            int i = batch.append(c.slots, s);
            bytes += batch.length(i);
        }
        Channel.HEAD.setRelease(c, h + n); // slots may be reused by the producer
        counters.received(n, bytes);
        return n;
    }

    @Override
    public int transmit(PacketBatch batch, int from, int to) throws IOException {
        Channel c = out;
        if (c.closed) throw new LinkClosedException(name + ": closed");
        long t = c.tail;
        long h = (long) Channel.HEAD.getAcquire(c);
        int n = (int) Math.min(to - from, c.slots.capacity() - (t - h));
        long bytes = 0;
        int dropped = 0;
        for (int k = 0; k < n; k++) {
            int i = from + k;
            if (!offloads.accepts(batch, i)) {
                throw new IllegalArgumentException(name + ": packet " + i + " needs offloads this link lacks ("
                        + offloads + ")");
            }
            int len = batch.length(i);
            if (len > c.slots.bufferSize() - c.slots.headroom()) {
                dropped++;
                continue;
            }
            int s = (int) ((t) & c.mask);
            c.slots.setData(s, c.slots.headroom(), len);
            java.lang.foreign.MemorySegment.copy(batch.memory(), batch.dataOffset(i), c.slots.memory(),
                    c.slots.dataOffset(s), len);
            c.slots.copyOffload(batch, i, s);
            t++;
            bytes += len;
        }
        Channel.TAIL.setRelease(c, t);
        // The consumer sets `waiting` and then re-reads tail; we publish tail and then read
        // `waiting`. The full fence orders our store before our load (Dekker), so either it sees
        // the packets or we see it waiting and signal.
        VarHandle.fullFence();
        if (c.waiting) c.ready.signal();
        counters.transmitted(n - dropped, bytes);
        if (dropped > 0) counters.txDropped(dropped);
        return n;
    }

    @Override
    public boolean prepareToWait() throws IOException {
        Channel c = in;
        c.waiting = true;
        VarHandle.fullFence();
        if ((long) Channel.TAIL.getAcquire(c) != c.head || c.closed) {
            c.waiting = false;
            return false;
        }
        return true;
    }

    @Override
    public void finishWait() throws IOException {
        in.waiting = false;
        in.ready.drain();
    }

    @Override
    public void close() {
        if (in.closed && out.closed) return;
        in.closed = true;
        out.closed = true;
        try {
            in.ready.signal();
            out.ready.signal();
        } catch (IOException ignored) {
            // the other end already released its eventfd
        }
    }

    /** Releases the native memory of both directions (after both ends stopped using them). */
    public void free() {
        close();
        in.free();
        out.free();
    }

    static final class Channel {
        static final VarHandle HEAD, TAIL;

        static {
            try {
                HEAD = MethodHandles.lookup().findVarHandle(Channel.class, "head", long.class);
                TAIL = MethodHandles.lookup().findVarHandle(Channel.class, "tail", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final PacketBatch slots;
        final long mask;
        final EventFd ready;
        // head and tail on separate cache lines: the consumer writes one, the producer the other.
        long p1, p2, p3, p4, p5, p6, p7;
        volatile long head;
        long q1, q2, q3, q4, q5, q6, q7;
        volatile long tail;
        long r1, r2, r3, r4, r5, r6, r7;
        volatile boolean waiting;
        volatile boolean closed;

        Channel(int capacity, int bufferSize) throws SysException {
            if (Integer.bitCount(capacity) != 1)
                    throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
            this.slots = new PacketBatch(capacity, bufferSize);
            this.mask = capacity - 1;
            this.ready = EventFd.create();
        }

        void free() {
            ready.close();
            slots.close();
        }
    }
}
