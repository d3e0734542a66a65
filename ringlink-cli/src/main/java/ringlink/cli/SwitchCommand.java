package ringlink.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import ringlink.cli.support.Terminal;
import ringlink.link.Link;
import ringlink.link.LinkDevice;
import ringlink.link.Links;
import ringlink.sw.PortStats;
import ringlink.sw.Switch;
import ringlink.sw.SwitchStats;

/** {@code ringlink switch}: an L2 learning switch between links. */
@Command(name = "switch", mixinStandardHelpOptions = true,
        description = {
            "Runs an Ethernet learning switch between ports of any transport.",
            "",
            "Learns addresses (with ageing), floods unknown and broadcast frames, optionally handles 802.1Q VLANs, "
                + "and translates offloads per port: a TSO superpacket stays whole for a port that accepts it and is "
                + "segmented (checksums finished) in software for one that does not.",
            "",
            "A port is a device with all its queues (vhost-user:PATH?queues=N, tap:NAME?queues=N): every receive queue "
                + "is polled, and each flow leaves by one of the queues the peer has enabled (hash of addresses and "
                        + "ports).",
            "",
            "On a terminal a status line shows each port's packet and bit rates and drops; SIGUSR1 prints all "
                + "counters (per queue for multi-queue ports); Ctrl-C or SIGTERM closes every port and removes what "
                        + "the ports created."},
        footer = {"",
            "Port parameters for the switch (removed before the link is opened):",
            "  port.vlan=10              access port in VLAN 10 (with --vlan-aware)",
            "  port.trunk=10,20-29       trunk port carrying those VLANs tagged",
            "  port.native=1             ...and VLAN 1 untagged",
            "  port.maclimit=N           most addresses the port may hold in the table (default: --mac-limit)",
            "  port.allow=MAC[,MAC...]   port security: only frames from these sources; no other port may use them",
            "",
            "Examples:",
            "  ringlink switch tap:rl0 tap:rl1",
            "  ringlink switch --vlan-aware 'tap:rl0?port.vlan=10' 'xdp:veth1?port.trunk=10,20'",
            "  ringlink switch 'tap:rl0?queues=2' 'vhost-user:/tmp/vm.sock?queues=2'   (QEMU: queues=2, mq=on)",
            "  ringlink switch --config switch.conf",
            "  ringlink switch --control --metrics 127.0.0.1:9520 tap:rl0     (then: ringlink ctl port/add tap:rl1)",
            "",
            "Control socket (--control): Open vSwitch's unixctl protocol, so 'ringlink ctl COMMAND' and "
                + "'ovs-appctl -t PATH COMMAND' work: list-commands, version, fdb/show, fdb/flush, port/add SPEC, "
                + "port/del NAME, port/show [NAME], port/set NAME vlan=VID|trunk=LIST [native=VID], stats/show, "
                + "tunnel/show [NAME] (a vxlan:/geneve: port's remote FDB: MAC -> remote endpoint, static or learned, "
                        + "age) "
                + "(the show commands take --json).",
            "",
            "Config file: one 'port SPEC' or 'key = value' per line (threads, ageing, vlan-aware, stats-interval, "
                    + "batch, "
                + "busy-poll-us, tx-retry-us, cpus, mac-limit, control, metrics); '#' starts a comment. Options given "
                        + "on the command line win."})
final class SwitchCommand implements java.util.concurrent.Callable<Integer> {
    @Parameters(paramLabel = "SPEC", arity = "0..*", description = "Ports, as link specs (see 'ringlink links').")
    List<String> specs = new ArrayList<>();

    @Option(names = "--config", paramLabel = "FILE", description = "Read ports and settings from FILE.")
    Path config;

    @Option(names = "--threads", paramLabel = "N",
            description = "Polling threads (default: one per core, at most one per receive queue).")
    Integer threads;

    @Option(names = "--ageing", paramLabel = "SECONDS",
            description = "Forget an address not seen for this long (default: 300).")
    Integer ageing;

    @Option(names = "--mac-limit", paramLabel = "N",
            description = "Most addresses one port may hold in the forwarding table; "
            + "a port at its limit learns no new source (its frames still flow) (default: " + Switch.DEFAULT_MAC_LIMIT
                    + ").")
    Integer macLimit;

    @Option(names = "--vlan-aware", description = "Handle 802.1Q VLANs (ports default to access VLAN 1).")
    Boolean vlanAware;

    @Option(names = "--stats-interval", paramLabel = "SECONDS", description =
            "Print every port's rates this often (default: off; the status line on a terminal is always on).")
    Integer statsInterval;

    @Option(names = "--batch", paramLabel = "N",
            description = "Packets per receive batch (default: " + Switch.DEFAULT_BATCH + ").")
    Integer batch;

