package ringlink.cli.demo;

import static ringlink.cli.demo.DemoTools.ns;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import ringlink.cli.demo.DemoStep.Outcome;
import ringlink.cli.support.Cleanup;
import ringlink.cli.support.Shell;

/**
 * {@code ringlink demo}: the first thing a new user runs. Two network namespaces talk through a
 * Ringlink switch over each transport that this build has; ping and iperf3 show it works and how
 * fast; everything created is removed at the end, on an error, or on Ctrl-C.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Shows Ringlink working on this machine: two namespaces talking through its switch.",
            "",
            "Run as root: creates two network namespaces per step and connects them through a Ringlink switch over "
                    + "each "
                + "transport in this build (TAP with offloads, AF_XDP on veth, TAP to AF_XDP with software "
                        + "segmentation, "
                + "shared memory (shm:) to a second ringlink process, memif to DPDK testpmd, AF_PACKET on veth, VXLAN "
                        + "between two \"hosts\" "
                + "(the kernel's vxlan device on one, a ringlink switch process with a vxlan: port on the other), "
                + "vhost-user to a QEMU guest), "
                + "runs ping and a short iperf3 through it with live throughput, prints a summary table and says what "
                        + "each "
                + "step shows. Everything it creates (namespaces, interfaces, processes) is removed at the end, also "
                        + "on Ctrl-C.",
            "",
            "Without root only the in-memory step runs."},
        footer = {"", "Examples:", "  sudo ./ringlink demo",
                "  sudo ./ringlink demo --steps veth,tap --iperf-seconds 10", "  sudo ./ringlink demo --steps shm",
            "  ./ringlink demo --list                      # the steps (memory, veth, tap, xdp, mixed, shm, memif, "
                    + "packet, vxlan, vm) and which can run"})
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--iperf-seconds", paramLabel = "N",
            description = "Length of each iperf3 run (default: ${DEFAULT-VALUE}).")
    int iperfSeconds = 3;

    @Option(names = "--steps", paramLabel = "NAME", split = ",", description = "Run only these steps (see --list).")
    List<String> only;

    @Option(names = "--prefix", paramLabel = "NAME", description =
            "Prefix of every namespace and interface created (at most 6 characters; default: ${DEFAULT-VALUE}).")
    String prefix = "rldemo";

    @Option(names = "--list", description = "List the steps, whether each can run here, and exit.")
    boolean list;

    /** Where the progress and the summary go (a test replaces it). */
    public PrintStream out = System.out;

    /** The steps in the order they run (one class each in this package). */
    public static List<DemoStep> steps() {
        return List.of(new InMemoryStep(), new VethStep(), new TapStep(), new XdpStep(), new MixedStep(),
                new SharedMemoryStep(),
                new MemifStep(), new PacketStep(), new VxlanStep(false), new VmStep());
    }

    @Override
    public Integer call() throws Exception {
        if (!prefix.matches("[a-z][a-z0-9]{0,5}")) throw new IllegalArgumentException(
                "--prefix must be 1-6 lower-case letters/digits, starting with a letter");
        if (iperfSeconds < 1 || iperfSeconds > 600)
                throw new IllegalArgumentException("--iperf-seconds must be in [1, 600]");
        boolean root = Shell.isRoot();
        Cleanup cleanup = new Cleanup(m -> out.println("  ! " + m));
        DemoContext c = new DemoContext(prefix, iperfSeconds, out, cleanup, root);
        List<DemoStep> steps = new ArrayList<>(steps());
        if (only != null) {
            for (String n : only) {
                if (steps.stream().noneMatch(s -> s.name().equals(n))) {
                    throw new IllegalArgumentException("unknown step '" + n + "' (steps: "
                            + String.join(", ", steps.stream().map(DemoStep::name).toList()) + ")");
                }
            }
            steps.removeIf(s -> !only.contains(s.name()));
        }
        if (list) {
            for (DemoStep s : steps) {
                String why = s.unavailable(c);
                out.printf(Locale.ROOT, "%-8s %-44s %s%n", s.name(), s.title(),
                        why == null ? "ready" : "skipped here: " + why);
            }
            return 0;
        }
        Thread hook = new Thread(() -> {
            out.println();
            out.println("ringlink demo: interrupted; removing what it created ...");
            cleanup.run();
            out.println("ringlink demo: clean.");
        }, "ringlink-demo-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        out.println("Ringlink demo: two network namespaces talking through a Ringlink switch, one transport per step.");
        if (!root) out.println(
                "(not root: namespaces need root, so only the in-memory step runs; try 'sudo ./ringlink demo')");
        if (root) removeLeftovers(c);
        List<String[]> rows = new ArrayList<>();
        int failed = 0, n = 0;
        try {
            for (DemoStep s : steps) {
                n++;
                out.println();
                out.printf(Locale.ROOT, "[%d/%d] %s%n", n, steps.size(), s.title());
                String why = s.unavailable(c);
                Outcome o;
                if (why != null) {
                    c.say("skipped: " + why);
                    o = new Outcome("skipped", "-", "-", why);
                } else {
                    try {
                        o = s.run(c);
                        c.say("proves: " + s.proves());
                    } catch (Exception e) {
                        failed++;
                        c.say("FAILED: " + e.getMessage());
                        o = new Outcome("FAILED", "-", "-", String.valueOf(e.getMessage()));
                    } finally {
                        cleanup.run(); // each step leaves nothing behind for the next
                    }
                }
                rows.add(new String[] {s.name(), o.status(), o.ping(), o.throughput(),
                        o.retransmits() < 0 ? "-" : String.valueOf(o.retransmits()),
                    o.status().equals("ok") ? s.proves() : o.note()});
            }
        } finally {
            cleanup.run();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs (or ran) instead
            }
        }
        out.println();
        out.println("Summary");
        out.printf(Locale.ROOT, "  %-8s %-8s %-12s %-14s %-7s %s%n", "step", "result", "ping (avg)", "throughput",
                "retr", "what it shows");
        for (String[] r : rows) out.printf(Locale.ROOT, "  %-8s %-8s %-12s %-14s %-7s %s%n", (Object[]) r);
        out.println("  (retr: TCP retransmissions of the iperf3 sender; the veth step is the kernel's own figure in "
                + "the same run)");
        if (root) {
            String left = leftovers(c);
            out.println(left.isEmpty() ? "Cleanup checked: no namespaces or interfaces named " + prefix + "* are left."
                    : "WARNING: left behind: " + left);
            if (!left.isEmpty()) failed++;
        }
        return failed == 0 ? 0 : 1;
    }

    // ---- what an earlier run left behind ----

    /** Namespaces and interfaces a killed earlier run (SIGKILL) may have left. */
    static void removeLeftovers(DemoContext c) throws IOException {
        for (String name : ourNamespaces(c)) {
            Shell.run(10, "ip", "netns", "del", name);
            c.out().println("(removed namespace " + name + " left by an earlier run)");
        }
        for (String dev : devices(c)) {
            // A veth's peer goes with it, so the second of a pair may already be gone.
            if (Shell.run(10, "ip", "link", "del", dev).ok())
                    c.out().println("(removed interface " + dev + " left by an earlier run)");
        }
    }

    /** The interface names the steps use after the prefix: only these are ever removed as leftovers. */
    static final List<String> DEVICE_SUFFIXES = List.of("va", "vb", "ta", "tb", "xa", "xah", "xb", "xbh", "ma", "mb",
            "mbh", "sa", "sb", "wa", "fa", "pa", "pah", "pb", "pbh", "pbr");

    /** Interfaces in this namespace that one of the steps would have created. */
    static List<String> devices(DemoContext c) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Shell.run(10, "ip", "-o", "link", "show").output().split("\n")) {
            String[] f = line.split(": ");
            if (f.length < 2) continue;
            String dev = f[1].split("@")[0].strip();
            if (dev.startsWith(c.prefix()) && DEVICE_SUFFIXES.contains(dev.substring(c.prefix().length())))
                    out.add(dev);
        }
        return out;
    }

    /** Namespaces one of the steps would have created. */
    static List<String> ourNamespaces(DemoContext c) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Shell.run(10, "ip", "netns", "list").output().split("\n")) {
            String name = line.strip().split(" ")[0];
            for (DemoStep s : steps()) {
                if (name.equals(ns(c, s.name(), 'a')) || name.equals(ns(c, s.name(), 'b'))) out.add(name);
            }
        }
        return out;
    }

    static String leftovers(DemoContext c) throws IOException {
        List<String> left = new ArrayList<>(devices(c));
        for (String name : ourNamespaces(c)) left.add("netns " + name);
        return String.join(", ", left);
    }
}
