package ringlink.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import ringlink.testing.Env;

/**
 * Module {@code ringlink.core} as compiled ({@code module-info.class}). The library depends on the
 * JDK only and keeps {@code ringlink.sys} to itself: the module system enforces both at compile
 * time (ringlink-core has no dependency, so a foreign import does not compile; a module outside
 * cannot name an unexported package). This pins the descriptor those facts rest on, so a change to
 * it is a decision, not an accident. docs/ARCHITECTURE.md ("Modules") says why each package is
 * exported or not.
 */
class ModuleDescriptorTest {
    private static final Path MAIN = Env.projectDir().resolve("src/main/java/ringlink");
    /** The packages module ringlink.core exports (module-info.java). */
    static final Set<String> EXPORTED = Set.of("ringlink.link", "ringlink.packet", "ringlink.sw",
            "ringlink.afpacket", "ringlink.memif", "ringlink.shm", "ringlink.tun", "ringlink.tunnel", "ringlink.udp",
            "ringlink.vhost", "ringlink.vhostuser", "ringlink.virtio", "ringlink.xdp");
    /** The packages that stay inside the module, on purpose. */
    static final Set<String> INTERNAL = Set.of("ringlink.sys", "ringlink.virtio.net");

    @Test
    void requiresTheJdkOnlyAndExportsTheApi() throws IOException {
        ModuleDescriptor d = descriptor();
        assertEquals("ringlink.core", d.name());
        for (ModuleDescriptor.Requires r : d.requires()) {
            assertTrue(r.name().startsWith("java.") || r.name().startsWith("jdk."),
                    "ringlink.core requires " + r.name());
        }
        Set<String> exported = new TreeSet<>();
        for (ModuleDescriptor.Exports e : d.exports()) {
            assertFalse(e.isQualified(), "qualified export " + e);
            exported.add(e.source());
        }
        assertEquals(new TreeSet<>(EXPORTED), exported, "exported packages");
        assertFalse(exported.contains("ringlink.sys"), "ringlink.sys is internal");
    }

    /** A new package is a decision: exported (API) or internal, never by default. */
    @Test
    void everyPackageIsExportedOrInternalOnPurpose() throws IOException {
        Set<String> packages = new TreeSet<>();
        try (Stream<Path> s = Files.walk(MAIN)) {
            s.filter(p -> p.toString().endsWith(".java"))
                    .forEach(p ->
                            packages.add("ringlink." + MAIN.relativize(p.getParent()).toString().replace('/', '.')));
        }
        Set<String> undecided = new TreeSet<>(packages);
        undecided.removeAll(EXPORTED);
        undecided.removeAll(INTERNAL);
        assertTrue(undecided.isEmpty(),
                "export these in module-info.java (and EXPORTED here) or list them in INTERNAL: " + undecided);
    }

    /** {@code provides} (module path) and META-INF/services (class path) list the same transports. */
    @Test
    void servicesFileAndProvidesAgree() throws IOException {
        Set<String> provides = new TreeSet<>();
        for (ModuleDescriptor.Provides p : descriptor().provides()) {
            if (p.service().equals("ringlink.link.LinkProvider")) provides.addAll(p.providers());
        }
        Set<String> file = new TreeSet<>();
        for (String line : Files.readAllLines(Env.projectDir()
                .resolve("src/main/resources/META-INF/services/ringlink.link.LinkProvider"))) {
            String l = line.replaceAll("#.*", "").strip();
            if (!l.isEmpty()) file.add(l);
        }
        assertEquals(file, provides, "module-info.java provides vs META-INF/services/ringlink.link.LinkProvider");
        assertTrue(descriptor().uses().contains("ringlink.link.LinkProvider"), "uses ringlink.link.LinkProvider");
    }

    private static ModuleDescriptor descriptor() throws IOException {
        try (InputStream in = Files.newInputStream(Env.buildDir().resolve("classes/module-info.class"))) {
            return ModuleDescriptor.read(in);
        }
    }
}
