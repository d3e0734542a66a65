package ringlink.testing.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The guest infrastructure itself: boots, runs the host's JDK from 9p, reports exit codes. */
class QemuGuestTest {
    @Test
    @Timeout(value = 200, unit = TimeUnit.SECONDS)
    void guestRunsTheHostJdkAndReportsTheExitCode() throws Exception {
        QemuGuest.requireAvailable();
        GuestResult r = QemuGuest.builder("qemutest")
                .shareJdk()
                .shareBuildDir()
                .timeout(Duration.ofSeconds(150))
                .script("""
                        test -e /dev/vhost-net
                        test -e /dev/net/tun
                        %s -version 2>&1
                        echo GUEST-JAVA-OK
                        %s
                        exit 7
                        """.formatted(QemuGuest.jdkHome().resolve("bin/java"),
                        QemuGuest.java(GuestHello.class.getName(), "hello world")))
                .run();
        assertEquals(7, r.exitCode(), r::describeFailure);
        assertEquals(1, r.lines("GUEST-JAVA-OK").size(), r::describeFailure);
        assertTrue(r.lines("GUEST-HELLO").contains("hello world"), r::describeFailure);
        System.out.println("guest run took " + r.elapsed().toMillis() + " ms");
    }

    /**
     * The shape a vhost-user test uses (memfd-backed shared guest RAM, a virtio-net-pci device
     * with extra QEMU arguments, a plain shell job without Java), here with QEMU's user-mode
     * network as the backend so it needs nothing from the host.
     */
    @Test
    @Timeout(value = 200, unit = TimeUnit.SECONDS)
    void extraQemuArgsGiveTheGuestAVirtioNetDevice() throws Exception {
        QemuGuest.requireAvailable();
        GuestResult r = QemuGuest.builder("qemutest-net")
                .memoryMb(512)
                .qemuArgs("-object", "memory-backend-memfd,id=mem,size=512M,share=on", "-numa", "node,memdev=mem",
                        "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56")
                .timeout(Duration.ofSeconds(150))
                .script("""
                        ip link set eth0 up
                        ip addr add 10.0.2.15/24 dev eth0
                        cat /sys/class/net/eth0/address
                        readlink /sys/class/net/eth0/device/driver
                        ping -c 1 -W 10 10.0.2.2
                        echo GUEST-NET-OK
                        """)
                .run();
        r.assertSuccess();
        assertTrue(r.console().contains("52:54:00:12:34:56"), r::describeFailure);
        assertEquals(1, r.lines("GUEST-NET-OK").size(), r::describeFailure);
    }
}
