package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.sys.Mapping;

/** INFLIGHT_SHMFD: the split queue region's bookkeeping, recovery rules, and a restart with the buffer handed over. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserInflightTest {
    static final ValueLayout.OfShort U16 = Inflight.U16;

    @Test
    void recoveryFollowsTheSpec() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            int num = 8;
            MemorySegment r = a.allocate(Inflight.regionSize(num, false));
            // Fresh region: initialised, nothing pending.
            assertEquals(0, Inflight.recover(r, num, 5));
            assertEquals(1, r.get(U16, Inflight.OFF_VERSION));
            assertEquals(num, r.get(U16, Inflight.OFF_DESC_NUM));
            assertEquals(5, r.get(U16, Inflight.OFF_USED_IDX));
            // Take 3 chains, complete 2 of them and publish.
            Inflight.taken(r, 4, 1);
            Inflight.taken(r, 6, 2);
            Inflight.taken(r, 1, 3);
            Inflight.used(r, 4);
            Inflight.used(r, 6);
            Inflight.published(r, new int[] {4, 6}, 2, 7);
            assertEquals(1, Inflight.recover(r, num, 7), "chain 1 is still in flight");
            assertEquals(3, Inflight.maxCounter(r, num));
            // A crash after used.idx moved but before the region was updated: the last batch is cleared.
            Inflight.used(r, 1);
            assertEquals(0, Inflight.recover(r, num, 8));
            assertEquals(8, r.get(U16, Inflight.OFF_USED_IDX));
            // A lying region: batch longer than the ring, or a list pointing outside it.
            r.set(U16, Inflight.OFF_USED_IDX, (short) 0);
            assertThrows(VhostUserException.InvalidParam.class, () -> Inflight.recover(r, num, 100));
            r.set(U16, Inflight.OFF_LAST_BATCH_HEAD, (short) 200);
            assertThrows(VhostUserException.InvalidParam.class, () -> Inflight.recover(r, num, 3));
            r.set(U16, Inflight.OFF_DESC_NUM, (short) 16);
            assertThrows(VhostUserException.InvalidParam.class, () -> Inflight.recover(r, num, 0));
        }
    }

    @Test
    void bufferIsKeptUpToDateAndHandedToTheNextBackend() throws Exception {
        Path sock = Path.of("/tmp/rlvu-inflight.sock");
        VhostUserBackend be1 = VhostUserBackend.listen(sock, BackendConfig.defaults());
        try (VhostUserFrontend fe = VhostUserFrontend.connectReconnecting(sock, FrontendConfig.defaults().withInflight(true))) {
            assertTrue(be1.awaitReady(1, 5000), () -> "not ready: " + be1.lastError());
            assertNotNull(fe.inflightFd());
            VhostUserLoopTest.exchange(fe.link(0), be1.link(0), 1000, 64);
            try (Mapping m = Mapping.map(fe.inflightFd(), fe.inflightSize(), Mapping.PROT_READ | Mapping.PROT_WRITE,
                    Mapping.MAP_SHARED, 0, "test view of inflight")) {
                long rs = Inflight.regionSize(256, false);
                for (int q = 0; q < 2; q++) {
                    MemorySegment r = m.segment().asSlice(q * rs, rs);
                    assertEquals(1, r.get(U16, Inflight.OFF_VERSION));
                    assertEquals(256, r.get(U16, Inflight.OFF_DESC_NUM));
                    assertEquals(1000 & 0xffff, r.get(U16, Inflight.OFF_USED_IDX), "queue " + q + " used_idx");
                    assertTrue(Inflight.maxCounter(r, 256) >= 1000, "counters advance");
                }
                // Nothing of the TX queue is in flight between batches.
                assertEquals(0, Inflight.recover(m.segment().asSlice(rs, rs), 256, 1000));
            }
            be1.close();
            assertEquals(50, Traffic.send(fe.link(0), 50, 64, 5000));
            try (VhostUserBackend be2 = VhostUserBackend.listen(sock, BackendConfig.defaults())) {
                long end = System.currentTimeMillis() + 10_000;
                while (fe.sessions() < 2 && System.currentTimeMillis() < end) Thread.sleep(10);
                assertTrue(be2.awaitReady(1, 5000), () -> "not restarted: " + be2.lastError());
                try (Traffic.Counter rx = new Traffic.Counter(be2.link(0))) {
                    assertEquals(50, rx.awaitAtLeast(50, 5000));
                    assertEquals(50, rx.awaitQuiet(200, 2000));
                }
                VhostUserLoopTest.exchange(fe.link(0), be2.link(0), 500, 64);
            }
        } finally {
            be1.close();
            Files.deleteIfExists(sock);
        }
    }
}
