package ringlink.shm;

import java.lang.foreign.MemorySegment;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.MemFd;
import ringlink.sys.SysException;

/**
 * The five descriptors that describe one sharedmem queue, in gVisor's order
 * ({@code QueueConfig.FDs()}): the data region, the eventfd, the TX pipe, the RX pipe and the
 * shared-data page. "TX" and "RX" pipe are named from the client's side: the client writes the
 * TX pipe (packets or posted buffers) and reads the RX pipe (completions).
 *
 * <p>The config owns its descriptors: {@link #close()} closes them (mappings made from them stay
 * valid).
 *
 * @param data the data region (a memfd holding the packet buffers)
 * @param eventFd the eventfd the queue's consumer sleeps on
 * @param txPipe the TX pipe's memory (written by the client)
 * @param rxPipe the RX pipe's memory (read by the client)
 * @param sharedData the shared-data page ({@link SharedDataLayout})
 */
public record QueueConfig(Fd data, Fd eventFd, Fd txPipe, Fd rxPipe, Fd sharedData) implements AutoCloseable {
    /** Number of descriptors in a config. */
    public static final int FD_COUNT = 5;
    /** gVisor's default data region size (1 MiB). */
    public static final long DEFAULT_DATA_SIZE = 1 << 20;
    /** gVisor's default pipe size (64 KiB). */
    public static final long DEFAULT_PIPE_SIZE = 64 << 10;

    /** The descriptors in wire order: data, eventfd, tx pipe, rx pipe, shared data. */
    public Fd[] fds() {
        return new Fd[] {data, eventFd, txPipe, rxPipe, sharedData};
    }

    /** Rebuilds a config from descriptors received in {@link #fds()} order (takes ownership). */
    public static QueueConfig fromFds(Fd[] fds, int from) {
        if (fds.length - from < FD_COUNT) {
            throw new IllegalArgumentException("a queue config needs " + FD_COUNT + " descriptors, got "
                    + (fds.length - from));
        }
        return new QueueConfig(fds[from], fds[from + 1], fds[from + 2], fds[from + 3], fds[from + 4]);
    }

    /**
     * Creates a queue in fresh memfds: a data region of {@code dataSize} bytes, two pipes of
     * {@code pipeSize} bytes marked empty, a zeroed shared-data page and a non-blocking eventfd.
     */
    public static QueueConfig create(String name, long dataSize, long pipeSize) throws SysException {
        if (pipeSize < PipeLayout.MIN_PIPE_SIZE || pipeSize > (1L << 30)) {
            throw new IllegalArgumentException("pipe size " + pipeSize + " must be in [" + PipeLayout.MIN_PIPE_SIZE
                    + ", 1 GiB]");
        }
        if (dataSize <= 0 || dataSize > (1L << 32))
                throw new IllegalArgumentException("data size " + dataSize + " must be in (0, 4 GiB]");
        Fd data = null, event = null, tx = null, rx = null, shared = null;
        boolean ok = false;
        try {
            data = MemFd.create("rlsh-" + name + "-data", dataSize);
            // a plain Fd: an EventFd object here would leak its scratch arena (nothing closes it)
            event = ringlink.sys.EventFd.createFd(0, ringlink.sys.EventFd.EFD_NONBLOCK);
            tx = MemFd.create("rlsh-" + name + "-txpipe", pipeSize);
            rx = MemFd.create("rlsh-" + name + "-rxpipe", pipeSize);
            shared = MemFd.create("rlsh-" + name + "-shared", SharedDataLayout.DEFAULT_SIZE);
            for (Fd p : new Fd[] {tx, rx}) {
                try (Mapping m = Mapping.map(p, pipeSize, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0,
                        "pipe")) {
                    PipeLayout.initEmpty(m.segment());
                }
            }
            ok = true;
            return new QueueConfig(data, event, tx, rx, shared);
        } catch (ClosedFdException e) {
            throw new IllegalStateException(e);
        } finally {
            if (!ok) {
                for (Fd f : new Fd[] {data, event, tx, rx, shared}) if (f != null) f.close();
            }
        }
    }

    /** Closes the five descriptors. */
    @Override
    public void close() {
        data.close();
        eventFd.close();
        txPipe.close();
        rxPipe.close();
        sharedData.close();
    }

    /** A queue's memory mapped into this process, each region bounded to the size of its file. */
    static final class Mapped implements AutoCloseable {
        final Mapping data, txPipe, rxPipe, shared;
        /** True if the peer could shrink one of the four files under our mapping (not sealed, not sealable). */
        final boolean shrinkable;

        Mapped(QueueConfig c, String name) throws java.io.IOException {
            Mapping d = null, t = null, r = null, s = null;
            boolean ok = false;
            try {
                boolean[] unsealed = new boolean[1];
                d = map(c.data, 1, 1L << 32, name + " data", unsealed);
                t = map(c.txPipe, PipeLayout.MIN_PIPE_SIZE, 1L << 30, name + " tx pipe", unsealed);
                r = map(c.rxPipe, PipeLayout.MIN_PIPE_SIZE, 1L << 30, name + " rx pipe", unsealed);
                s = map(c.sharedData, 4, 1L << 20, name + " shared data", unsealed);
                this.shrinkable = unsealed[0];
                ok = true;
            } finally {
                if (!ok) for (Mapping m : new Mapping[] {d, t, r, s}) if (m != null) m.close();
            }
            this.data = d;
            this.txPipe = t;
            this.rxPipe = r;
            this.shared = s;
        }

        private static Mapping map(Fd fd, long min, long max, String what,
                boolean[] unsealed) throws java.io.IOException {
            if (!MemFd.sealAgainstShrink(fd)) { // before the size is read: from here on it cannot drop
                unsealed[0] = true;
                // Ours are sealed (MemFd.create), a sealable peer's file is sealed here; one that
                // cannot be: a later ftruncate faults our next access, which ShmLink turns into a
                // LinkFailedException for this link only.
                System.getLogger("ringlink.shm").log(System.Logger.Level.INFO, what
                        + ": the peer's file is not sealed against shrinking and cannot be");
            }
            long size = fd.size();
            if (size < min || size > max) {
                throw new ringlink.link.LinkFailedException(what + ": the peer's file is " + size + " bytes, expected "
                        + min + ".." + max);
            }
            return Mapping.map(fd, size, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0, what);
        }

        MemorySegment sharedState() { return shared.segment(); }

        @Override
        public void close() {
            data.close();
            txPipe.close();
            rxPipe.close();
            shared.close();
        }
    }
}
