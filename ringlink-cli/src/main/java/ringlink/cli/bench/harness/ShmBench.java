package ringlink.cli.bench.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Sharedmem throughput between two processes, Ringlink's Java link beside gVisor's own Go queue
 * code, in the same run (after a warm-up that lets the JIT compile both sides): for each packet size, one process sends
 * fixed-size packets as fast as
 * it can and the other receives them (copying each out, as any consumer must) and reports
 * packets/s and Gbit/s over the measured window. Prints the Java/Go ratio.
 *
 * <pre>
 * ShmBench [--seconds 5] [--warmup 3] [--sizes 64,1500] [--direction c2s|s2c|both] [--runs 1] [--memif]
 * </pre>
 * c2s: the client (owner of the buffers) sends, the server receives; s2c the other way.
 * {@code --memif} adds, for scale, DPDK's memif PMD between two {@code dpdk-testpmd} processes
 * (server txonly, client rxonly; not the same wire format, so it is no peer of ours): a line
 * {@code memif SIZE pps gbps} per size. It needs root and dpdk-testpmd with librte-net-memif.
 * Run by {@code ringlink bench --only shm} and bench/shm.sh; the Go peer is built from the sources
 * inside ringlink.jar ({@link GoShmPeer}).
 */
public final class ShmBench {
    private ShmBench() {}

    record Rate(double pps, double gbps) {}

    /** Why the benchmark cannot run here (Go or gVisor's sources missing), or null. */
    public static String unavailable() {
        return GoShmPeer.unavailable();
    }

