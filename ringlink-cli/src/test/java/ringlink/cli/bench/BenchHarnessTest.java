package ringlink.cli.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 22, "failed on a fresh clone": every harness a bench cell runs must come from the CLI's
 * own class path (what ringlink.jar holds), never from the test classpath or a Maven step. Checked
 * with a class loader that sees only the main entries of this test's class path (no
 * test-classes, no {@code -tests.jar}, no JUnit): each harness's main class and every class of
 * {@code ringlink.cli.bench.harness} load there, and every {@code ringlink/...} class their class
 * files name resolves there too (so a body reference to a test helper fails here, not in a run).
 */
@Timeout(60)
class BenchHarnessTest {
    /** The cells that still run a script of the source tree instead of a harness class, with why. */
    static final Set<String> SCRIPT_GROUPS = Set.of(
            "switch vhost-user", // bench/switch-loop.sh: drives OVS-DPDK and the `ringlink` launcher, no Java harness
            // the guest side and QEMU launcher are still ringlink-core test classes (PERFORMANCE.md)
            "vhost-net tx", "vhost-net rx");

    static final Pattern TEST_ONLY =
            Pattern.compile("test-classes|-tests\\.jar|/junit|/jqwik|/opentest4j|/apiguardian");

    /** A loader over the main (non-test) entries of this JVM's class path, parent the platform loader. */
    static URLClassLoader mainOnly() throws IOException {
        List<URL> urls = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (e.isBlank() || TEST_ONLY.matcher(e.replace('\\', '/')).find()) continue;
            urls.add(Path.of(e).toUri().toURL());
        }
        return new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
    }

    static List<BenchCell> allCells() {
        return BenchRunner.discover(new BenchOptions(List.of(64, 1500), Duration.ofSeconds(1), 1, false));
    }

    @Test
    void everyHarnessMainLoadsWithoutTheTestClasspath() throws Exception {
        Set<String> mains = new TreeSet<>();
        for (BenchCell c : allCells()) if (c.harness() != null) mains.add(c.harness());
        assertTrue(mains.containsAll(List.of(TransportCells.PAIR, TransportCells.XDP_BENCH, TransportCells.SHM_BENCH)),
                "harnesses: " + mains);
        try (URLClassLoader l = mainOnly()) {
            for (String m : mains) {
                Class<?> k = Class.forName(m, false, l);
                assertSame(l, k.getClassLoader(), m + " must come from the main class path");
                assertNotNull(k.getMethod("main", String[].class), m + " has a main");
                k.getDeclaredMethods(); // every signature type resolves
            }
        }
    }

    @Test
    void everyHarnessClassNamesOnlyMainClasses() throws Exception {
        Path dir = Path.of(BenchHarnessTest.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolveSibling("classes").resolve("ringlink/cli/bench/harness");
        assertTrue(Files.isDirectory(dir), "no compiled harness classes at " + dir);
        Pattern ref =
                Pattern.compile("(ringlink/[A-Za-z0-9_/$]+|org/junit/[A-Za-z0-9_/$]+|org/opentest4j/[A-Za-z0-9_/$]+)");
        List<String> bad = new ArrayList<>();
        int classes = 0;
        try (URLClassLoader l = mainOnly(); Stream<Path> s = Files.list(dir)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".class")).sorted().toList()) {
                classes++;
                String name = "ringlink.cli.bench.harness." + f.getFileName().toString().replace(".class", "");
                Class<?> k = Class.forName(name, false, l);
                k.getDeclaredMethods();
                k.getDeclaredFields();
                Matcher m = ref.matcher(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1));
                while (m.find()) {
                    String n = m.group(1);
                    if (!n.startsWith("ringlink/")) {
                        bad.add(name + " -> " + n);
                        continue;
                    }
                    if (n.startsWith("ringlink/cli/bench/harness/shmpeer")) continue; // resource path, not a class
                    try {
                        Class.forName(n.replace('/', '.'), false, l);
                    } catch (ClassNotFoundException | NoClassDefFoundError e) {
                        bad.add(name + " -> " + n);
                    }
                }
            }
        }
        assertTrue(classes >= 5, "harness classes found: " + classes);
        assertTrue(bad.isEmpty(),
                "harness classes refer to classes the main class path does not have:\n" + String.join("\n", bad));
    }

    @Test
    void theGoPeersSourcesAreOnTheMainClassPath() throws Exception {
        try (URLClassLoader l = mainOnly()) {
            for (String f : List.of("main.go", "endpoint.go", "layout.go", "unsafe.go")) {
                assertNotNull(l.getResource("ringlink/cli/bench/harness/shmpeer/" + f), f);
            }
        }
    }

    @Test
    void theTransportsWithAJavaHarnessRunItFromTheCli() {
        List<String> missing = new ArrayList<>();
        for (BenchCell c : allCells()) {
            if (c.variant().equals("jmh") || SCRIPT_GROUPS.contains(c.group())) continue;
            boolean external = Stream.of("xdp", "shm", "memif", "vhost-user").anyMatch(g -> c.group().startsWith(g));
            if (external && c.harness() == null) missing.add(c.label());
        }
        assertTrue(missing.isEmpty(), "cells that drive a peer without a harness class: " + missing);
    }

    @Test
    void noBenchScriptNeedsAMavenCacheOrTheTestClasspath() throws IOException {
        Path bench = Path.of(System.getProperty("ringlink.rootDir", "..")).resolve("bench");
        List<String> bad = new ArrayList<>();
        try (Stream<Path> s = Files.list(bench)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".sh")).sorted().toList()) {
                String text = Files.readString(f);
                if (text.contains("dependency:build-classpath"))
                        bad.add(f.getFileName() + ": dependency:build-classpath");
                if (Pattern.compile("mvnw[^\\n]*\\s-o\\s").matcher(text).find())
                        bad.add(f.getFileName() + ": an offline (-o) Maven run");
                if (!f.getFileName().toString().equals("vhostnet-bench.sh") && text.contains("test-classes")) {
                    bad.add(f.getFileName() + ": the test classpath");
                }
            }
        }
        assertTrue(bad.isEmpty(), String.join("\n", bad));
    }

    @Test
    void theHarnessCommandRunsOnThisClassPath() {
        List<String> cmd = Harness.command(TransportCells.XDP_BENCH, null, "--seconds", "3");
        assertTrue(cmd.contains(System.getProperty("java.class.path")), cmd.toString());
        assertEquals(List.of(TransportCells.XDP_BENCH, "--seconds", "3"), cmd.subList(cmd.size() - 3, cmd.size()));
        assertTrue(cmd.contains("--enable-native-access=ALL-UNNAMED"), cmd.toString());
    }
}
