package ringlink.shm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import ringlink.testing.Env;

/**
 * Builds src/test/go/shmpeer (gVisor's sharedmem queue code from Debian's
 * golang-gvisor-gvisor-dev, compiled offline by golang-go) into target/go/bin/shmpeer.
 *
 * <p>The incantation: a GOPATH of our own tree plus /usr/share/gocode (where Debian installs Go
 * sources), GO111MODULE=off (Debian's gocode is a GOPATH tree, not a module cache), a GOCACHE
 * under target/ and no proxy: nothing is downloaded.
 */
public final class GoPeer {
    private GoPeer() {}

    static final Path GOCODE = Path.of("/usr/share/gocode");
    static final Path SHAREDMEM = GOCODE.resolve("src/gvisor.dev/gvisor/pkg/tcpip/link/sharedmem");
    private static Path built;

    /** Builds the peer once per JVM (skips or fails via {@link Env} if Go or gVisor is missing). */
    public static synchronized Path build() throws IOException, InterruptedException {
        if (built != null) return built;
        Path go = Env.requireProgram("go", "golang-go");
        Env.requireFile(SHAREDMEM.resolve("queue/tx.go"),
                "gVisor's sharedmem sources (Debian package golang-gvisor-gvisor-dev)");
        Path root = Env.buildDir().resolve("go");
        Path src = root.resolve("src/shmpeer");
        Files.createDirectories(src);
        Path from = Env.projectDir().resolve("src/test/go/shmpeer");
        try (var files = Files.list(from)) {
            for (Path f : files.toList())
                    Files.copy(f, src.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        Path bin = root.resolve("bin/shmpeer");
        Files.createDirectories(bin.getParent());
        ProcessBuilder pb =
                new ProcessBuilder(go.toString(), "build", "-o", bin.toString(), "shmpeer").redirectErrorStream(true);
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
            throw new AssertionError("go build of shmpeer timed out");
        }
        if (p.exitValue() != 0) throw new AssertionError("go build of shmpeer failed:\n" + out);
        built = bin;
        return bin;
    }

    /** Starts the peer with {@code args}; output goes to {@code log}. */
    public static Process start(Path log, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(build().toString());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
