package ringlink.cli.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import ringlink.cli.support.Shell;

/**
 * Runs one of the transports' benchmark harnesses ({@code ringlink.cli.bench.harness}) in a
 * child JVM on this JVM's own class path (ringlink.jar when run by {@code ./ringlink}): no build
 * step, no Maven, no test classes. A child JVM, not a call, so that each run starts with the same
 * JIT state as a {@code bench/*.sh} run and can be pinned ({@code taskset}) as a whole: the
 * harnesses that pin "our data thread on CPU 1, testpmd on CPU 0" rely on the JVM being on CPU 1.
 *
 * <p>{@code RINGLINK_JAVA_OPTS} (environment) adds JVM options to the child, e.g. a flight
 * recording of our data path.
 */
public final class Harness {
    private Harness() {}

    /** The child's command line: {@code [taskset -c CPUS] java ... -cp CLASSPATH MAIN ARGS}. */
    public static List<String> command(String mainClass, String cpus, String... args) {
        List<String> cmd = new ArrayList<>();
        if (cpus != null && Shell.which("taskset") != null && Runtime.getRuntime().availableProcessors() > 1) {
            cmd.addAll(List.of("taskset", "-c", cpus));
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String extra = System.getenv("RINGLINK_JAVA_OPTS");
        if (extra != null && !extra.isBlank()) cmd.addAll(List.of(extra.trim().split("\\s+")));
        cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "--illegal-native-access=deny",
                "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * Runs the harness to completion (bounded by {@code timeoutSeconds}); its whole output, or an exception with its
     * tail.
     */
    public static String run(String mainClass, String cpus, long timeoutSeconds, String... args) throws IOException {
        Shell.Result r = Shell.run(timeoutSeconds, command(mainClass, cpus, args).toArray(String[]::new));
        String simple = mainClass.substring(mainClass.lastIndexOf('.') + 1);
        if (!r.ok()) throw new IOException(simple + " failed: " + SwitchLoopCell.tail(r.output()));
        return r.output();
    }
}
