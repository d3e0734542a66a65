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
}
