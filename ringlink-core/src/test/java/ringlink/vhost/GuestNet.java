package ringlink.vhost;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Shell helpers for the programs that run inside the QEMU guest (busybox commands, namespaces). */
final class GuestNet {
    private GuestNet() {}

    /** Runs a command (bounded), returning its output; throws with the output if it fails. */
    static String sh(String... cmd) throws IOException, InterruptedException {
        return sh(30, cmd);
    }

    static String sh(int timeoutSeconds, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readNBytes(1 << 20), StandardCharsets.UTF_8);
        if (!done) {
            p.destroyForcibly();
            throw new IOException("timed out after " + timeoutSeconds + " s: " + String.join(" ", cmd) + "\n" + out);
        }
        if (p.exitValue() != 0) {
            throw new IOException("exit " + p.exitValue() + ": " + String.join(" ", cmd) + "\n" + out);
        }
        return out;
    }

    /** Runs a command inside the network namespace of {@code pid}. */
    static String nsSh(long pid, String... cmd) throws IOException, InterruptedException {
        List<String> c = new ArrayList<>(List.of("nsenter", "-t", Long.toString(pid), "-n"));
        c.addAll(List.of(cmd));
        return sh(c.toArray(String[]::new));
    }

    /** A process holding a fresh network namespace (kill it to drop the namespace). */
    static Process newNetns() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("unshare", "-n", "sleep", "600").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        // Wait (bounded) until the child has actually switched namespaces.
        Path mine = Files.readSymbolicLink(Path.of("/proc/self/ns/net")); // "net:[inode]"
        for (int i = 0; i < 100; i++) {
            try {
                Path theirs = Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "ns/net"));
                if (!theirs.equals(mine)) return p;
            } catch (IOException ignored) {
                // not there yet
            }
            Thread.sleep(20);
        }
        p.destroyForcibly();
        throw new IOException("unshare -n did not create a network namespace");
    }

    /** A counter from /sys/class/net/IF/statistics. */
    static long stat(String ifname, String counter) throws IOException {
        return Long.parseLong(Files.readString(Path.of("/sys/class/net", ifname, "statistics", counter)).trim());
    }

    static boolean exists(String ifname) {
        return Files.exists(Path.of("/sys/class/net", ifname));
    }
}
