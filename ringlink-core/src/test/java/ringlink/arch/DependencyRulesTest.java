package ringlink.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import ringlink.testing.Env;

/**
 * The architecture rules. What the module system says (the library depends on the JDK only,
 * {@code ringlink.sys} is not exported) is checked by the compiler; here the module descriptor
 * is pinned, and the rest is checked on the sources: only ringlink.sys links native code, and
 * raw-address code ({@code reinterpret}) stays in sys and the ring packages.
 */
class DependencyRulesTest {
    private static final Path MAIN = Env.projectDir().resolve("src/main/java/ringlink");
    /** Packages whose classes map memory a peer also writes, and must bound-check it themselves. */
    /** The packages module ringlink.core exports (module-info.java). */
    private static final Set<String> EXPORTED = Set.of("ringlink.link", "ringlink.packet", "ringlink.sw",
            "ringlink.afpacket", "ringlink.memif", "ringlink.shm", "ringlink.tun", "ringlink.tunnel", "ringlink.udp",
            "ringlink.vhost", "ringlink.vhostuser", "ringlink.virtio", "ringlink.xdp");
    /** The packages that stay inside the module, on purpose. */
    private static final Set<String> INTERNAL = Set.of("ringlink.sys", "ringlink.virtio.net");
    private static final Set<String> RAW_ADDRESS_PACKAGES = Set.of("sys", "virtio", "xdp", "shm", "vhost", "vhostuser");

    private static List<Path> sources() throws IOException {
        try (Stream<Path> s = Files.walk(MAIN)) {
            return s.filter(p -> p.toString().endsWith(".java")).toList();
        }
    }

    private static String pkg(Path p) {
        return MAIN.relativize(p).getName(0).toString();
    }

    /**
     * The library depends on the JDK only and keeps {@code ringlink.sys} to itself: the module
     * system enforces both at compile time (ringlink-core has no dependencies, so a foreign import
     * does not compile; a module outside cannot read an unexported package). This pins the
     * descriptor those facts rest on, so a change to it is a decision, not an accident.
     */
    @Test
    void moduleRequiresTheJdkOnlyAndExportsTheApi() throws IOException {
        ModuleDescriptor d = descriptor();
        assertEquals("ringlink.core", d.name());
        for (ModuleDescriptor.Requires r : d.requires()) {
            assertTrue(r.name().startsWith("java.") || r.name().startsWith("jdk."), "ringlink.core requires " + r.name());
        }
        Set<String> exported = new TreeSet<>();
        for (ModuleDescriptor.Exports e : d.exports()) {
            assertFalse(e.isQualified(), "qualified export " + e);
            exported.add(e.source());
        }
        assertEquals(new TreeSet<>(EXPORTED), exported,
                "exported packages (docs/ARCHITECTURE.md, Modules, says why each is or is not)");
        assertFalse(exported.contains("ringlink.sys"), "ringlink.sys is internal");
    }

    /** A new package is a decision: exported (API) or internal, never by default. */
    @Test
    void everyPackageIsExportedOrInternalOnPurpose() throws IOException {
        Set<String> packages = new TreeSet<>();
        for (Path p : sources()) {
            packages.add("ringlink." + MAIN.relativize(p.getParent()).toString().replace('/', '.'));
        }
        Set<String> undecided = new TreeSet<>(packages);
        undecided.removeAll(EXPORTED);
        undecided.removeAll(INTERNAL);
        assertTrue(undecided.isEmpty(), "export these in module-info.java (and EXPORTED here) or list them in INTERNAL: " + undecided);
    }

    /** {@code provides} (module path) and META-INF/services (class path) list the same transports. */
    @Test
    void servicesFileAndProvidesAgree() throws IOException {
        Set<String> provides = new TreeSet<>();
        for (ModuleDescriptor.Provides p : descriptor().provides()) {
            if (p.service().equals("ringlink.link.LinkProvider")) provides.addAll(p.providers());
        }
        Set<String> file = new TreeSet<>();
        for (String line : Files.readAllLines(Env.projectDir().resolve("src/main/resources/META-INF/services/ringlink.link.LinkProvider"))) {
            String l = line.replaceAll("#.*", "").strip();
            if (!l.isEmpty()) file.add(l);
        }
        assertEquals(file, provides, "module-info.java provides vs META-INF/services/ringlink.link.LinkProvider");
    }

    private static ModuleDescriptor descriptor() throws IOException {
        try (InputStream in = Files.newInputStream(Env.buildDir().resolve("classes/module-info.class"))) {
            return ModuleDescriptor.read(in);
        }
    }

    @Test
    void onlySysLinksNativeCode() throws IOException {
        List<String> bad = new ArrayList<>();
        for (Path p : sources()) {
            if (pkg(p).equals("sys")) continue;
            String s = Files.readString(p);
            if (s.contains("Linker.nativeLinker") || s.contains("downcallHandle") || s.contains("SymbolLookup")) {
                bad.add(MAIN.relativize(p).toString());
            }
        }
        assertTrue(bad.isEmpty(), "only ringlink.sys may make downcalls:\n" + String.join("\n", bad));
    }

    @Test
    void rawAddressesStayInSysAndRingPackages() throws IOException {
        List<String> bad = new ArrayList<>();
        for (Path p : sources()) {
            if (RAW_ADDRESS_PACKAGES.contains(pkg(p))) continue;
            String s = Files.readString(p);
            if (s.contains(".reinterpret(") || s.contains("MemorySegment.ofAddress(")) {
                bad.add(MAIN.relativize(p).toString());
            }
        }
        assertTrue(bad.isEmpty(), "raw-address code belongs in " + RAW_ADDRESS_PACKAGES + ":\n" + String.join("\n", bad));
    }
}