    @Option(names = "--busy-poll-us", paramLabel = "MICROS",
            description = "Longest busy-poll before sleeping (default: 100; 0 sleeps at once).")
    Integer busyPollUs;

    @Option(names = "--tx-retry-us", paramLabel = "MICROS", description = "How long a port whose queue is full gets to "
            + "make room without taking a packet before the rest of a run is dropped (default: 1000; at most 4 times "
            + "that a run; a port that took nothing in its last retry gets none until it takes a packet again; 0 drops "
            + "at once).")
    Integer txRetryUs;

    @Option(names = "--cpus", paramLabel = "LIST", split = ",", description = "Pin polling thread i to the i-th CPU of "
            + "LIST, e.g. 1 or 0,1 (default: not pinned). Keeps a busy-polling thread off the CPU of the peer it "
            + "polls.")
    int[] cpus;

    @Option(names = "--duration", paramLabel = "SECONDS",
            description = "Stop after this long (default: run until interrupted).")
    Double duration;

    @Option(names = "--mirror", paramLabel = "SPEC", description = "A mirror (SPAN) port: a link that gets a copy of "
            + "every frame arriving on the mirrored ports (e.g. tap:rlmirror, then tcpdump -i rlmirror).")
    String mirrorSpec;

    @Option(names = "--capture", paramLabel = "FILE", description =
            "Write every frame arriving on the mirrored ports to a pcapng file (an in-memory mirror port).")
    Path captureFile;

    @Option(names = "--control", arity = "0..1", fallbackValue = ControlServer.DEFAULT_PATH, paramLabel = "PATH",
            description = "Serve the control socket (OVS unixctl protocol, mode 0600) at PATH (default without PATH: "
                    + ControlServer.DEFAULT_PATH + "). With it the switch may start without ports.")
    Path control;

    @Option(names = "--metrics", paramLabel = "ADDR:PORT",
            description = "Serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9520).")
    String metricsAddr;

    @Option(names = {"-v", "--verbose"}, description = "Log more: debug lines (each control command).")
    boolean verbose;

    @Option(names = {"-q", "--quiet"}, description = "Log only warnings and errors.")
    boolean quiet;

    @Option(names = "--mirror-ports", paramLabel = "N", split = ",",
            description = "Which ports --mirror/--capture copy, by position from 0 (default: all).")
    int[] mirrorPorts = new int[0];

    PrintStream out = System.out;
    PrintStream err = System.err;
    /** Set once the switch forwards (for tests). */
    final CountDownLatch running = new CountDownLatch(1);
    final AtomicReference<Switch> current = new AtomicReference<>();
    /** Stops a running switch as a signal would (for tests). */
    volatile Runnable stopper;

    /** Where the control socket and metrics listen once running (for tests). */
    final AtomicReference<Path> controlAddress = new AtomicReference<>();
    final AtomicReference<java.net.InetSocketAddress> metricsAddress = new AtomicReference<>();

