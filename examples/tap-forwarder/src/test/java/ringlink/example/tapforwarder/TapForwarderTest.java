package ringlink.example.tapforwarder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;

/**
 * Adoption, as a user sees it: ringlink-core from the local repository is a module that exports
 * its API and hides {@code ringlink.sys}, and this example runs on the module path with
 * {@code --enable-native-access=ringlink.core} and forwards real traffic between two TAPs.
 */
class TapForwarderTest {
    private static final Path JAVA_BIN = Path.of(System.getProperty("java.home"), "bin");
    private static final String CORE_JAR = System.getProperty("ringlink.core.jar");
    private static final String CLASSES = System.getProperty("example.classes");
    /** Kernel objects, unique to this test: "rl" + "exf". */
    private static final String NS_A = "rlexf-a", NS_B = "rlexf-b", TAP_A = "rlexf0", TAP_B = "rlexf1";

    @Test
    @Timeout(120)
    void coreDescribesItsModule() throws Exception {
        String out = run(List.of(JAVA_BIN.resolve("jar").toString(), "--describe-module", "--file", CORE_JAR), 60);
        assertTrue(out.contains("ringlink.core"), out);
        for (String p : List.of("ringlink.link", "ringlink.packet", "ringlink.sw", "ringlink.tun")) {
            assertTrue(out.contains("exports " + p + "\n") || out.contains("exports " + p + "\r"),
                    p + " not exported:\n" + out);
        }
        assertFalse(out.contains("exports ringlink.sys"), "ringlink.sys is exported:\n" + out);
        assertTrue(out.contains("provides ringlink.link.LinkProvider"), out);
    }

    /** A user's module cannot compile against ringlink.sys: the package is not exported. */
    @Test
    @Timeout(120)
    void usingSysDoesNotCompile(@TempDir Path dir) throws Exception {
        Path src = dir.resolve("src");
        Files.createDirectories(src.resolve("bad"));
        Files.writeString(src.resolve("module-info.java"), "module bad { requires ringlink.core; }\n");
        Files.writeString(src.resolve("bad/Bad.java"),
                "package bad;\npublic class Bad { ringlink.sys.Fd fd; ringlink.link.Link link; }\n");
        Process p = new ProcessBuilder(JAVA_BIN.resolve("javac").toString(), "--module-path", CORE_JAR,
                "-d", dir.resolve("out").toString(), src.resolve("module-info.java").toString(),
                        src.resolve("bad/Bad.java").toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertNotEquals(0, p.exitValue(), "compiled against ringlink.sys:\n" + out);
        assertTrue(out.contains("ringlink.sys") && out.contains("does not export"), out);
        assertTrue(out.contains("1 error"),
                "only the use of ringlink.sys may fail (ringlink.link is exported):\n" + out);
    }

    @Test
    @Timeout(180)
    void forwardsBetweenTwoTapsOnTheModulePath() throws Exception {
        requireRoot();
        cleanup();
        Process fwd = null;
        Path log = Path.of(System.getProperty("example.buildDir", "target"), "tap-forwarder.log");
        try {
            fwd = new ProcessBuilder(JAVA_BIN.resolve("java").toString(),
                    "--enable-native-access=ringlink.core", "--illegal-native-access=deny",
                    "--module-path", CORE_JAR + ":" + CLASSES,
                    "-m", "ringlink.example.tapforwarder/ringlink.example.tapforwarder.TapForwarder",
                    "tap:" + TAP_A, "tap:" + TAP_B, "120")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(log).contains("forwarding")) {
                if (!fwd.isAlive()) fail("the forwarder exited:\n" + Files.readString(log));
                if (System.nanoTime() - until > 0)
                        fail("the forwarder did not start in 60 s:\n" + Files.readString(log));
                Thread.sleep(100);
            }
            // The TAPs stay attached to the forwarder's descriptors when they move to a namespace.
            sh("ip", "netns", "add", NS_A);
            sh("ip", "netns", "add", NS_B);
            sh("ip", "link", "set", TAP_A, "netns", NS_A);
            sh("ip", "link", "set", TAP_B, "netns", NS_B);
            sh("ip", "-n", NS_A, "addr", "add", "10.213.7.1/24", "dev", TAP_A);
            sh("ip", "-n", NS_B, "addr", "add", "10.213.7.2/24", "dev", TAP_B);
            sh("ip", "-n", NS_A, "link", "set", TAP_A, "up");
            sh("ip", "-n", NS_B, "link", "set", TAP_B, "up");
            String ping = run(
                    List.of("ip", "netns", "exec", NS_A, "ping", "-c", "3", "-i", "0.2", "-W", "5", "10.213.7.2"), 60);
            assertTrue(ping.contains(" 0% packet loss"), ping);
        } finally {
            if (fwd != null) {
                fwd.destroy();
                if (!fwd.waitFor(20, TimeUnit.SECONDS)) fwd.destroyForcibly();
            }
            cleanup();
        }
        assertFalse(Files.readString(log).contains("Exception"), Files.readString(log));
    }

    private static void requireRoot() throws Exception {
        boolean root = run(List.of("id", "-u"), 10).strip().equals("0") && Files.exists(Path.of("/dev/net/tun"));
        if (root) return;
        String what = "root and /dev/net/tun (creates TAP devices and network namespaces)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail("requirement missing (CI=true): " + what);
        throw new TestAbortedException("skipped: needs " + what);
    }

    private static void cleanup() {
        for (String ns : List.of(NS_A, NS_B)) {
            try {
                new ProcessBuilder("ip", "netns", "del", ns).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(10, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException ignored) {
                // best effort: it may not exist
            }
        }
    }

    private static void sh(String... cmd) throws Exception {
        run(List.of(cmd), 30);
    }

    /** Runs {@code cmd}, returns its output; fails the test if it exits non-zero or hangs. */
    private static String run(List<String> cmd, int seconds) throws Exception {
        Process p = new ProcessBuilder(new ArrayList<>(cmd)).redirectErrorStream(true).start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(cmd + " did not finish in " + seconds + " s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), cmd + ":\n" + out);
        return out;
    }
}
