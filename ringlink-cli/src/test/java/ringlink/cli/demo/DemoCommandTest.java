package ringlink.cli.demo;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;
import ringlink.testing.Env;

/** {@code ringlink demo}: steps, summary, and nothing left behind (also when interrupted). */
class DemoCommandTest {
    static String runDemo(String... args) {
        DemoCommand cmd = new DemoCommand();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        cmd.out = new PrintStream(out, true);
        int exit = new CommandLine(cmd).execute(args);
        return exit + "\n" + out;
    }

    @Test
    @Timeout(30)
    void listsTheStepsAndWhyOnesAreSkipped() {
        String s = runDemo("--list");
        assertTrue(s.startsWith("0\n"), s);
        assertTrue(s.contains("memory") && s.contains("veth") && s.contains("tap") && s.contains("xdp"), s);
        assertTrue(s.matches("(?s).*\\nshm\\s+Shared memory: .*"), s);
        assertTrue(s.matches("(?s).*\\nvxlan\\s+VXLAN, two hosts: .*"), s);
        assertTrue(s.matches("(?s).*memory\\s+.*ready.*"), s);
    }

    @Test
    @Timeout(30)
    void theInMemoryStepRunsAnywhere() {
        String s = runDemo("--steps", "memory", "--prefix", "rlcl");
        assertTrue(s.startsWith("0\n"), s);
        assertTrue(s.matches("(?s).*memory\\s+ok\\s+-\\s+[0-9.]+ Mpps.*"), s);
    }

    @Test
    @Timeout(600)
    void namespaceStepsRunAndLeaveNothingBehind() throws Exception {
        Env.requireNetns();
        Env.requireProgram("iperf3", "iperf3");
        Env.requireProgram("ping", "iputils-ping");
        // tap, xdp, mixed and vm run once their transports are merged (vm also needs QEMU).
        String s = runDemo("--steps", "veth,tap,xdp,mixed,vm", "--prefix", "rlcl", "--iperf-seconds", "1");
        assertTrue(s.startsWith("0\n"), s);
        assertTrue(s.matches("(?s).*veth\\s+ok\\s+[0-9.]+ ms\\s+[0-9.]+ [GM]bit/s.*"), s);
        for (String scheme : new String[] {"tap", "xdp", "mixed"}) {
            if (ringlink.link.Links.providers().keySet().containsAll(scheme.equals("mixed")
                    ? java.util.List.of("tap", "xdp") : java.util.List.of(scheme))) {
                assertTrue(s.matches("(?s).*\\n  " + scheme + "\\s+ok\\s+[0-9.]+ ms\\s+[0-9.]+ [GM]bit/s.*"),
                        scheme + " step:\n" + s);
            }
        }
        if (ringlink.link.Links.providers().keySet().containsAll(java.util.List.of("tap", "vhost-user"))
                && GuestVm.unavailable() == null) {
            assertTrue(s.matches("(?s).*\\n  vm\\s+ok\\s+[0-9.]+ ms.*"), "vm step:\n" + s);
        }
        assertTrue(s.contains("Cleanup checked: no namespaces or interfaces named rlcl* are left."), s);
        assertLeftNothing("rlcl-");
        assertTrue(ProcessHandle.allProcesses()
                .noneMatch(h -> h.info().commandLine().orElse("").contains("qemu-system-x86_64")
                && h.info().commandLine().orElse("").contains("rlcl-vm")), "QEMU still running");
    }

    /** A run killed with SIGKILL leaves objects behind; the next run removes exactly those, nothing else. */
    @Test
    @Timeout(60)
    void leftoversOfAKilledRunAreRemovedAndNothingElse() throws Exception {
        Env.requireNetns();
        try {
            Env.run(10, "ip", "netns", "add", "rlclx-veth-a");
            Env.run(10, "ip", "link", "add", "rlclxva", "type", "veth", "peer", "name", "rlclxvb");
            Env.run(10, "ip", "link", "add", "rlclxzz", "type", "veth", "peer", "name", "rlclxzy");
            String s = runDemo("--steps", "memory", "--prefix", "rlclx");
            assertTrue(s.contains("removed namespace rlclx-veth-a"), s);
            assertTrue(s.contains("removed interface rlclxva") || s.contains("removed interface rlclxvb"), s);
            assertFalse(Env.run(10, "ip", "netns", "list").contains("rlclx-veth-a"));
            assertNotEquals(0, Env.runQuiet(10, "ip", "link", "show", "rlclxva"));
            assertEquals(0, Env.runQuiet(10, "ip", "link", "show", "rlclxzz"), "not the demo's: must stay");
        } finally {
            Env.runQuiet(10, "ip", "netns", "del", "rlclx-veth-a");
            Env.runQuiet(10, "ip", "link", "del", "rlclxva");
            Env.runQuiet(10, "ip", "link", "del", "rlclxzz");
        }
    }

