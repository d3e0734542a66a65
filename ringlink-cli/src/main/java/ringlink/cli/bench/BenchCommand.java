package ringlink.cli.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ringlink bench}: the benchmark matrix, each transport beside its peer in the same run. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = TunRelayBench.class,
        description = {"Runs the benchmark matrix: each transport beside its peer; medians, ratios, charts.",
            "",
            "Every cell (transport x size x peer) runs on this machine, repeated, Ringlink beside the peer it is "
                    + "compared "
                + "with in the same run. Prints medians and ratios, and writes table.txt, results.json, results.csv "
                        + "and "
                + "PNG charts to the results directory. Cells that cannot run here (not root, a peer not installed, a "
                + "transport not in this build) are listed as skipped.",
            "",
            "Groups (reference first): switch (pair): direct pair vs switch; netns iperf3 tap|xdp|mixed: the kernel's "
                    + "bridge "
                + "between two veth pairs set up like the switch's ports vs the switch over tap/xdp/mixed; netns "
                        + "iperf3: kernel veth "
                + "vs the switch over shm; switch vhost-user: OVS-DPDK vs the switch, testpmd looping; tun iperf3: "
                        + "veth vs the Java TUN "
                + "relay plain/offload; xdp rx/tx: DPDK net_af_xdp vs Ringlink's XSK; shm: gVisor Go<->Go vs "
                        + "Java<->Java (and DPDK memif "
                + "for scale); memif rx/tx: testpmd server<->testpmd client vs our memif server with the same testpmd "
                        + "client (rx also receiving in place, zero copy); "
                + "af_packet rx/tx (64 B): DPDK net_af_packet vs our packet: link on the same veth end; af_packet "
                        + "iperf3: a kernel "
                + "bridge vs the switch over two packet: ports between the same veths; "
                + "vhost-user rx|tx split|packed: DPDK net_vhost vs Ringlink's back-end, testpmd virtio-user the "
                        + "front-end of both; "
                + "vhost-net tx/rx: testpmd virtio_user vs our link vs TAP, in a QEMU TCG guest (minutes: leave it out "
                        + "with "
                + "--only '^(?!vhost-net)'); vxlan iperf3: the kernel's bridge + vxlan vs TAP + the switch + a vxlan: "
                        + "port, "
                + "both against the kernel's vxlan over a veth underlay; vxlan underlay udp: iperf3 -u vs the udp: "
                        + "link with "
                + "and without GSO/GRO (--quick runs these two only with --only, e.g. --only vxlan). JMH-only "
                        + "benchmarks are listed as skipped with the class to run.",
            "",
            "Every cell runs from this jar's own class path (the peer harnesses are ringlink.cli.bench.harness classes "
                    + "run in a child JVM; "
                + "vhost-net's guest side still needs ringlink-core's test classes, built by ./mvnw install). Besides "
                        + "the absolute charts, "
                + "ratios.png shows each cell's ratio to its reference with min-max whiskers over the runs and a line "
                        + "at the goal its issue set."},
        footer = {"", "Examples:",
            "  ringlink bench --quick                      # seconds: checks the harness",
            "  ringlink bench --repeat 5 --duration 10     # the full measurement",
            "  ringlink bench --only 'switch' --sizes 64,1500",
            "  ringlink bench --only '^(?!vhost-net)'       # everything but the QEMU guest",
            "  ringlink bench --only '^(xdp|shm)' --duration 3",
            "  sudo ringlink bench --only vxlan --quick        # the tunnel cells, about a minute",
            "  sudo ringlink bench tun --repeat 3            # veth vs the Java TUN relay alone, its own options "
                    + "(bench tun --help)"})
public final class BenchCommand implements Callable<Integer> {
    @Option(names = "--quick", description =
            "CI mode (~15 s): the in-memory switch cells, and as root the tun cells (veth vs the Java TUN relay, "
            + "1 s iperf3 each); 64-byte frames, 2 short runs.")
    boolean quick;

    @Option(names = "--repeat", paramLabel = "N", description = "Runs per cell (default: 3; --quick: 2).")
    Integer repeat;

