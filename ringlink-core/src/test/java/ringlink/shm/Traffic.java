package ringlink.shm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import ringlink.link.Link;
import ringlink.packet.PacketBatch;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;

/**
 * Deterministic test traffic, identical to src/test/go/shmpeer: packet k of a stream with seed s
 * has a pseudo-random length (mostly 60..1514 bytes, some tiny, some spanning several buffers up
 * to maxLen) and is a slice of a fixed pseudo-random reference block. Both ends can generate any
 * packet independently, so the receiver checks every byte without being told what was sent.
 */
final class Traffic {
    private Traffic() {}

    static final int REF_LEN = 4096 + 65536;
    static final MemorySegment REF = Arena.global().allocate(REF_LEN, 64);

    static {
        for (int i = 0; i < REF_LEN; i++)
                REF.set(ValueLayout.JAVA_BYTE, i, (byte) (mix(0x5EED0000L + i / 8) >>> (8 * (i % 8))));
    }

    static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Packed (offset in REF << 32 | length) of packet k. */
    static long packet(long seed, long k, int maxLen) {
        long h = mix(seed * 0x100000001B3L + k);
        long sel = Long.remainderUnsigned(h, 100);
        long r = h >>> 8;
        long n;
        if (sel < 10) n = 1 + Long.remainderUnsigned(r, 64);
        else if (sel < 80 || maxLen <= 1514) n = 60 + Long.remainderUnsigned(r, 1455);
        else n = 1515 + Long.remainderUnsigned(r, maxLen - 1514);
        n = Math.min(n, maxLen);
        long off = Long.remainderUnsigned(h >>> 40, 4096);
        return off << 32 | n;
    }

    /** Result of an exchange. */
    record Result(long sent, long received, long bytesReceived) {}

    /**
     * Sends {@code count} packets of stream {@code txSeed} and receives {@code expect} packets of
     * stream {@code rxSeed} at once, checking every byte; gives up after {@code timeoutMillis}.
     */
    static Result exchange(Link link, long count, long expect, long txSeed, long rxSeed, int maxLen,
            long timeoutMillis) throws IOException {
        return exchange(link, count, expect, txSeed, rxSeed, maxLen, timeoutMillis, false, false);
    }

    /**
     * Like {@link #exchange(Link, long, long, long, long, int, long)}; with {@code ip} every
     * packet's first byte is 0x45 (an IPv4 version nibble, for links that carry bare IP), with
     * {@code padded} a received packet may be longer than sent (only the sent bytes are checked).
     */
    static Result exchange(Link link, long count, long expect, long txSeed, long rxSeed, int maxLen, long timeoutMillis,
                           boolean ip, boolean padded) throws IOException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        try (PacketBatch tx = new PacketBatch(64, maxLen + 64);
                PacketBatch rx = new PacketBatch(64, Math.max(maxLen, link.maxReceiveSize()) + 64);
             PollSet ps = new PollSet(1)) {
            ps.add(link.readyFd(), PollfdLayout.POLLIN);
            long sent = 0, received = 0, bytes = 0;
            int idle = 0;
            while (sent < count || received < expect) {
                boolean progress = false;
                if (sent < count) {
                    if (tx.isEmpty()) {
                        for (long k = sent; k < count && !tx.isFull(); k++) {
                            long p = packet(txSeed, k, maxLen);
                            int i = tx.add();
                            int len = (int) p;
                            MemorySegment.copy(REF, p >>> 32, tx.memory(), tx.dataOffset(i), len);
                            if (ip) tx.memory().set(ValueLayout.JAVA_BYTE, tx.dataOffset(i), (byte) 0x45);
                            tx.setLength(i, len);
                        }
                    }
                    int n = link.transmit(tx);
                    if (n > 0) {
                        progress = true;
                        sent += n;
                        tx.removeFirst(n);
                    }
                }
                if (received < expect) {
                    rx.clear();
                    int n = link.receive(rx);
                    for (int i = 0; i < n; i++) {
                        long p = packet(rxSeed, received, maxLen);
                        int len = (int) p;
                        if (padded ? rx.length(i) < len : rx.length(i) != len) {
                            throw new AssertionError(link.name() + ": packet " + received + " has " + rx.length(i)
                                    + " bytes, expected " + len);
                        }
                        int skip = ip ? 1 : 0;
                        if (ip && rx.memory().get(ValueLayout.JAVA_BYTE, rx.dataOffset(i)) != 0x45) {
                            throw new AssertionError(link.name() + ": packet " + received
                                    + " does not start with 0x45");
                        }
                        long mm = MemorySegment.mismatch(rx.memory(), rx.dataOffset(i) + skip, rx.dataOffset(i) + len,
                                REF,
                                (p >>> 32) + skip, (p >>> 32) + len);
                        if (mm >= 0) {
                            throw new AssertionError(link.name() + ": packet " + received + " (" + len
                                    + " bytes) differs at byte " + mm);
                        }
                        received++;
                        bytes += len;
                    }
                    if (n > 0) progress = true;
                }
                if (progress) {
                    idle = 0;
                    continue;
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new AssertionError(link.name() + ": timed out after sent=" + sent + "/" + count + " received="
                            + received + "/" + expect);
                }
                if (++idle < 64) {
                    Thread.onSpinWait();
                } else if (received < expect && link.prepareToWait()) {
                    ps.poll(1); // short: we may also be waiting for TX room, which has no doorbell
                    link.finishWait();
                } else {
                    try {
                        Thread.sleep(0, 50_000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new java.io.InterruptedIOException();
                    }
                }
            }
            return new Result(sent, received, bytes);
        }
    }

    /**
     * After an exchange with a peer process (the Go peer, a second JVM): says done, then checks
     * that the peer exits 0 within a minute and logged {@code "<ok> sent=N received=N"}.
     */
    static void assertPeerDone(ShmLink link, Process peer, java.nio.file.Path log, String ok, long n) throws Exception {
        link.sayDone();
        org.junit.jupiter.api.Assertions.assertTrue(peer.waitFor(60, java.util.concurrent.TimeUnit.SECONDS),
                "peer (" + ok + ") did not finish");
        String out = java.nio.file.Files.readString(log);
        org.junit.jupiter.api.Assertions.assertEquals(0, peer.exitValue(), out);
        org.junit.jupiter.api.Assertions.assertTrue(out.contains(ok + " sent=" + n + " received=" + n), out);
    }
}