    /** Ctrl-C in the middle of a step: the shutdown hook removes the namespaces. */
    @Test
    @Timeout(120)
    void anInterruptedDemoRemovesEverything() throws Exception {
        Env.requireNetns();
        Env.requireProgram("iperf3", "iperf3");
        Path log = Files.createTempFile("rlcl-demo", ".log");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"),
                "ringlink.cli.Main", "demo", "--steps", "veth", "--prefix", "rlcli", "--iperf-seconds", "30")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!Files.readString(log).contains("iperf3:") && System.nanoTime() < deadline && p.isAlive())
                    Thread.sleep(100);
            assertTrue(Files.readString(log).contains("iperf3:"), "iperf3 never started:\n" + Files.readString(log));
            assertTrue(Env.run(10, "ip", "netns", "list").contains("rlcli-veth-a"));
            Env.run(10, "kill", "-INT", String.valueOf(p.pid()));
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "demo did not exit on SIGINT");
            String out = Files.readString(log);
            assertTrue(out.contains("ringlink demo: clean."), out);
            assertLeftNothing("rlcli-");
        } finally {
            p.destroyForcibly();
            Env.runQuiet(10, "ip", "netns", "del", "rlcli-veth-a");
            Env.runQuiet(10, "ip", "netns", "del", "rlcli-veth-b");
            Files.deleteIfExists(log);
        }
    }

    /** The memif step: testpmd (net_memif client, icmpecho) answers ping through our memif server; nothing is left. */
    @Test
    @Timeout(180)
    void memifStepPingsTestpmd() throws Exception {
        Env.requireNetns();
        Env.requireTun();
        Env.requireProgram("dpdk-testpmd", "dpdk-dev (+ librte-net-memif23)");
        String s = runDemo("--steps", "memif", "--prefix", "rlcm", "--iperf-seconds", "1");
        assertTrue(s.startsWith("0\n"), s);
        assertTrue(s.matches("(?s).*\\n  memif\\s+ok\\s+[0-9.]+ ms.*"), s);
        assertTrue(s.contains("no namespaces or interfaces named rlcm* are left"), s);
        assertFalse(ProcessHandle.allProcesses()
                .anyMatch(h -> h.info().commandLine().orElse("").contains("rlcm-memif")), "testpmd still running");
    }

    /** The packet step: AF_PACKET ports on the host ends of two veths carry ping and iperf3; nothing is left. */
    @Test
    @Timeout(180)
    void packetStepSwitchesTwoExistingInterfaces() throws Exception {
        Env.requireNetns();
        Env.requireProgram("iperf3", "iperf3");
        Env.requireProgram("ping", "iputils-ping");
        String s = runDemo("--steps", "packet", "--prefix", "rlcq", "--iperf-seconds", "1");
        assertTrue(s.startsWith("0\n"), s);
        assertTrue(s.matches("(?s).*\\n  packet\\s+ok\\s+[0-9.]+ ms\\s+[0-9.]+ [GM]bit/s.*"), s);
        assertTrue(s.contains("switch started: packet:rlcqpah"), s);
        assertTrue(s.contains("kernel, per packet socket: "), s);
        assertTrue(s.contains("Cleanup checked: no namespaces or interfaces named rlcq* are left."), s);
        assertLeftNothing("rlcq-");
    }

    /** The shm step: a second ringlink process holds the other end of the shm: link; nothing of it survives. */
    @Test
    @Timeout(180)
    void shmStepCrossesASecondProcessAndLeavesNothing() throws Exception {
        Env.requireNetns();
        Env.requireProgram("iperf3", "iperf3");
        Env.requireProgram("ping", "iputils-ping");
        String s = runDemo("--steps", "shm", "--prefix", "rlcs", "--iperf-seconds", "1");
        assertTrue(s.startsWith("0\n"), s);
        assertTrue(s.contains("second process (pid"), s);
        assertTrue(s.matches("(?s).*\\n  shm\\s+ok\\s+[0-9.]+ ms\\s+[0-9.]+ [GM]bit/s.*"), s);
        assertTrue(s.contains("Cleanup checked: no namespaces or interfaces named rlcs* are left."), s);
        assertLeftNothing("rlcs-");
        assertNoShmPeer("rlcs-shm");
    }

    /**
     * The vxlan step: the kernel's vxlan device on one "host", a ringlink switch process on the other; nothing
     * survives.
     */
    @Test
    @Timeout(240)
    void vxlanStepTalksToTheKernelsVxlanAndLeavesNothing() throws Exception {
        Env.requireNetns();
        Env.requireTun();
        Env.requireProgram("iperf3", "iperf3");
        Env.requireProgram("ping", "iputils-ping");
        Env.requireProgram("ethtool", "ethtool");
        String s = runDemo("--steps", "vxlan", "--prefix", "rlcv", "--iperf-seconds", "1");
        assertTrue(s.startsWith("0\n"), s);
        assertTrue(s.contains("host b (pid"), s);
        assertTrue(s.matches("(?s).*\\n  vxlan\\s+ok\\s+[0-9.]+ ms\\s+[0-9.]+ [GM]bit/s.*"), s);
        assertTrue(s.matches("(?s).*switch: vxlan:10\\.77\\.7\\.2\\S*\\s+yes\\s+[1-9][0-9]*\\s.*"),
                "the vxlan port received:\n" + s);
        assertTrue(s.contains("Cleanup checked: no namespaces or interfaces named rlcv* are left."), s);
        assertLeftNothing("rlcv-");
        assertNoShmPeer("rlcv-vxlan"); // the switch process's command line names its namespace
    }

    /** SIGINT while iperf3 runs through the shm step: the second process goes too. */
    @Test
    @Timeout(120)
    void anInterruptedShmStepStopsTheSecondProcess() throws Exception {
        Env.requireNetns();
        Env.requireProgram("iperf3", "iperf3");
        Path log = Files.createTempFile("rlcj-demo", ".log");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"),
                "ringlink.cli.Main", "demo", "--steps", "shm", "--prefix", "rlcj", "--iperf-seconds", "30")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!Files.readString(log).contains("iperf3:") && System.nanoTime() < deadline && p.isAlive())
                    Thread.sleep(100);
            assertTrue(Files.readString(log).contains("iperf3:"), "iperf3 never started:\n" + Files.readString(log));
            assertTrue(ProcessHandle.allProcesses()
                    .anyMatch(h -> h.info().commandLine().orElse("").contains("rlcj-shm")), "no second process");
            Env.run(10, "kill", "-INT", String.valueOf(p.pid()));
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "demo did not exit on SIGINT");
            String out = Files.readString(log);
            assertTrue(out.contains("ringlink demo: clean."), out);
            assertLeftNothing("rlcj-");
            assertNoShmPeer("rlcj-shm");
        } finally {
            p.destroyForcibly();
            Env.runQuiet(10, "ip", "netns", "del", "rlcj-shm-a");
            Env.runQuiet(10, "ip", "netns", "del", "rlcj-shm-b");
            Files.deleteIfExists(log);
        }
    }

    static void assertNoShmPeer(String marker) throws InterruptedException {
        // Shell.kill waits for it, but give the process table a moment on a loaded machine.
        for (int i = 0; i < 50 && ProcessHandle.allProcesses()
                .anyMatch(h -> h.info().commandLine().orElse("").contains(marker)); i++) Thread.sleep(100);
        assertTrue(ProcessHandle.allProcesses().noneMatch(h -> h.info().commandLine().orElse("").contains(marker)),
                "the second ringlink process is still running");
    }

    static void assertLeftNothing(String prefix) {
        String ns = Env.run(10, "ip", "netns", "list");
        assertFalse(ns.contains(prefix), "namespaces left: " + ns);
        String links = Env.run(10, "ip", "-o", "link", "show");
        assertFalse(links.contains(": " + prefix.replace("-", "")), "interfaces left: " + links);
        assertTrue(ProcessHandle.allProcesses()
                .noneMatch(h -> h.info().commandLine().orElse("").contains("iperf3 -s -1 -B 10.77.")),
                "an iperf3 server is still running");
    }
}
