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
    @Test
    @Timeout(value = 280, unit = TimeUnit.SECONDS)
    void vhostNetLinkCarriesKernelTrafficBothWaysWithAndWithoutOffloads() throws Exception {
        QemuGuest.requireAvailable();
        GuestResult r = QemuGuest.builder("vhostnet")
                .shareJdk()
                .shareBuildDir()
                .timeout(Duration.ofSeconds(240))
                .script(QemuGuest.java(VhostNetGuestMain.class.getName(), "selftest", "none", "all"))
                .run();
        r.assertSuccess();
        assertEquals(List.of("none", "all"), r.lines("VHOSTNET-SELFTEST-OK"), r::describeFailure);
        System.out.println("guest run took " + r.elapsed().toMillis() + " ms");
    }
}
