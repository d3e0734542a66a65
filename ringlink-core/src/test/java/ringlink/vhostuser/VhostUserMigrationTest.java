package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.testing.qemu.QemuGuest;
import ringlink.testing.qemu.Qmp;
import ringlink.virtio.VirtioFeature;

/**
 * Live migration of a QEMU (TCG) guest whose virtio-net is our back-end: the source QEMU runs on
 * back-end A, the destination (same command line plus {@code -incoming}) on back-end B. The guest
 * pings our Responder throughout; after QMP {@code migrate} completes, its pings are answered
 * through B, and A must have received the dirty log (SET_LOG_BASE, VHOST_F_LOG_ALL) and marked
 * pages in it while the migration ran. Without our logging QEMU refuses to migrate at all
 * ("vhost lacks VHOST_F_LOG_ALL").
 */
class VhostUserMigrationTest {
    @TempDir Path tmp;

    static final byte[] OUR_MAC = VhostUserQemuTest.OUR_MAC;
    static final int OUR_IP = VhostUserQemuTest.OUR_IP;

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(value = 420, unit = TimeUnit.SECONDS)
    void guestMigratesBetweenBackends(boolean packed) throws Exception {
        QemuGuest.requireAvailable();
        Path sockA = tmp.resolve("rlvl-a.sock"), sockB = tmp.resolve("rlvl-b.sock");
        Path qmpA = tmp.resolve("rlvl-qmp-a.sock"), qmpB = tmp.resolve("rlvl-qmp-b.sock");
        Path mig = tmp.resolve("rlvl-mig.sock");
        try (VhostUserBackend a = VhostUserBackend.listen(sockA, BackendConfig.defaults());
             VhostUserBackend b = VhostUserBackend.listen(sockB, BackendConfig.defaults());
             Responder ra = new Responder(a.link(0), OUR_MAC, OUR_IP);
             Responder rb = new Responder(b.link(0), OUR_MAC, OUR_IP)) {
            QemuGuest.Builder g = QemuGuest.builder("rlvl-migrate-" + (packed ? "packed" : "split"))
                    .memoryMb(256).cpus(1)
                    .qemuArgs("-chardev", "socket,id=c0,path=" + sockA,
                            "-netdev", "vhost-user,id=n0,chardev=c0",
                            "-device", "virtio-net-pci,netdev=n0,vectors=0,mac=52:54:00:12:34:58"
                                    + (packed ? ",packed=on" : ""),
                            "-object", "memory-backend-memfd,id=mem,size=256M,share=on",
                            "-numa", "node,memdev=mem",
                            "-qmp", "unix:" + qmpA + ",server=on,wait=off")
                    // The guest pings for as long as it lives; the test ends it by killing QEMU.
                    .script("""
                            IF=$(ls /sys/class/net | grep -v lo | head -1)
                            ip link set $IF up
                            ip addr add 10.77.0.2/24 dev $IF
                            echo "RESULT up"
                            while true; do ping -i 0.2 -c 1000 10.77.0.1 >/dev/null || true; done
                            """);
            try (QemuGuest.Running src = g.start()) {
                assertTrue(src.awaitConsole("RESULT up", Duration.ofSeconds(200)),
                        "source guest did not come up:\n" + src.console() + src.qemuOutput());
                long end = System.currentTimeMillis() + 60_000;
                while (ra.echoReplies.get() < 5 && System.currentTimeMillis() < end) Thread.sleep(50);
                assertTrue(ra.echoReplies.get() >= 5, "back-end A answered " + ra.echoReplies.get() + " pings");

                try (QemuGuest.Running dst = src.startCopy("dst", s -> s.replace(sockA.toString(), sockB.toString())
                        .replace(qmpA.toString(), qmpB.toString()), "-incoming", "unix:" + mig);
                     Qmp qa = Qmp.connect(qmpA, Duration.ofSeconds(30));
                     Qmp qb = Qmp.connect(qmpB, Duration.ofSeconds(30))) {
                    assertTrue(b.awaitConnection(30_000),
                            "destination QEMU never connected to back-end B:\n" + dst.qemuOutput());
                    assertTrue(qb.execute("{\"execute\":\"query-status\"}").contains("inmigrate"));
                    long repliesBefore = ra.echoReplies.get();
                    qa.execute("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:" + mig + "\"}}");
                    String status = "";
                    Pattern st = Pattern.compile("\"status\":\\s*\"([a-z-]+)\"");
                    long mEnd = System.currentTimeMillis() + 180_000;
                    while (System.currentTimeMillis() < mEnd) {
                        String r = qa.execute("{\"execute\":\"query-migrate\"}");
                        Matcher m = st.matcher(r);
                        status = m.find() ? m.group(1) : r;
                        if (status.equals("completed") || status.equals("failed") || status.equals("cancelled")) break;
                        Thread.sleep(200);
                    }
                    assertEquals("completed", status,
                            "migration did not complete: " + status + "\nsource: " + src.qemuOutput()
                            + "\ndestination: " + dst.qemuOutput());
                    long repliesDuring = ra.echoReplies.get() - repliesBefore;

                    // A: the log was set up and the pages it wrote while migrating were marked.
                    assertTrue(a.logBases() >= 1, "back-end A never got SET_LOG_BASE");
                    assertTrue(a.lastNegotiated().has(VirtioFeature.VHOST_LOG_ALL),
                            "QEMU did not ack VHOST_F_LOG_ALL on A");
                    DirtyLog log = a.lastLog();
                    assertNotNull(log);
                    assertTrue(log.marked() > 0, "back-end A marked no page");
                    assertEquals(0, log.dropped(), "pages beyond QEMU's log");
                    assertNull(a.lastError(), "back-end A: " + a.lastError());

                    // B: the migrated guest keeps pinging, now answered through B.
                    long bEnd = System.currentTimeMillis() + 90_000;
                    while (rb.echoReplies.get() < 5 && System.currentTimeMillis() < bEnd) Thread.sleep(50);
                    assertTrue(rb.echoReplies.get() >= 5, "back-end B answered " + rb.echoReplies.get()
                            + " pings after migration (A answered " + repliesDuring + " while migrating)\n"
                            + "destination console:\n" + dst.console() + "\ndestination QEMU:\n" + dst.qemuOutput());
                    assertTrue(qb.execute("{\"execute\":\"query-status\"}").contains("\"running\""));
                    assertNull(ra.error);
                    assertNull(rb.error);
                    assertNull(b.lastError(), "back-end B: " + b.lastError());
                    assertEquals(packed, b.lastNegotiated().has(VirtioFeature.RING_PACKED));
                    System.out.println("migration (packed=" + packed + "): A answered " + repliesDuring
                            + " pings while migrating, marked "
                            + log.marked() + " pages; B answered " + rb.echoReplies.get());
                }
            }
        }
    }
}
