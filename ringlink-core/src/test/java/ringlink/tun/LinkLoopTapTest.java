package ringlink.tun;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.IdleStrategy;
import ringlink.link.Link;
import ringlink.link.LinkLoop;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;
import ringlink.testing.Env;

/**
 * {@link LinkLoop} and {@link Link#awaitReadable} on real TAP devices in network namespaces, and
 * the examples: every {@code examples/} module compiles against the library without
 * {@code ringlink.sys}, and the tap-tap-loop example forwards a ping end to end.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LinkLoopTapTest {
    static final String NS_A = "rlllt-a", NS_B = "rlllt-b", TAP_A = "rlllt-a0", TAP_B = "rlllt-b0";

    /**
     * The source tree's root (README.md, examples/): the project directory in the single-module
     * build, its parent when the library is a module of a multi-module build.
     */
    private static Path root() {
        for (Path d = Env.projectDir().normalize(); d != null; d = d.getParent()) {
            if (Files.isDirectory(d.resolve("examples")) && Files.isRegularFile(d.resolve("README.md"))) return d;
        }
        throw new AssertionError("no examples/ above " + Env.projectDir());
    }

    private static void cleanup() {
        Env.runQuiet(10, "ip", "netns", "del", NS_A);
        Env.runQuiet(10, "ip", "netns", "del", NS_B);
        Env.runQuiet(10, "ip", "link", "del", TAP_A);
        Env.runQuiet(10, "ip", "link", "del", TAP_B);
    }

    /** Receives until the link stays quiet for 300 ms (IPv6 chatter after a link comes up), at most 10 s. */
    private static void drain(Link l, PacketBatch b) throws IOException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            b.clear();
            if (l.receive(b) > 0) continue;
            if (!l.awaitReadable(Duration.ofMillis(300))) return;
        }
        fail("the TAP never went quiet");
    }

    @Test
    void awaitReadableAndTheLoopOnATapInANamespace() throws Exception {
        Env.requireTun();
        Env.requireNetns();
        Env.requireProgram("ping", "iputils-ping");
        cleanup();
        try (Link tap = Links.open("tap:" + TAP_A + "?up=false");
             Netns ns = Netns.create(NS_A);
             PacketBatch b = new PacketBatch(64, tap.maxReceiveSize() + PacketBatch.DEFAULT_HEADROOM)) {
            // IPv4 only: no IPv6 chatter (MLD, router solicitations) to wake the waits below
            Env.run(10, "ip", "link", "set", TAP_A, "netns", NS_A);
            ns.exec(10, "sysctl", "-q", "-w", "net.ipv6.conf." + TAP_A + ".disable_ipv6=1");
            ns.ip("addr", "add", "10.78.0.1/24", "dev", TAP_A);
            ns.ip("link", "set", TAP_A, "up");
            drain(tap, b);
            boolean timedOut = false;
            for (int attempt = 0; attempt < 5 && !timedOut; attempt++) {
                long t0 = System.nanoTime();
                if (tap.awaitReadable(Duration.ofMillis(200))) {
                    b.clear();
                    assertTrue(tap.receive(b) > 0, "woken with nothing to receive");
                    continue; // a late packet of the kernel's: wait again
                }
                assertTrue(System.nanoTime() - t0 >= 150_000_000L, "returned before the timeout");
                timedOut = true;
            }
            assertTrue(timedOut, "nothing sent: the wait times out");
            assertTrue(tap.awaitWritable(Duration.ofSeconds(5)), "an idle TAP has room");

            // A ping to an address nobody has: the kernel sends ARP requests out of the TAP.
            Process ping = new ProcessBuilder(ns.prefixed("ping", "-c", "20", "-i", "0.2", "10.78.0.2"))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                assertTrue(tap.awaitReadable(Duration.ofSeconds(20)), "woken by the ARP request");
                b.clear();
                assertTrue(tap.receive(b) > 0, "and the packet is there");

                AtomicLong arps = new AtomicLong();
                try (LinkLoop loop =
                        LinkLoop.builder().name("rl-lltap").idleStrategy(IdleStrategy.sleeping()).build()) {
                    loop.register(tap, (l, batch) -> {
                        for (int i = 0; i < batch.count(); i++) {
                            long off = batch.dataOffset(i);
                            if (batch.length(i) >= 14
                                    && batch.memory().get(java.lang.foreign.ValueLayout.JAVA_BYTE, off + 12) == 0x08
                                    && batch.memory().get(java.lang.foreign.ValueLayout.JAVA_BYTE, off + 13)
                                            == 0x06) arps.incrementAndGet();
                        }
                    }).added().get(10, TimeUnit.SECONDS);
                    long deadline = System.nanoTime() + 30_000_000_000L;
                    while (arps.get() < 2 && System.nanoTime() < deadline) Thread.sleep(10);
                    assertTrue(arps.get() >= 2, "the sleeping loop was woken by the TAP's ARP requests: " + arps.get());
                }
            } finally {
                ping.destroyForcibly();
            }
        } finally {
            cleanup();
        }
    }

    /** Compiles {@code examples/<name>/src/main/java} against the library; returns the class directory. */
    private static Path compileExample(String name, Path out) throws IOException {
        Path src = root().resolve("examples").resolve(name).resolve("src/main/java");
        List<String> args = new ArrayList<>(List.of("-d", out.toString(), "-cp", System.getProperty("java.class.path"),
                "--release", "25", "-Xlint:all", "-Werror"));
        try (Stream<Path> s = Files.walk(src)) {
            // module-info.java left out: compiled here on the class path, the module is the jar's
            for (Path p : s.filter(p -> p.toString().endsWith(".java") && !p.endsWith("module-info.java")).toList()) {
                String text = Files.readString(p);
                assertFalse(text.contains("ringlink.sys"), p + " uses ringlink.sys, which is not exported");
                args.add(p.toString());
            }
        }
        ToolProvider javac =
                ToolProvider.findFirst("javac").orElseThrow(() -> new AssertionError("no javac in this JDK"));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(new PrintStream(err), new PrintStream(err), args.toArray(String[]::new));
        assertEquals(0, rc, () -> "examples/" + name + " does not compile:\n" + err);
        return out;
    }

    @Test
    void everyExampleCompilesAgainstThePublicPackages() throws Exception {
        Path tmp = Files.createTempDirectory("rl-examples");
        try (Stream<Path> modules = Files.list(root().resolve("examples"))) {
            List<Path> dirs = modules.filter(d -> Files.isDirectory(d.resolve("src/main/java"))).sorted().toList();
            assertTrue(dirs.size() >= 5, "examples: " + dirs);
            for (Path d : dirs) {
                assertTrue(Files.isRegularFile(d.resolve("pom.xml")), d + " has no pom.xml");
                assertTrue(Files.isRegularFile(d.resolve("README.md")), d + " has no README.md");
                String pom = Files.readString(d.resolve("pom.xml"));
                assertTrue(pom.contains("<artifactId>ringlink-examples</artifactId>"),
                        d + ": parent must be ringlink-examples");
                assertTrue(pom.contains("<artifactId>ringlink-core</artifactId>"),
                        d + ": must depend on ringlink-core by its coordinates");
                compileExample(d.getFileName().toString(), tmp.resolve(d.getFileName().toString()));
            }
        } finally {
            try (Stream<Path> s = Files.walk(tmp)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void theReadmeUsingTheLibraryExamplesCompileWithoutRingLinkSys() throws Exception {
        String readme = Files.readString(root().resolve("README.md"));
        int from = readme.indexOf("## Using the library");
        assertTrue(from >= 0, "README has a Using the library section");
        int to = readme.indexOf("\n## ", from + 5);
        String section = readme.substring(from, to < 0 ? readme.length() : to);
        java.util.regex.Matcher m =
                java.util.regex.Pattern.compile("```java\n(.*?)```", java.util.regex.Pattern.DOTALL).matcher(section);
        Path dir = Files.createTempDirectory("rl-readme");
        List<String> args = new ArrayList<>(List.of("-d", dir.resolve("classes").toString(), "-cp",
                System.getProperty("java.class.path"), "--release", "25"));
        int n = 0;
        while (m.find()) {
            String code = m.group(1);
            assertFalse(code.contains("ringlink.sys"), "a README example uses ringlink.sys:\n" + code);
            java.util.regex.Matcher cls = java.util.regex.Pattern.compile("public class (\\w+)").matcher(code);
            assertTrue(cls.find(), "a README example without a public class:\n" + code);
            Path f = dir.resolve(cls.group(1) + ".java");
            Files.writeString(f, code);
            args.add(f.toString());
            n++;
        }
        assertTrue(n >= 2, "README examples found: " + n);
        ToolProvider javac = ToolProvider.findFirst("javac").orElseThrow();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(new PrintStream(err), new PrintStream(err), args.toArray(String[]::new));
        assertEquals(0, rc, () -> "README examples do not compile:\n" + err);
    }

    @Test
    void theTapTapLoopExampleForwardsAPing() throws Exception {
        Env.requireTun();
        Env.requireNetns();
        Env.requireProgram("ping", "iputils-ping");
        cleanup();
        Path classes = compileExample("tap-tap-loop", Files.createTempDirectory("rl-taptap"));
        Netns a = null, b = null;
        try (URLClassLoader cl = new URLClassLoader(new URL[] {classes.toUri().toURL()}, getClass().getClassLoader())) {
            Class<?> c = cl.loadClass("dev.ringlink.examples.taptaploop.TapTapLoop");
            Method start = c.getMethod("start", String.class, String.class);
            try (AutoCloseable fwd = (AutoCloseable) start.invoke(null, "tap:" + TAP_A + "?up=false&offload=tso,uso",
                    "tap:" + TAP_B + "?up=false&offload=tso,uso")) {
                a = Netns.create(NS_A);
                b = Netns.create(NS_B);
                a.adopt(TAP_A, "10.78.1.1/24", "fd78:1::1/64");
                b.adopt(TAP_B, "10.78.1.2/24", "fd78:1::2/64");
                String out = a.exec(40, "ping", "-c", "3", "-i", "0.2", "-W", "3", "10.78.1.2");
                assertTrue(out.contains(" 0% packet loss"), out);
                out = b.exec(40, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "3", "fd78:1::1");
                assertTrue(out.contains(" 0% packet loss"), out);
                // 8000-byte pings: IP fragments, several frames per echo, each way
                out = a.exec(40, "ping", "-c", "2", "-s", "8000", "-W", "3", "10.78.1.2");
                assertTrue(out.contains(" 0% packet loss"), out);
                String stats = (String) c.getMethod("stats").invoke(fwd);
                System.out.println("tap-tap-loop: " + stats);
            }
        } finally {
            if (a != null) a.close();
            if (b != null) b.close();
            cleanup();
        }
    }
}