    @Override
    public Integer call() throws Exception {
        List<String> all = new ArrayList<>();
        Map<String, String> set = Map.of();
        if (config != null) {
            var c = PortSpecs.readConfig(config);
            all.addAll(c.ports());
            set = c.settings();
        }
        all.addAll(specs);
        Path controlPath = control != null ? control : set.containsKey("control") ? Path.of(set.get("control")) : null;
        String metricsAt = metricsAddr != null ? metricsAddr : set.get("metrics");
        if (all.isEmpty() && controlPath == null) {
            err.println("ringlink switch: no ports given (e.g. 'ringlink switch tap:rl0 tap:rl1', or --control to add "
                    + "them later; see --help)");
            return 2;
        }
        CliLog logger = new CliLog(err, CliLog.level(verbose, quiet));
        int nThreads = pick(threads, set, "threads", Runtime.getRuntime().availableProcessors());
        int ageingS = pick(ageing, set, "ageing", 300);
        boolean vlans = vlanAware != null ? vlanAware : Boolean.parseBoolean(set.getOrDefault("vlan-aware", "false"));
        int interval = pick(statsInterval, set, "stats-interval", 0);
        int batchSize = pick(batch, set, "batch", Switch.DEFAULT_BATCH);
        int busyUs = pick(busyPollUs, set, "busy-poll-us", 100);
        int macLimitAll = pick(macLimit, set, "mac-limit", Switch.DEFAULT_MAC_LIMIT);
        int retryUs = pick(txRetryUs, set, "tx-retry-us", (int) (Switch.DEFAULT_TX_RETRY.toNanos() / 1000));

        int[] pin = cpus != null ? cpus : cpuList(set.get("cpus"));

        List<PortSpecs.Port> ports = new ArrayList<>();
        for (String s : all) ports.add(PortSpecs.parse(s));

        Switch.Builder b = Switch.builder().threads(nThreads).ageing(Duration.ofSeconds(ageingS)).vlanAware(vlans)
                .batchSize(batchSize).busyPoll(Duration.ofNanos(busyUs * 1000L))
                        .txRetry(Duration.ofNanos(retryUs * 1000L))
                .macLimit(macLimitAll).log(m -> logger.library("switch", m));
        if (pin.length > 0) b.cpus(pin);
        if (mirrorSpec != null && captureFile != null)
                throw new IllegalArgumentException("--mirror and --capture both need the mirror port: give one");
        List<AutoCloseable> opened = new ArrayList<>();
        Map<String, String> openedSpecs = new java.util.LinkedHashMap<>();
        MirrorCapture capture = null;
        Switch sw;
        try {
            for (int i = 0; i < ports.size(); i++) {
                PortSpecs.Port p = ports.get(i);
                // A device with all its queues (vhost-user queues=N, tap queues=N): every queue is served.
                LinkDevice d = Links.openDevice(p.spec());
                opened.add(d);
                openedSpecs.put(d.queueCount() == 1 ? d.queue(0).name() : d.name(), all.get(i));
                b.port(d, p.vlan());
                if (p.macLimit() != null) b.macLimit(i, p.macLimit());
                if (p.allowed() != null) b.portSecurity(i, p.allowed());
            }
            if (mirrorSpec != null) {
                Link m = Links.open(mirrorSpec);
                opened.add(m);
                b.mirror(m, mirrorPorts);
            } else if (captureFile != null) {
                capture = new MirrorCapture(captureFile);
                b.mirror(capture.switchEnd(), mirrorPorts);
            }
            sw = b.build();
        } catch (Exception e) {
            for (AutoCloseable l : opened) l.close();
            if (capture != null) capture.close();
            throw e;
        }
        MirrorCapture cap = capture;
        current.set(sw);
        Terminal term = new Terminal(out, Terminal.stdoutIsTty());
        CountDownLatch done = new CountDownLatch(1);
        SwitchControl view = new SwitchControl(sw);
        openedSpecs.forEach(view::opened);
        AtomicReference<ControlServer> ctl = new AtomicReference<>();
        AtomicReference<MetricsServer> metrics = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean stopped = new java.util.concurrent.atomic.AtomicBoolean();
        Thread hook = new Thread(() -> {
            if (!stopped.compareAndSet(false, true)) return;
            if (ctl.get() != null) ctl.get().close();
            if (metrics.get() != null) metrics.get().close();
            SwitchStats last = sw.stats(); // before close: which ports were still up
            sw.close();
            if (cap != null) {
                cap.close();
                out.println("ringlink switch: " + cap.packets() + " mirrored frames written to " + captureFile);
            }
            term.clear();
            printCounters(last, out);
            done.countDown();
        }, "ringlink-switch-shutdown");
        sw.start();
        if (cap != null) cap.start();
        try {
            if (controlPath != null) {
                ControlServer cs = new ControlServer(controlPath, logger);
                view.register(cs);
                ctl.set(cs);
            }
            if (metricsAt != null) metrics.set(new MetricsServer(metricsAt, sw, view));
        } catch (IOException | RuntimeException e) {
            if (ctl.get() != null) ctl.get().close();
            sw.close();
            if (cap != null) cap.close();
            throw e;
        }
        Runtime.getRuntime().addShutdownHook(hook);
        stopper = hook::run;
        if (ctl.get() != null) ctl.get().start();
        if (metrics.get() != null) metrics.get().start();
        controlAddress.set(ctl.get() == null ? null : ctl.get().path());
        metricsAddress.set(metrics.get() == null ? null : metrics.get().address());
        boolean usr1 = Signals.on("USR1", () -> {
            term.clear();
            printCounters(sw.stats(), out);
        });
        StringBuilder desc = new StringBuilder();
        for (int i = 0; i < sw.portCount(); i++) {
            Link l = sw.port(i);
            int nq = sw.device(i).queueCount();
            desc.append(i == 0 ? "" : ", ").append(sw.device(i).name()).append(" [mtu ").append(l.mtu())
                    .append(", offloads ").append(l.offloads())
                    .append(nq > 1 ? ", " + nq + " queues" : "").append(']');
        }
        out.println("ringlink switch: " + sw.portCount() + " ports: " + desc + "; " + sw.pollerCount()
                + " polling threads" + (pin.length > 0
                        ? " (pinned to CPU " + java.util.Arrays.toString(pin).replaceAll("[\\[\\] ]", "") + ")" : "")
                + (vlans ? ", VLAN-aware" : ""));
        if (ctl.get() != null) out.println("ringlink switch: control socket " + ctl.get().path() + " (ringlink ctl -t "
                + ctl.get().path() + " list-commands)");
        if (metrics.get() != null) {
            var a = metrics.get().address();
            out.println("ringlink switch: metrics at http://" + a.getHostString() + ":" + a.getPort() + "/metrics");
        }
        out.println("ringlink switch: Ctrl-C stops"
                + (usr1 ? "; kill -USR1 " + ProcessHandle.current().pid() + " prints counters" : ""));
        running.countDown();

        long end = duration == null ? Long.MAX_VALUE : System.nanoTime() + (long) (duration * 1e9);
        SwitchStats last = sw.stats();
        SwitchStats lastPrinted = last;
        long nextPrint = interval > 0 ? System.nanoTime() + interval * 1_000_000_000L : Long.MAX_VALUE;
        while (System.nanoTime() < end) {
            long wait = Math.min(1_000_000_000L, end - System.nanoTime());
            if (done.await(Math.max(1, wait), TimeUnit.NANOSECONDS)) return 0; // shut down by a signal
            SwitchStats now = sw.stats();
            term.status(statusLine(now, last));
            last = now;
            if (System.nanoTime() >= nextPrint) {
                term.clear();
                out.println(intervalLines(now, lastPrinted));
                lastPrinted = now;
                nextPrint += interval * 1_000_000_000L;
            }
        }
        // --duration elapsed: the same clean shutdown as on a signal.
        Runtime.getRuntime().removeShutdownHook(hook);
        hook.run();
        return 0;
    }