    @Option(names = "--duration", paramLabel = "SECONDS", description = "Length of one run (default: 5; --quick: 0.3).")
    Double duration;

    @Option(names = "--sizes", paramLabel = "BYTES", split = ",",
            description = "Frame sizes (default: 64,1500; --quick: 64).")
    List<Integer> sizes;

    @Option(names = "--only", paramLabel = "REGEX",
            description = "Run only cells whose label (group size variant) matches.")
    String only;

    @Option(names = "--results", paramLabel = "DIR",
            description = "Where results go (default: bench-results/<date-time>).")
    Path results;

    @Option(names = "--list", description = "List the cells and exit.")
    boolean list;

    PrintStream out = System.out;
    PrintStream err = System.err;

    @Override
    public Integer call() throws Exception {
        int rep = repeat != null ? repeat : quick ? 2 : 3;
        double secs = duration != null ? duration : quick ? 0.3 : 5;
        List<Integer> sz = sizes != null ? sizes : quick ? List.of(64) : List.of(64, 1500);
        if (rep < 1) throw new IllegalArgumentException("--repeat must be at least 1");
        if (secs <= 0) throw new IllegalArgumentException("--duration must be positive");
        for (int s : sz) if (s < 60 || s > 9018)
                throw new IllegalArgumentException("frame size " + s + " not in [60, 9018]");
        BenchOptions o = new BenchOptions(sz, Duration.ofMillis((long) (secs * 1000)), rep, quick);
        List<BenchCell> cells = new ArrayList<>(BenchRunner.discover(o));
        if (quick && only == null) cells.removeIf(BenchCell::quickWhenSelected); // CI's --quick stays short
        if (only != null) {
            Pattern p = Pattern.compile(only);
            cells.removeIf(c -> !p.matcher(c.label()).find());
        }
        if (cells.isEmpty()) {
            err.println("ringlink bench: no cells to run" + (only != null ? " match --only " + only : ""));
            return 2;
        }
        if (list) {
            for (BenchCell c : cells) {
                String why = c.unavailable();
                out.println(c.label() + (c.reference() ? " (reference)" : "")
                        + (why != null ? "  [skipped here: " + why + "]" : ""));
            }
            return 0;
        }
        String started = LocalDateTime.now().withNano(0).toString();
        Path dir = results != null ? results
                : Path.of("bench-results", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        ProgressBar bar = new ProgressBar(err, ringlink.cli.support.Terminal.stdoutIsTty());
        List<CellResult> res = BenchRunner.run(cells, o, bar::step);
        bar.done();
        String table = BenchReport.table(res, o);
        out.print(table);
        BenchReport.write(dir, res, o, started);
        List<Path> charts = BenchChart.write(dir, res);
        out.println("results: " + dir.resolve("results.json") + ", " + dir.resolve("results.csv") + ", "
                + dir.resolve("table.txt"));
        out.println("charts:  " + String.join(", ", charts.stream().map(Path::toString).toList()));
        long failed = res.stream().filter(r -> r.error() != null).count();
        if (failed > 0) err.println("ringlink bench: " + failed + " cell(s) failed (see the table)");
        return failed > 0 ? 1 : 0;
    }

    /** A progress bar on a terminal; one line per step elsewhere. */
    static final class ProgressBar {
        private final PrintStream out;
        private final boolean tty;
        private final long t0 = System.nanoTime();

        ProgressBar(PrintStream out, boolean tty) {
            this.out = out;
            this.tty = tty;
        }

        void step(int done, int total, String what) {
            int width = 30;
            int filled = total == 0 ? width : done * width / total;
            String line =
                    String.format(Locale.ROOT, "[%s%s] %d/%d %4.0fs %s", "#".repeat(filled), "-".repeat(width - filled),
                    done, total, (System.nanoTime() - t0) / 1e9, what);
            if (tty) {
                out.print("\r" + line + "\033[K");
            } else {
                out.println(line);
            }
            out.flush();
        }

        void done() {
            if (tty) out.println();
        }
    }
}
