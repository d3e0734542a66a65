package ringlink.memif;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import ringlink.link.Link;
import ringlink.packet.PacketBatch;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;

/** Test helpers that move packets through memif links with bounded waits. */
final class MemifTraffic {
    private MemifTraffic() {}

    /** A receiver thread counting packets (and checking their pattern) until stopped; sleeps by the wait contract. */
    static final class Counter implements AutoCloseable {
        final AtomicLong packets = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
        final AtomicLong corrupt = new AtomicLong();
        final AtomicBoolean stop = new AtomicBoolean();
        volatile Throwable error;
        private final Thread thread;

        Counter(Link link, boolean checkPattern) {
            thread = new Thread(() -> {
                try (PacketBatch b = new PacketBatch(64, 16384)) {
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
            }, "rlmif-counter");
            thread.setDaemon(true);
            thread.start();
        }

        long awaitAtLeast(long n, long timeoutMillis) throws InterruptedException {
            long end = System.currentTimeMillis() + timeoutMillis;
            while (packets.get() < n && System.currentTimeMillis() < end && error == null) Thread.sleep(5);
            return packets.get();
        }

        long awaitQuiet(long quietMillis, long timeoutMillis) throws InterruptedException {
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

    static boolean patternOk(PacketBatch b, int i) {
        var s = b.memory();
        long o = b.dataOffset(i);
        int len = b.length(i);
        for (int j = 14; j < len; j++) if (s.get(ValueLayout.JAVA_BYTE, o + j) != (byte) (j * 7)) return false;
        return true;
    }

    /**
     * Fills {@code b} with {@code n} Ethernet frames of {@code size} bytes (broadcast, IPv4 ethertype, a byte pattern).
     */
    static void frames(PacketBatch b, int n, int size) {
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
     * Transmits {@code total} frames of {@code size} bytes, retrying on back-pressure, for at most
     * {@code timeoutMillis}.
     */
    static long send(Link link, long total, int size, long timeoutMillis) throws IOException, InterruptedException {
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
