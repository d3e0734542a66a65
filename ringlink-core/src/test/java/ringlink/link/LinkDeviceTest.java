package ringlink.link;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link LinkDevice} and {@link Links#openDevice}: one queue for plain specs, all queues for multi-queue ones. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LinkDeviceTest {
    @TempDir Path tmp;

    @Test
    void aPlainSpecIsADeviceOfOneQueue() throws Exception {
        LinkDevice d = Links.openDevice("pair:rlld-one");
        try {
            assertEquals(1, d.queueCount());
            assertEquals(d.queue(0).name(), d.name());
            assertTrue(d.transmitEnabled(0));
            assertThrows(IndexOutOfBoundsException.class, () -> d.queue(1));
        } finally {
            d.close();
        }
        assertFalse(d.queue(0).isOpen(), "closing the device closes its link");
    }

    @Test
    void aDeviceOfSeveralLinksClosesThemAll() throws Exception {
        PairLink[] a = PairLink.create("rlld-a"), b = PairLink.create("rlld-b");
        try {
            LinkDevice d = LinkDevice.of("dev", List.of(a[0], b[0]));
            assertEquals(2, d.queueCount());
            assertSame(b[0], d.queue(1));
            d.close();
            assertFalse(a[0].isOpen());
            assertFalse(b[0].isOpen());
            assertThrows(IllegalArgumentException.class, () -> LinkDevice.of("none", List.of()));
        } finally {
            a[1].free();
            b[1].free();
        }
    }

    @Test
    void vhostUserWithTwoQueuePairsIsOneDeviceOfTwoQueues() throws Exception {
        Path sock = tmp.resolve("rlld.sock");
        LinkDevice d = Links.openDevice("vhost-user:" + sock + "?queues=2");
        try {
            assertEquals(2, d.queueCount());
            assertNotSame(d.queue(0), d.queue(1));
            assertTrue(d.name().contains("queues=2"), d.name());
            // No front-end yet: no queue takes packets.
            assertFalse(d.transmitEnabled(0));
            assertFalse(d.transmitEnabled(1));
            assertTrue(Files.exists(sock));
        } finally {
            d.close();
        }
        assertFalse(d.queue(1).isOpen());
        assertFalse(Files.exists(sock), "closing the device closed the back-end");
    }

    @Test
    void tapQueuesIsForDevicesOnly() {
        // Refused before any kernel object is made (no root needed).
        var e = assertThrows(IllegalArgumentException.class, () -> Links.open("tap:rlld-t0?queues=2"));
        assertTrue(e.getMessage().contains("openDevice"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Links.openDevice("tap:rlld-t0?queues=0"));
        assertTrue(e.getMessage().contains("queues"), e.getMessage());
    }
}
