package ringlink.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * What a test needs from the machine, checked in one place.
 *
 * <p>Outside CI a test whose requirement is missing is skipped with a message that says what is
 * missing. With {@code CI=true} it <em>fails</em>: a skipped interop test in CI is a hidden failure.
 */
public final class Env {
    private Env() {}

    /** True when running under CI ({@code CI=true}). */
    public static boolean ci() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** Requires {@code condition}; {@code what} says what is missing when it is false. */
    public static void require(boolean condition, String what) {
        if (condition) {
            return;
        }
        if (ci()) {
            Assertions.fail("requirement missing (CI=true, so this fails instead of skipping): " + what);
        }
        Assumptions.abort("skipped, requirement missing: " + what);
    }

    public static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    public static void requireRoot() {
        require(isRoot(), "root privileges");
    }

    public static void requireTun() {
        requireRoot();
        require(Files.exists(Path.of("/dev/net/tun")), "/dev/net/tun");
    }

    public static void requireNetns() {
        requireRoot();
        require(which("ip") != null, "the `ip` command (Debian package iproute2)");
    }

    /** Requires an executable on the PATH; returns its path. */
    public static Path requireProgram(String name, String debianPackage) {
        Path p = which(name);
        require(p != null, "program `" + name + "` (Debian package " + debianPackage + ")");
        return p;
    }

    /** Requires a file (e.g. a kernel image) to exist. */
    public static Path requireFile(Path file, String what) {
        require(Files.exists(file), what + " at " + file);
        return file;
    }

    /** The path of {@code name} on the PATH (plus /usr/sbin and /sbin), or null. */
    public static Path which(String name) {
        String path = System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    /** The source tree's root (the parent pom.xml, bench/, scripts/). */
    public static Path rootDir() {
        return Path.of(System.getProperty("ringlink.rootDir", "..")).toAbsolutePath().normalize();
    }

    /** The Maven module's directory (its pom.xml; {@code ringlink-core} for the library's tests). */
    public static Path projectDir() {
        return Path.of(System.getProperty("ringlink.projectDir", ".")).toAbsolutePath();
    }

    /** Maven's build directory ({@code target}). */
    public static Path buildDir() {
        return Path.of(System.getProperty("ringlink.buildDir", "target")).toAbsolutePath();
    }

    /**
     * Runs a command to completion (bounded by {@code timeoutSeconds}) and returns its combined
     * output; fails the test with the output if it exits non-zero.
     */
    public static String run(long timeoutSeconds, String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                Assertions.fail("timed out after " + timeoutSeconds + " s: " + String.join(" ", command));
            }
            String s = new String(out);
            if (p.exitValue() != 0) {
                Assertions.fail("exit " + p.exitValue() + ": " + String.join(" ", command) + "\n" + s);
            }
            return s;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Like {@link #run} but returns the exit code and ignores failure. */
    public static int runQuiet(long timeoutSeconds, String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
