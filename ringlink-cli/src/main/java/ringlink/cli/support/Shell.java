package ringlink.cli.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the kernel's tools (ip, ping, iperf3) for the demo and the bench, always with a time limit. */
public final class Shell {
    private Shell() {}

    /** A finished command: its exit status and its merged output. */
    public record Result(int exit, String output) {
        public boolean ok() {
            return exit == 0;
        }
    }

    /** Runs {@code cmd}, killing it after {@code timeoutSeconds}; exit 124 on timeout (like timeout(1)). */
    public static Result run(long timeoutSeconds, String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            p.getOutputStream().close();
            // Drained on the side so a chatty command cannot block on a full pipe.
            byte[][] out = new byte[1][];
            Thread drain = Thread.ofPlatform().daemon().start(() -> {
                try {
                    out[0] = p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    out[0] = new byte[0];
                }
            });
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                drain.join(2000);
                return new Result(124, (out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8))
                        + "\n(timed out after " + timeoutSeconds + " s)");
            }
            drain.join(5000);
            return new Result(p.exitValue(), out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + String.join(" ", cmd));
        }
    }

    /** Runs {@code cmd} and fails with its output if it exits non-zero. */
    public static String must(long timeoutSeconds, String... cmd) throws IOException {
        Result r = run(timeoutSeconds, cmd);
        if (!r.ok())
                throw new IOException(String.join(" ", cmd) + " failed (exit " + r.exit() + "): " + r.output().strip());
        return r.output();
    }

    /** Starts {@code cmd} in the background, output to {@code log}. */
    public static Process start(Path log, String... cmd) throws IOException {
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** Stops a background process and everything it started. */
    public static void kill(Process p) {
        if (p == null) return;
        p.descendants().forEach(ProcessHandle::destroy);
        p.destroy();
        try {
            if (!p.waitFor(2, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The program's path on $PATH, or null. */
    public static Path which(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            Path p = Path.of(d, program);
            if (Files.isExecutable(p)) return p;
        }
        for (String d : List.of("/usr/sbin", "/sbin", "/usr/bin")) {
            Path p = Path.of(d, program);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    /** True when running as root. */
    public static boolean isRoot() {
        try {
            return "0".equals(must(5, "id", "-u").strip());
        } catch (IOException e) {
            return false;
        }
    }
}
