package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.testing.qemu.GuestResult;
import ringlink.testing.qemu.QemuGuest;

/**
 * A Linux guest (Debian's kernel, busybox) under QEMU TCG whose virtio-net device is our
 * back-end: its interface comes up and pings an address our side answers (ARP + ICMP echo).
 */
class VhostUserQemuTest {
    /** A directory of its own per test, so runs in parallel (two checkouts, two engineers) never share a socket. */
    @TempDir Path tmp;

    static final byte[] OUR_MAC = {0x02, 0x52, 0x4c, 0x56, 0x55, (byte) 0xfe};
    static final int OUR_IP = (10 << 24) | (77 << 16) | 1;  // 10.77.0.1

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void guestPingsOurBackend(boolean packed) throws Exception {
        QemuGuest.requireAvailable();
        Path sock = tmp.resolve("rlvu-qemu-" + (packed ? "p" : "s") + ".sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults());
             Responder r = new Responder(be.link(0), OUR_MAC, OUR_IP)) {
            GuestResult res = QemuGuest.builder("rlvu-qemu-" + (packed ? "packed" : "split"))
                    .memoryMb(512)
                    .qemuArgs("-chardev", "socket,id=c0,path=" + sock,
                            "-netdev", "vhost-user,id=n0,chardev=c0",
                            "-device", "virtio-net-pci,netdev=n0,vectors=0,mac=52:54:00:12:34:56"
                                    + (packed ? ",packed=on" : ""),
                            "-object", "memory-backend-memfd,id=mem,size=512M,share=on",
                            "-numa", "node,memdev=mem")
                    .script("""
                            IF=$(ls /sys/class/net | grep -v lo | head -1)
                            echo "RESULT if=$IF"
                            ip link set $IF up
                            ip addr add 10.77.0.2/24 dev $IF
                            ping -c 3 -W 5 10.77.0.1
                            echo "RESULT ping-ok"
                            """)
                    .timeout(Duration.ofSeconds(200))
                    .run();
            res.assertSuccess();
            assertTrue(res.lines("RESULT ").contains("ping-ok"), res.describeFailure());
            assertTrue(r.arpReplies.get() >= 1, "no ARP request answered");
            assertTrue(r.echoReplies.get() >= 3, "echo replies: " + r.echoReplies.get());
            assertNull(r.error);
            assertEquals(packed, be.lastNegotiated().has(ringlink.virtio.VirtioFeature.RING_PACKED));
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    /**
     * QEMU listens (server=on), our back-end connects; after the guest's first pings the back-end
     * is closed and a new one connects: QEMU re-runs the vhost setup, resuming the rings, and the
     * guest's pings are answered again.
     */
    @org.junit.jupiter.api.Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void backendRestartsWhileGuestRuns() throws Exception {
        QemuGuest.requireAvailable();
        Path sock = tmp.resolve("rlvu-qemu-r.sock");
        Files.deleteIfExists(sock);
        java.util.concurrent.atomic.AtomicReference<VhostUserBackend> second =
                new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicReference<Responder> secondResponder =
                new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicReference<Throwable> restartError =
                new java.util.concurrent.atomic.AtomicReference<>();
        VhostUserBackend first = VhostUserBackend.connect(sock, BackendConfig.defaults());
        Responder r1 = new Responder(first.link(0), OUR_MAC, OUR_IP);
        Thread restarter = new Thread(() -> {
            try {
                long end = System.currentTimeMillis() + 200_000;
                while (r1.echoReplies.get() < 3 && System.currentTimeMillis() < end) Thread.sleep(20);
                r1.close();
                first.close();
                VhostUserBackend be2 = VhostUserBackend.connect(sock, BackendConfig.defaults());
                second.set(be2);
                secondResponder.set(new Responder(be2.link(0), OUR_MAC, OUR_IP));
            } catch (Throwable t) {
                restartError.set(t);
            }
        }, "rlvu-restarter");
        restarter.setDaemon(true);
        restarter.start();
        try {
            GuestResult res = QemuGuest.builder("rlvu-qemu-reconnect")
                    .memoryMb(512)
                    .qemuArgs("-chardev", "socket,id=c0,path=" + sock + ",server=on",
                            "-netdev", "vhost-user,id=n0,chardev=c0",
                            "-device", "virtio-net-pci,netdev=n0,vectors=0,mac=52:54:00:12:34:57",
                            "-object", "memory-backend-memfd,id=mem,size=512M,share=on",
                            "-numa", "node,memdev=mem")
                    .script("""
                            IF=$(ls /sys/class/net | grep -v lo | head -1)
                            ip link set $IF up
                            ip addr add 10.77.0.2/24 dev $IF
                            ping -c 3 -W 5 10.77.0.1
                            echo "RESULT first-ok"
                            sleep 2
                            ok=0
                            for i in $(seq 1 60); do
                              if ping -c 1 -W 1 10.77.0.1 >/dev/null; then ok=1; break; fi
                            done
                            [ $ok = 1 ]
                            ping -c 3 -W 5 10.77.0.1
                            echo "RESULT second-ok"
                            """)
                    .timeout(Duration.ofSeconds(240))
                    .run();
            res.assertSuccess();
            assertNull(restartError.get());
            assertTrue(res.lines("RESULT ").contains("second-ok"), res.describeFailure());
            assertTrue(secondResponder.get().echoReplies.get() >= 3, "the restarted back-end answered no pings");
            assertEquals(1, second.get().sessions());
        } finally {
            restarter.interrupt();
            r1.close();
            first.close();
            if (secondResponder.get() != null) secondResponder.get().close();
            if (second.get() != null) second.get().close();
            Files.deleteIfExists(sock);
        }
    }
}
