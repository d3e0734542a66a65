package ringlink.memif;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import ringlink.testing.LinkTraffic;
import ringlink.packet.PacketBatch;
import ringlink.vhostuser.Testpmd;

/**
 * Zero copy on our server side ({@link MemifLink#receiveInPlace}): packets lent in the client's
 * buffers, headers copied, buffers returned on release; against our own client (chains, the
 * rules of the API) and DPDK testpmd's client with zero-copy off and on (exact counts). Also the
 * steady state of the copying data path and of the lending one allocates nothing per packet.
 */
class MemifInPlaceTest {
    @TempDir Path tmp;

    private static MemifConfig server(String sock) {
        return MemifConfig.defaults(sock).withServer(true).withTimeout(5000);
    }

    /**
     * Receives in place until {@code n} packets came or the time is up; checks each against the pattern, headers and
     * bytes alike.
     */
    private static long drainInPlace(MemifLink link, MemifInPlaceBatch v, long n, int size, long timeoutMillis,
            AtomicLong corrupt) throws Exception {
        long got = 0, end = System.currentTimeMillis() + timeoutMillis;
        try (PacketBatch copy = new PacketBatch(v.capacity(), 16384)) {
            while (got < n && System.currentTimeMillis() < end) {
                int k = link.receiveInPlace(v);
                if (k == 0) {
                    Thread.sleep(0, 100_000);
                    continue;
                }
                assertEquals(k, v.count());
                copy.clear();
                for (int i = 0; i < k; i++) {
                    if (size > 0 && v.length(i) != size) corrupt.incrementAndGet();
                    // the header copy equals the lent bytes (the honest peer does not change them)
                    int h = v.headerLength(i);
                    var seg = v.segmentMemory(i, 0);
                    int first = Math.min(h, v.segmentLength(i, 0));
                    for (int j = 0; j < first; j++) {
                        if (seg.get(ValueLayout.JAVA_BYTE, v.segmentOffset(i, 0) + j)
                                != v.headers().get(ValueLayout.JAVA_BYTE, v.headerOffset(i) + j)) {
                            corrupt.incrementAndGet();
                            break;
                        }
                    }
                    int j = v.copyTo(i, copy);
                    if (j < 0 || !LinkTraffic.patternOk(copy, j)) corrupt.incrementAndGet();
                }
                link.releaseInPlace(v);
                assertEquals(0, v.count());
                got += k;
            }
        }
        return got;
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void lendsChainsAndReturnsTheBuffers() throws Exception {
        String sock = tmp.resolve("rlmif-ip.sock").toString();
        // 256-slot rings and 512-byte buffers: 1400-byte frames are three pieces each, and 5000
        // frames are many times the ring, so they arrive only if release returns the buffers.
        try (MemifInterface srv = MemifInterface.open(server(sock).withLog2RingSize(8));
             MemifInterface cli =
                     MemifInterface.open(MemifConfig.defaults(sock).withLog2RingSize(8).withBufferSize(512));
             MemifInPlaceBatch v = new MemifInPlaceBatch(32)) {
            assertTrue(cli.awaitConnected(10, TimeUnit.SECONDS),
                    () -> "not connected: " + cli.lastError() + " / " + srv.lastError());
            assertTrue(srv.awaitConnected(10, TimeUnit.SECONDS));
            MemifLink in = srv.link(0);
            for (int size : new int[] {60, 1400}) {
                long n = 5000;
                AtomicLong corrupt = new AtomicLong();
                Thread tx = Thread.ofPlatform().start(() -> {
                    try {
                        LinkTraffic.send(cli.link(0), n, size, 30_000);
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                assertEquals(n, drainInPlace(in, v, n, size, 30_000, corrupt), "size " + size);
                tx.join(10_000);
                assertEquals(0, corrupt.get(), "size " + size);
                if (size == 1400) {
                    // a chain stays three pieces (not copied together)
                    LinkTraffic.send(cli.link(0), 1, size, 5000);
                    long end = System.currentTimeMillis() + 5000;
                    while (in.receiveInPlace(v) == 0 && System.currentTimeMillis() < end) Thread.sleep(1);
                    assertEquals(1, v.count());
                    assertEquals(3, v.segments(0));
                    assertEquals(512 + 512 + 376,
                            v.segmentLength(0, 0) + v.segmentLength(0, 1) + v.segmentLength(0, 2));
                    // while lent: neither receive nor a second lend
                    try (PacketBatch b = new PacketBatch(8, 2048)) {
                        assertThrows(IllegalStateException.class, () -> in.receive(b));
                    }
                    try (MemifInPlaceBatch other = new MemifInPlaceBatch(4)) {
                        assertThrows(IllegalStateException.class, () -> in.receiveInPlace(other));
                    }
                    assertThrows(IllegalStateException.class, () -> in.receiveInPlace(v),
                            "a batch still holding packets");
                    in.releaseInPlace(v);
                    in.releaseInPlace(v); // empty: nothing
                }
            }
            assertEquals(10_001, in.counters().snapshot().rxPackets());
            // the copying receive works again after release
            try (LinkTraffic.Counter rx = new LinkTraffic.Counter(in, true)) {
                assertEquals(100, LinkTraffic.send(cli.link(0), 100, 200, 10_000));
                assertEquals(100, rx.awaitAtLeast(100, 10_000));
                assertEquals(0, rx.corrupt.get());
            }
            // the client role has nothing to lend
            assertThrows(IllegalStateException.class, () -> {
                LinkTraffic.send(srv.link(0), 1, 60, 5000);
                long end = System.currentTimeMillis() + 5000;
                while (System.currentTimeMillis() < end) cli.link(0).receiveInPlace(v);
            });
        }
    }

    /**
     * A client that rewrites a lent frame (the test plays it, writing into the shared buffer)
     * changes the lent bytes but not our header copy, and copyTo takes the header from the copy.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void headersAreOursWhenTheClientRewritesALentFrame() throws Exception {
        String sock = tmp.resolve("rlmif-ipw.sock").toString();
        try (MemifInterface srv = MemifInterface.open(server(sock));
             MemifInterface cli = MemifInterface.open(MemifConfig.defaults(sock));
             MemifInPlaceBatch v = new MemifInPlaceBatch(8, 64, 64);
             PacketBatch copy = new PacketBatch(1, 2048)) {
            assertTrue(cli.awaitConnected(10, TimeUnit.SECONDS),
                    () -> "not connected: " + cli.lastError() + " / " + srv.lastError());
            assertTrue(srv.awaitConnected(10, TimeUnit.SECONDS));
            MemifLink in = srv.link(0);
            assertEquals(1, LinkTraffic.send(cli.link(0), 1, 200, 5000));
            long end = System.currentTimeMillis() + 5000;
            while (in.receiveInPlace(v) == 0 && System.currentTimeMillis() < end) Thread.sleep(1);
            assertEquals(1, v.count());
            assertEquals(64, v.headerLength(0));
            var lentMem = v.segmentMemory(0, 0);
            long at = v.segmentOffset(0, 0);
            lentMem.asSlice(at, 200).fill((byte) 0x66); // the "client" rewrites the whole frame
            for (int j = 0; j < 64; j++) {
                byte want = (byte) (j < 6 ? 0xff : j == 12 ? 0x08 : j == 13 ? 0 : j * 7);
                assertEquals(want, v.headers().get(ValueLayout.JAVA_BYTE, v.headerOffset(0) + j), "header byte " + j);
            }
            int k = v.copyTo(0, copy);
            assertEquals(0, k);
            assertEquals((byte) 0xff, copy.memory().get(ValueLayout.JAVA_BYTE, copy.dataOffset(0)),
                    "header from our copy");
            assertEquals((byte) 0x66, copy.memory().get(ValueLayout.JAVA_BYTE, copy.dataOffset(0) + 100),
                    "payload as it is now");
            in.releaseInPlace(v);
        }
    }

    @ParameterizedTest(name = "zero-copy={0}")
    @CsvSource({"no", "yes"})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void testpmdClientToOurServerInPlaceExact(String zc) throws Exception {
        MemifDpdkTest.requireTestpmd();
        Path sock = tmp.resolve("rlmif-ipd.sock");
        try (MemifInterface mif = MemifInterface.open(MemifConfig.defaults(sock.toString()).withServer(true)
                .withAllowUnsealed(zc.equals("yes")));
             Testpmd pmd = Testpmd.start("rlmifip" + zc,
                     "net_memif0,role=client,id=0,socket=" + sock + ",socket-abstract=no,zero-copy=" + zc
                             + ",bsize=1024",
                     30_000, "--forward-mode=txonly", "--txpkts=1400");
             MemifInPlaceBatch v = new MemifInPlaceBatch(64)) {
            pmd.command("start", 20_000);
            assertTrue(mif.awaitConnected(20, TimeUnit.SECONDS),
                    () -> "not connected: " + mif.lastError() + "\n" + pmd.log());
            MemifLink in = mif.link(0);
            long got = 0, bytes = 0, pieces = 0;
            long end = System.currentTimeMillis() + 1000;
            while (System.currentTimeMillis() < end) {
                int k = in.receiveInPlace(v);
                for (int i = 0; i < k; i++) {
                    bytes += v.length(i);
                    pieces += v.segments(i);
                }
                got += k;
                in.releaseInPlace(v);
            }
            pmd.command("stop", 20_000);
            long sent = pmd.txPackets();
            assertTrue(sent > 0, pmd.log());
            end = System.currentTimeMillis() + 20_000;
            long quietSince = System.currentTimeMillis();
            while (System.currentTimeMillis() < end && (got < sent || System.currentTimeMillis() - quietSince < 300)) {
                int k = in.receiveInPlace(v);
                for (int i = 0; i < k; i++) {
                    bytes += v.length(i);
                    pieces += v.segments(i);
                }
                if (k > 0) quietSince = System.currentTimeMillis();
                got += k;
                in.releaseInPlace(v);
            }
            assertEquals(sent, got, "testpmd TX-packets vs lent to us");
            assertEquals(sent * 1400, bytes);
            // Without zero copy testpmd chains a 1400-byte frame over its 1024-byte buffers; with
            // it each frame is one mbuf (one piece).
            if (zc.equals("no")) assertEquals(2 * sent, pieces);
            else assertEquals(sent, pieces);
            assertEquals(0, in.counters().snapshot().rxDrops());
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    /**
     * The steady state allocates nothing per packet: one thread moves frames client → server and
     * server → client with the copying calls, and client → server in place, 200 000 frames each
     * way after a warm-up, measured by the thread's own allocation counter.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void steadyStateAllocatesNothingPerPacket() throws Exception {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        String sock = tmp.resolve("rlmif-alloc.sock").toString();
        try (MemifInterface srv = MemifInterface.open(server(sock));
             MemifInterface cli = MemifInterface.open(MemifConfig.defaults(sock));
             PacketBatch tx = new PacketBatch(32, 2048); PacketBatch rx = new PacketBatch(64, 2048);
             MemifInPlaceBatch v = new MemifInPlaceBatch(64)) {
            assertTrue(cli.awaitConnected(10, TimeUnit.SECONDS),
                    () -> "not connected: " + cli.lastError() + " / " + srv.lastError());
            assertTrue(srv.awaitConnected(10, TimeUnit.SECONDS));
            MemifLink c = cli.link(0), s = srv.link(0);
            LinkTraffic.frames(tx, 32, 64);
            long[] moved = new long[3];
            Runnable round = () -> {
                try {
                    moved[0] += c.transmit(tx);
                    rx.clear();
                    s.receive(rx);
                    moved[1] += s.transmit(tx);
                    rx.clear();
                    c.receive(rx);
                    moved[2] += c.transmit(tx);
                    s.receiveInPlace(v);
                    s.releaseInPlace(v);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            };
            for (int i = 0; i < 50_000; i++) round.run(); // warm-up (JIT)
            long id = Thread.currentThread().threadId();
            long[] start = moved.clone();
            long before = threads.getThreadAllocatedBytes(id);
            while (moved[0] - start[0] < 200_000 || moved[1] - start[1] < 200_000 || moved[2] - start[2] < 200_000)
                    round.run();
            long allocated = threads.getThreadAllocatedBytes(id) - before;
            assertTrue(allocated < 20_000, "the data path allocated " + allocated + " bytes for 600,000 frames");
            assertEquals(0, c.counters().snapshot().txDrops() + s.counters().snapshot().txDrops()
                    + s.counters().snapshot().rxDrops());
        }
    }
}
