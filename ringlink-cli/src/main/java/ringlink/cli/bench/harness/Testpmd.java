package ringlink.cli.bench.harness;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * dpdk-testpmd driven through its interactive prompt: start it with a vdev, send commands, read
 * port statistics. Every wait is bounded; {@link #close()} quits and kills it if needed.
 * The benchmark harness's copy of ringlink-core's test helper {@code ringlink.vhostuser.Testpmd}
 * (the DPDK interop tests keep theirs: ringlink-core's tests cannot depend on the CLI, which
 * depends on ringlink-core; the harness must not need the test classpath at run time).
 */
public final class Testpmd implements AutoCloseable {
    private final Process process;
    private final InputStream out;
    private final OutputStream in;
    private final StringBuilder log = new StringBuilder();

    private String prefix;

    private Testpmd(Process p) {
        this.process = p;
        this.out = p.getInputStream();
        this.in = p.getOutputStream();
    }

    /**
     * Starts testpmd with one vdev (e.g. {@code net_virtio_user0,path=/tmp/x.sock} or
     * {@code net_vhost0,iface=/tmp/x.sock}) and extra application arguments (after {@code --}).
     */
    public static Testpmd start(String prefix, String vdev, long timeoutMillis, String... appArgs) throws IOException {
        return start(prefix, "0@0,1@0", vdev, timeoutMillis, appArgs);
    }

    /** Like {@link #start(String, String, long, String...)} with an explicit {@code --lcores} map (e.g. "0@1,1@1"). */
    public static Testpmd start(String prefix, String lcores, String vdev, long timeoutMillis,
            String... appArgs) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                // SIGPIPE ignored (inherited through exec): testpmd's virtio-user writes to a vhost-user
                // socket whose back-end has gone without MSG_NOSIGNAL, and would die of it on reconnect.
                "sh", "-c", "trap '' PIPE; exec \"$0\" \"$@\"",
                "stdbuf", "-o0", "dpdk-testpmd", "--no-pci", "--no-huge", "--single-file-segments",
                "-m", "256", "--lcores=" + lcores, "--file-prefix=" + prefix, "--log-level=lib.eal:error",
                "--vdev=" + vdev));
        // Extra EAL arguments for debugging a peer, e.g. -Drlvu.ealArgs=--log-level=pmd.net.virtio.*:debug
        for (String a : System.getProperty("rlvu.ealArgs", "").split(" ")) if (!a.isBlank()) cmd.add(a);
        cmd.addAll(
                List.of("--", "-i", "--nb-cores=1", "--txq=1", "--rxq=1", "--no-flush-rx", "--total-num-mbufs=8192"));
        cmd.addAll(List.of(appArgs));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Testpmd t = new Testpmd(p);
        t.prefix = prefix;
        try {
            t.readUntilPrompt(timeoutMillis);
        } catch (IOException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** Sends one command and returns its output (up to the next prompt). */
    public String command(String c, long timeoutMillis) throws IOException {
        in.write((c + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
        return readUntilPrompt(timeoutMillis);
    }

    private String readUntilPrompt(long timeoutMillis) throws IOException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        StringBuilder sb = new StringBuilder();
        byte[] buf = new byte[4096];
        while (System.nanoTime() < end) {
            int avail = out.available();
            if (avail > 0) {
                int n = out.read(buf, 0, Math.min(buf.length, avail));
                if (n < 0) break;
                String s = new String(buf, 0, n, StandardCharsets.UTF_8);
                sb.append(s);
                log.append(s);
                // Not endsWith: testpmd prints asynchronous events (a server-mode reconnect,
                // link changes) from another thread, sometimes in the same write right after the
                // prompt ("testpmd> virtio_user_dev_server_reconnect(): ..."), and the prompt was
                // then missed until the timeout. It prints a prompt only after a command's output.
                if (sb.indexOf("testpmd> ") >= 0) return sb.toString();
            } else {
                if (!process.isAlive()) throw new IOException("testpmd exited (" + process.exitValue() + "):\n" + log);
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted");
                }
            }
        }
        throw new IOException("testpmd: no prompt within " + timeoutMillis + " ms; output so far:\n" + log);
    }

    private static final Pattern RX = Pattern.compile("RX-packets:\\s+(\\d+)");
    private static final Pattern TX = Pattern.compile("TX-packets:\\s+(\\d+)");

    /** RX-packets of {@code show port stats 0}. */
    public long rxPackets() throws IOException {
        return field(RX, command("show port stats 0", 20_000));
    }

    /** TX-packets of {@code show port stats 0}. */
    public long txPackets() throws IOException {
        return field(TX, command("show port stats 0", 20_000));
    }

    private static long field(Pattern p, String s) throws IOException {
        Matcher m = p.matcher(s);
        if (!m.find()) throw new IOException("no " + p + " in:\n" + s);
        return Long.parseLong(m.group(1));
    }

    /** Everything testpmd printed so far. */
    public String log() { return log.toString(); }

    public boolean isAlive() { return process.isAlive(); }

    /**
     * The exit status once it has exited (128+signal for a crash under the stdbuf wrapper's shell semantics), or -1.
     */
    public int exitValue() { return process.isAlive() ? -1 : process.exitValue(); }

    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                in.write("quit\n".getBytes(StandardCharsets.UTF_8));
                in.flush();
            }
        } catch (IOException ignored) {
            // already gone
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        // EAL's runtime directory for this --file-prefix (config and sockets): ours to remove.
        java.nio.file.Path run = java.nio.file.Path.of("/var/run/dpdk", prefix);
        if (prefix != null && java.nio.file.Files.isDirectory(run)) {
            try (var files = java.nio.file.Files.walk(run)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
