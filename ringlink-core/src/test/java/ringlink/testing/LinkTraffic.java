package ringlink.testing;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import ringlink.link.Link;
import ringlink.packet.PacketBatch;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;

/**
 * Test traffic through any {@link Link} with bounded waits: Ethernet frames with a byte pattern,
 * a sender that retries on back-pressure and a receiver thread that counts (and may check the
 * pattern). The memif and vhost-user tests share it.
 */
public final class LinkTraffic {
    private LinkTraffic() {}

    /** A receiver thread counting packets (and checking their pattern) until stopped; sleeps by the wait contract. */
    public static final class Counter implements AutoCloseable {
        /** Packets received. */
        public final AtomicLong packets = new AtomicLong();
        /** Bytes received. */
        public final AtomicLong bytes = new AtomicLong();
        /** Packets whose pattern was wrong (only counted when checking). */
        public final AtomicLong corrupt = new AtomicLong();
        /** Set to stop the thread ({@link #close()} does). */
        public final AtomicBoolean stop = new AtomicBoolean();
        /** What the receive loop threw, if anything. */
        public volatile Throwable error;
        private final Thread thread;

        /** Counts what {@code link} receives without checking the bytes. */
        public Counter(Link link) {
            this(link, false);
        }

        /**
         * Counts what {@code link} receives; with {@code checkPattern} also counts frames not made
         * by {@link #frames}.
         */
        public Counter(Link link, boolean checkPattern) {
            thread = new Thread(() -> {
                try (PacketBatch b = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER)) {
                    while (!stop.get()) {
                        b.clear();
                        int n = link.receive(b);
                        if (n > 0) {
                            packets.addAndGet(n);
                            bytes.addAndGet(b.totalBytes());
                            if (checkPattern) for (int i = 0; i < n; i++) if (!patternOk(b, i))
                                    corrupt.incrementAndGet();
                        } else if (link.prepareToWait()) {
                            PollSet.pollOne(link.readyFd(), PollfdLayout.POLLIN, 20);
                            link.finishWait();
                        }
                    }
                } catch (Throwable t) {
                    if (!stop.get()) error = t;
                }
            }, "rl-traffic-counter");
            thread.setDaemon(true);
            thread.start();
        }

        /** Waits (bounded) until {@code n} packets arrived; returns the count then. */
        public long awaitAtLeast(long n, long timeoutMillis) throws InterruptedException {
            long end = System.currentTimeMillis() + timeoutMillis;
            while (packets.get() < n && System.currentTimeMillis() < end && error == null) Thread.sleep(5);
            return packets.get();
        }

        /** Waits (bounded) until the count stops changing for {@code quietMillis}; returns it. */
        public long awaitQuiet(long quietMillis, long timeoutMillis) throws InterruptedException {
            long end = System.currentTimeMillis() + timeoutMillis;
            long last = -1, since = System.currentTimeMillis();
            while (System.currentTimeMillis() < end) {
                long p = packets.get();
                if (p != last) {
                    last = p;
                    since = System.currentTimeMillis();
                } else if (System.currentTimeMillis() - since >= quietMillis) {
                    break;
                }
                Thread.sleep(5);
            }
            return packets.get();
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(5000);
        }
    }

    /** True if packet {@code i} carries {@link #frames}' pattern after its Ethernet header. */
    public static boolean patternOk(PacketBatch b, int i) {
        var s = b.memory();
        long o = b.dataOffset(i);
        int len = b.length(i);
        for (int j = 14; j < len; j++) if (s.get(ValueLayout.JAVA_BYTE, o + j) != (byte) (j * 7)) return false;
        return true;
    }

    /**
     * Fills {@code b} with {@code n} Ethernet frames of {@code size} bytes (broadcast, IPv4 ethertype, a byte pattern).
     */
    public static void frames(PacketBatch b, int n, int size) {
        b.clear();
        for (int k = 0; k < n; k++) {
            int i = b.add();
            var s = b.memory();
            long o = b.dataOffset(i);
            for (int j = 0; j < size; j++) s.set(ValueLayout.JAVA_BYTE, o + j, (byte) (j < 6 ? 0xff : j * 7));
            s.set(ValueLayout.JAVA_BYTE, o + 12, (byte) 0x08);
            s.set(ValueLayout.JAVA_BYTE, o + 13, (byte) 0x00);
            b.setLength(i, size);
        }
    }

    /**
     * Transmits {@code total} frames of {@code size} bytes, retrying on back-pressure (after a
     * 50 µs nap: the machine is shared), for at most {@code timeoutMillis}; returns how many
     * were taken.
     */
    public static long send(Link link, long total, int size, long timeoutMillis)
            throws IOException, InterruptedException {
        long end = System.currentTimeMillis() + timeoutMillis;
        long sent = 0;
        try (PacketBatch b = new PacketBatch(32, Math.max(2048, size + 128))) {
            frames(b, 32, size);
            while (sent < total && System.currentTimeMillis() < end) {
                int want = (int) Math.min(32, total - sent);
                int n = link.transmit(b, 0, want);
                sent += n;
                if (n < want) Thread.sleep(0, 50_000);
            }
        }
        return sent;
    }
}