    public static void main(String[] args) throws Exception {
        double seconds = 5;
        double warmup = 3;
        String sizes = "64,1500";
        String direction = "c2s";
        int runs = 1;
        boolean memif = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--sizes" -> sizes = args[++i];
                case "--direction" -> direction = args[++i];
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Double.parseDouble(args[++i]);
                case "--memif" -> memif = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (usage: ShmBench [--seconds S] [--warmup S] [--sizes 64,1500] [--direction c2s|s2c|both] "
                                + "[--runs N] [--memif])");
            }
        }
        Path go = GoShmPeer.build();
        Path logs = GoShmPeer.workDir().resolve("shm-bench-logs"); // kept for a look when a run fails
        Files.createDirectories(logs);
        List<String> dirs = direction.equals("both") ? List.of("c2s", "s2c") : List.of(direction);
        System.out.printf(Locale.ROOT, "%-4s %6s %14s %10s %14s %10s %8s%n", "dir", "size", "java pps", "java Gb/s",
                "gvisor pps", "go Gb/s", "ratio");
        for (String dir : dirs) {
            for (String s : sizes.split(",")) {
                int size = Integer.parseInt(s.trim());
                for (int r = 0; r < runs; r++) {
                    Rate j = run(false, go, dir, size, seconds, warmup, logs);
                    Rate g = run(true, go, dir, size, seconds, warmup, logs);
                    System.out.printf(Locale.ROOT, "%-4s %6d %14.0f %10.3f %14.0f %10.3f %8.2f%n", dir, size, j.pps,
                            j.gbps, g.pps, g.gbps, j.pps / g.pps);
                }
            }
        }
        if (memif) {
            for (String s : sizes.split(",")) {
                int size = Integer.parseInt(s.trim());
                try {
                    Rate m = memif(size, seconds, warmup);
                    System.out.printf(Locale.ROOT, "memif %6d %14.0f %10.3f   (DPDK memif PMD, testpmd txonly -> "
                            + "rxonly, for scale)%n", size, m.pps, m.gbps);
                } catch (IOException | IllegalStateException e) {
                    // For scale only: the Java and Go figures above stand without it.
                    System.out.printf(Locale.ROOT, "memif %6d failed: %s%n", size, e.getMessage());
                }
            }
        }
    }

    /**
     * DPDK's memif PMD between two testpmd processes, one CPU each: the server sends {@code size}-byte
     * frames (txonly), the client counts what it receives (rxonly); the rate is the client's RX
     * counter over {@code seconds} after {@code warmup}.
     */
    static Rate memif(int size, double seconds, double warmup) throws IOException, InterruptedException {
        long pid = ProcessHandle.current().pid();
        Path sock = Path.of("/tmp/rlsh-memif-" + pid + ".sock");
        Files.deleteIfExists(sock);
        String vdev = "net_memif0,socket=" + sock + ",role=";
        try (Testpmd server = Testpmd.start("rlsh-ms" + pid, "0@0,1@0", vdev + "server", 30_000,
                     "--forward-mode=txonly", "--txpkts=" + size);
             Testpmd client =
                     Testpmd.start("rlsh-mc" + pid, "0@1,1@1", vdev + "client", 30_000, "--forward-mode=rxonly")) {
            server.command("start", 5_000);
            client.command("start", 5_000);
            Thread.sleep((long) (warmup * 1000));
            long rx0 = client.rxPackets(), t0 = System.nanoTime();
            Thread.sleep((long) (seconds * 1000));
            long rx1 = client.rxPackets(), t1 = System.nanoTime();
            if (rx1 == rx0)
                    throw new IllegalStateException("memif: the client received nothing; its log:\n" + client.log());
            double pps = (rx1 - rx0) / ((t1 - t0) / 1e9);
            return new Rate(pps, pps * size * 8 / 1e9);
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    static Rate run(boolean useGo, Path go, String dir, int size, double seconds, double warmup,
            Path logs) throws IOException, InterruptedException {
        Path sock = Path.of("/tmp/rlsh-bench-" + ProcessHandle.current().pid() + ".sock");
        boolean serverReceives = dir.equals("c2s");
        Path slog = logs.resolve("server.log"), clog = logs.resolve("client.log");
        Process server =
                start(useGo, go, slog, "server", sock, serverReceives ? "recv" : "send", size, seconds, warmup);
        Process client =
                start(useGo, go, clog, "client", sock, serverReceives ? "send" : "recv", size, seconds, warmup);
        Process receiver = serverReceives ? server : client;
        Path rlog = serverReceives ? slog : clog;
        try {
            long limit = (long) ((seconds + warmup) * 1000) + 60_000;
            if (!receiver.waitFor(limit, TimeUnit.MILLISECONDS))
                    throw new IllegalStateException("receiver did not finish; log: " + Files.readString(rlog));
            (serverReceives ? client : server).waitFor(10, TimeUnit.SECONDS);
            for (String line : Files.readAllLines(rlog)) {
                if (line.startsWith("RESULT")) {
                    double pps = 0, gbps = 0;
                    for (String kv : line.split(" ")) {
                        if (kv.startsWith("pps=")) pps = Double.parseDouble(kv.substring(4));
                        if (kv.startsWith("gbps=")) gbps = Double.parseDouble(kv.substring(5));
                    }
                    return new Rate(pps, gbps);
                }
            }
            throw new IllegalStateException("no RESULT from the receiver: " + Files.readString(rlog));
        } finally {
            server.destroyForcibly();
            client.destroyForcibly();
            Files.deleteIfExists(sock);
        }
    }

    static Process start(boolean useGo, Path go, Path log, String role, Path sock, String mode, int size,
            double seconds, double warmup) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (useGo) {
            cmd.addAll(
                    List.of(go.toString(), "-role", role, "-sock", sock.toString(), "-bench", mode, "-size", "" + size,
                    "-seconds", "" + seconds, "-warmup", "" + warmup));
        } else {
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "--illegal-native-access=deny", "-cp",
                    System.getProperty("java.class.path"),
                    ShmBenchPeer.class.getName(), "--role", role, "--sock", sock.toString(), "--bench", mode, "--size",
                            "" + size,
                    "--seconds", "" + seconds, "--warmup", "" + warmup));
        }
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