    private static int[] cpuList(String v) {
        if (v == null || v.isBlank()) return new int[0];
        String[] parts = v.split(",");
        int[] r = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                r[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("config: cpus = " + v
                        + " is not a comma-separated list of CPU numbers");
            }
        }
        return r;
    }

    private static int pick(Integer given, Map<String, String> set, String key, int def) {
        if (given != null) return given;
        String v = set.get(key);
        if (v == null) return def;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("config: " + key + " = " + v + " is not a number");
        }
    }

    /** One line: every port's rates. */
    static String statusLine(SwitchStats now, SwitchStats then) {
        StringBuilder sb = new StringBuilder();
        for (SwitchStats.Rate r : now.rates(then)) {
            if (!sb.isEmpty()) sb.append(" | ");
            sb.append(r.format());
        }
        return sb.append(" | macs ").append(now.macs()).toString();
    }

    static String intervalLines(SwitchStats now, SwitchStats then) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%tT", System.currentTimeMillis()));
        for (SwitchStats.Rate r : now.rates(then)) sb.append("\n  ").append(r.format());
        return sb.toString();
    }

    /** Every counter of every port (SIGUSR1 and at exit). */
    static void printCounters(SwitchStats s, PrintStream out) {
        out.printf(Locale.ROOT, "%-28s %4s %14s %14s %14s %14s %10s %10s %10s %10s %s%n", "port", "up", "rx packets",
                "rx bytes",
                "tx packets", "tx bytes", "link drops", "sw drops", "segmented", "csum done", "drop reasons");
        for (PortStats p : s.ports()) {
            var l = p.link();
            long sw = p.forwarded().rxDrops() + p.forwarded().txDrops();
            out.printf(Locale.ROOT, "%-28s %4s %14d %14d %14d %14d %10d %10d %10d %10d %s%n", p.name(),
                    p.up() ? "yes" : "no",
                    l.rxPackets(), l.rxBytes(), l.txPackets(), l.txBytes(), l.rxDrops() + l.txDrops(), sw,
                    p.segmented(), p.checksummed(), p.drops().isEmpty() ? "" : p.drops().toString());
            if (p.queues().size() > 1) {
                for (var q : p.queues()) {
                    var ql = q.link();
                    out.printf(Locale.ROOT, "%-28s %4s %14d %14d %14d %14d %10d %10d%n", "  queue " + q.queue(),
                            q.enabled() ? "on" : "off",
                            ql.rxPackets(), ql.rxBytes(), ql.txPackets(), ql.txBytes(), ql.rxDrops() + ql.txDrops(),
                            q.forwarded().rxDrops() + q.forwarded().txDrops());
                }
            }
        }
        for (PortStats p : s.ports()) {
            if (p.unlearned() > 0) out.printf(Locale.ROOT,
                    "%s: %d source addresses not learned (MAC limit; %d learned)%n", p.name(), p.unlearned(), p.macs());
            if (!p.up() && p.downReason() != null) out.printf(Locale.ROOT, "%s down: %s%n", p.name(), p.downReason());
        }
        out.println("addresses learned: " + s.macs());
        out.flush();
    }
}
