package ringlink.cli.bench;

import static ringlink.sys.Endian.BE16;
import static ringlink.sys.Endian.BE32;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import ringlink.link.Link;
import ringlink.packet.PacketBatch;

/**
 * Drives packets through in-memory links: a sender thread keeps {@code into} full of frames of
 * one size, the caller's thread counts what arrives at {@code outOf}. The first fifth of the
 * interval is warm-up and not counted.
 */
public final class PairTraffic {
    private PairTraffic() {}

    /** The frames' addresses: sent from A to B. */
    public static final long MAC_A = 0x02_72_6c_00_00_0aL, MAC_B = 0x02_72_6c_00_00_0bL;

    /** Fills {@code b} with {@code n} IPv4 frames of {@code size} bytes from {@code src} to {@code dst}. */
    public static void frames(PacketBatch b, int n, int size, long dst, long src) {
        b.clear();
        for (int k = 0; k < n; k++) {
            int i = b.add();
            MemorySegment m = b.memory();
            long off = b.dataOffset(i);
            m.asSlice(off, size).fill((byte) 0);
            m.set(BE32, off, (int) (dst >>> 16));
            m.set(BE16, off + 4, (short) dst);
            m.set(BE32, off + 6, (int) (src >>> 16));
            m.set(BE16, off + 10, (short) src);
            m.set(BE16, off + 12, (short) 0x0800);
            m.set(ValueLayout.JAVA_BYTE, off + 14, (byte) 0x45);
            m.set(BE16, off + 16, (short) (size - 14));
            b.setLength(i, size);
        }
    }

    /** Sends A→B frames into {@code into} and counts them out of {@code outOf} for {@code d}, both sides spinning. */
    public static BenchCell.Measurement measure(Link into, Link outOf, int size, Duration d) throws Exception {
        return measure(into, outOf, size, d, false);
    }

    /** How long one wait of a blocking side lasts at most (then the stop flag is looked at). */
    private static final Duration WAIT = Duration.ofMillis(20);

    /**
     * Sends A→B frames into {@code into} and counts them out of {@code outOf} for {@code d}. With
     * {@code block} the receiver sleeps on {@code outOf}'s ready descriptor when it finds nothing
     * ({@link Link#awaitReadable}) and the sender on {@code into}'s writability when it is full
     * ({@link Link#awaitWritable}), as a blocking peer's threads do (iperf3's), instead of both
     * spinning: on two shared cores a spinning receiver takes the CPU the sender needs.
     */
    public static BenchCell.Measurement measure(Link into, Link outOf, int size, Duration d,
            boolean block) throws Exception {
        try (PacketBatch tx = new PacketBatch(32, size + PacketBatch.DEFAULT_HEADROOM);
             PacketBatch rx = new PacketBatch(256, outOf.maxReceiveSize() + PacketBatch.DEFAULT_HEADROOM)) {
            frames(tx, 32, size, MAC_B, MAC_A);
            Exception[] failed = new Exception[1];
            var stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread sender = Thread.ofPlatform().name("rl-bench-sender").daemon().start(() -> {
                try {
                    while (!stop.get()) {
                        int sent = 0;
                        while (sent < 32 && !stop.get()) {
                            int n = into.transmit(tx, sent, 32);
                            sent += n;
                            if (n == 0) { // full: let the receiver (and the switch) run on a shared core
                                if (block) into.awaitWritable(WAIT);
                                else Thread.yield();
                            }
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    if (!stop.get()) failed[0] = e;
                }
            });
            long t0 = System.nanoTime();
            long warm = t0 + d.toNanos() / 5, end = t0 + d.toNanos();
            long packets = 0, bytes = 0, start = 0;
            boolean counting = false;
            try {
                while (true) {
                    long now = System.nanoTime();
                    if (now >= end) break;
                    if (!counting && now >= warm) {
                        counting = true;
                        start = now;
                        packets = bytes = 0;
                    }
                    rx.clear();
                    int n = outOf.receive(rx);
                    if (n == 0) {
                        if (failed[0] != null) throw failed[0];
                        if (block) outOf.awaitReadable(WAIT);
                        else Thread.yield();
                        continue;
                    }
                    packets += n;
                    bytes += rx.totalBytes();
                }
            } finally {
                stop.set(true);
                sender.join(5000);
            }
            if (failed[0] != null) throw failed[0];
            return BenchCell.Measurement.of(packets, bytes, (end - start) / 1e9);
        }
    }
}
