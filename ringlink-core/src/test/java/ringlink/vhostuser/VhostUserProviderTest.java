package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.link.Link;
import ringlink.link.Links;

/** The {@code vhost-user:} spec through {@link Links}: a back-end and a front-end opened by name talk. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VhostUserProviderTest {
    /** A directory of its own per test, so runs in parallel (two checkouts, two engineers) never share a socket. */
    @TempDir Path tmp;


    @Test
    void openBothRolesBySpec() throws Exception {
        Path sock = tmp.resolve("rlvu-provider.sock");
        assertTrue(Links.providers().containsKey("vhost-user"));
        try (Link be = Links.open("vhost-user:" + sock + "?role=backend&mode=server&packed=true");
             Link fe = Links.open("vhost-user:" + sock + "?role=frontend&packed=true")) {
            assertTrue(be.isOpen());
            long end = System.currentTimeMillis() + 5000;
            while (!((BackendLink) be).isRunning() && System.currentTimeMillis() < end) Thread.sleep(10);
            VhostUserLoopTest.exchange(fe, be, 1000, 64);
        } finally {
            Files.deleteIfExists(sock);
        }
        assertFalse(Files.exists(sock), "the back-end removes its socket file on close");
    }

    @Test
    void badSpecsSayWhatIsWrong() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Links.open("vhost-user:/tmp/rlvu-x.sock?role=device"));
        assertTrue(e.getMessage().contains("role must be backend or frontend"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Links.open("vhost-user:/tmp/rlvu-x.sock?queuez=2"));
        assertTrue(e.getMessage().contains("unknown parameter"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Links.open("vhost-user:?role=backend"));
        assertTrue(e.getMessage().contains("socket path"), e.getMessage());
    }

    @Test
    void frontendWithoutBackendIsAConnectError() {
        var e = assertThrows(VhostUserException.SocketConnect.class,
                () -> Links.open("vhost-user:/tmp/rlvu-nobody.sock?role=frontend"));
        assertTrue(e.getMessage().contains("rlvu-nobody"), e.getMessage());
    }
}
