package ringlink.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.testing.qemu.GuestResult;
import ringlink.testing.qemu.QemuGuest;

/**
 * The vhost-net link against the real kernel vhost-net and TAP, inside a QEMU guest running
 * Debian's kernel (the host kernel has no vhost-net): see {@link VhostNetGuestMain} for what the
 * guest does. Any failing step fails this test with the guest console attached.
 */
class VhostNetGuestTest {
    /**
     * Without offloads; with every offload (TSO superpackets flow); and the fallbacks: no
     * mergeable buffers (64 KiB receive buffers), no event index, no indirect tables, small
     * queues, bridged with one thread per direction (each link's receive and transmit concurrent);
     * and zero copy: each direction receives into the destination link's zero-copy transmit
     * batches, which the kernel then reads in place (TSO superpackets included).
     */
    static final List<String> CONFIGS = List.of("offload=none", "offload=all",
            "2threads:offload=tso&mrg-rxbuf=off&event-idx=off&indirect=off&queue-size=64", "zerocopy:offload=all");

    @Test
    @Timeout(value = 280, unit = TimeUnit.SECONDS)
    void vhostNetLinkCarriesKernelTrafficBothWaysWithAndWithoutOffloads() throws Exception {
        QemuGuest.requireAvailable();
        GuestResult r = QemuGuest.builder("vhostnet")
                .shareJdk()
                .shareBuildDir()
                .timeout(Duration.ofSeconds(240))
                .script(QemuGuest.java(VhostNetGuestMain.class.getName(),
                        java.util.stream.Stream.concat(java.util.stream.Stream.of("selftest"), CONFIGS.stream())
                                .toArray(String[]::new)))
                .run();
        r.assertSuccess();
        assertEquals(CONFIGS, r.lines("VHOSTNET-SELFTEST-OK"), r::describeFailure);
        System.out.println("guest run took " + r.elapsed().toMillis() + " ms");
    }
}
