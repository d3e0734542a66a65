package ringlink.arch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import ringlink.testing.Env;

/**
 * The architecture rules that the compiler does not check: only ringlink.sys links native code,
 * and raw-address code ({@code reinterpret}) stays in sys and the ring packages. (That the library
 * depends on the JDK only is a compile-time fact now: ringlink-core has no dependency and its
 * module requires only JDK modules; {@link ModuleDescriptorTest} pins the descriptor.)
 */
class DependencyRulesTest {
    private static final Path MAIN = Env.projectDir().resolve("src/main/java/ringlink");
    /** Packages whose classes map memory a peer also writes, and must bound-check it themselves. */
    private static final Set<String> RAW_ADDRESS_PACKAGES = Set.of("sys", "virtio", "xdp", "shm", "vhost", "vhostuser");

    private static List<Path> sources() throws IOException {
        try (Stream<Path> s = Files.walk(MAIN)) {
            return s.filter(p -> p.toString().endsWith(".java")).toList();
        }
    }

    private static String pkg(Path p) {
        return MAIN.relativize(p).getName(0).toString();
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
        assertTrue(bad.isEmpty(),
                "raw-address code belongs in " + RAW_ADDRESS_PACKAGES + ":\n" + String.join("\n", bad));
    }
}
