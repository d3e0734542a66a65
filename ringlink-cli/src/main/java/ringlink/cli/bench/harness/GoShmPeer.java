package ringlink.cli.bench.harness;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import ringlink.cli.support.Shell;

/**
 * Builds the Go peer of the shm benchmark (gVisor's sharedmem queue code, ringlink-core's
 * {@code src/test/go/shmpeer}, packed into ringlink.jar at build time) into
 * {@code $TMPDIR/ringlink-bench-<uid>/go/bin/shmpeer}. Offline, as the core tests' GoPeer does: a
 * GOPATH of our own tree plus {@code /usr/share/gocode} (Debian's golang-gvisor-gvisor-dev),
 * {@code GO111MODULE=off}, no proxy. The tests keep their own builder (they build from the source
 * tree into {@code target/}); this one needs no source tree and no test classpath.
 */
final class GoShmPeer {
    private GoShmPeer() {}

    static final Path GOCODE = Path.of("/usr/share/gocode");
    static final Path SHAREDMEM = GOCODE.resolve("src/gvisor.dev/gvisor/pkg/tcpip/link/sharedmem");
    /** The Go sources in ringlink.jar (ringlink-cli's pom copies them from ringlink-core's test tree). */
    static final List<String> SOURCES = List.of("main.go", "endpoint.go", "layout.go", "unsafe.go");
    private static Path built;

    /** Where the harness builds and logs: {@code $TMPDIR/ringlink-bench-<user>}. */
    static Path workDir() throws IOException {
        Path d = Path.of(System.getProperty("java.io.tmpdir"), "ringlink-bench-" + System.getProperty("user.name"));
        Files.createDirectories(d);
        return d;
    }

    /** Why the Go peer cannot be built here, or null. */
    static String unavailable() {
        if (Shell.which("go") == null) return "go not installed (apt-get install golang-go golang-gvisor-gvisor-dev)";
        if (!Files.exists(SHAREDMEM.resolve("queue/tx.go")))
                return "gVisor's sharedmem sources missing (apt-get install golang-gvisor-gvisor-dev)";
        if (GoShmPeer.class.getResource("shmpeer/main.go") == null)
                return "the Go peer's sources are not in this build (ringlink.jar)";
        return null;
    }

    /** Builds the peer once per JVM; its path. */
    static synchronized Path build() throws IOException, InterruptedException {
        if (built != null) return built;
        String why = unavailable();
        if (why != null) throw new IllegalStateException(why);
        Path root = workDir().resolve("go");
        Path src = root.resolve("src/shmpeer");
        Files.createDirectories(src);
        for (String f : SOURCES) {
            try (InputStream in = GoShmPeer.class.getResourceAsStream("shmpeer/" + f)) {
                if (in == null) throw new IOException("shmpeer/" + f + " missing from the class path");
                Files.copy(in, src.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Path bin = root.resolve("bin/shmpeer");
        Files.createDirectories(bin.getParent());
        ProcessBuilder pb = new ProcessBuilder(Shell.which("go").toString(), "build", "-o", bin.toString(), "shmpeer")
                .redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("GOPATH", root + ":" + GOCODE);
        env.put("GO111MODULE", "off");
        env.put("GOCACHE", root.resolve("cache").toString());
        env.put("GOFLAGS", "");
        env.put("GOPROXY", "off");
        env.put("HOME", root.toString());
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("go build of shmpeer timed out");
        }
        if (p.exitValue() != 0) throw new IOException("go build of shmpeer failed:\n" + out);
        built = bin;
        return bin;
    }
}
