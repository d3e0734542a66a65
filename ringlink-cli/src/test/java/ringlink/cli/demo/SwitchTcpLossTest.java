package ringlink.cli.demo;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.cli.support.Cleanup;
import ringlink.testing.Env;

/**
 * Issue #19's "no loss under TCP" goal: TCP (iperf3) between two namespaces through Ringlink's
 * switch over each pair of transports the demo uses that runs here without QEMU or DPDK (tap-tap,
 * xdp-xdp, tap-xdp, tap-shm-shm-tap across two processes, kernel vxlan-vxlan port-tap across two
 * hosts' namespaces) has sender retransmissions ({@code end.sum_sent.retransmits} of iperf3's
 * JSON) no higher than the kernel's veth pair in the same run.
 *
 * <p>The kernel's own figure moves from run to run (137 and 201 in two 5 s runs on an idle
 * machine of this kind, 0 on others), and on a machine other tests share, a run of 5 s can meet
 * a scheduling gap that costs a few dozen retransmissions on any path. So a pair passes with at
 * most {@code max(1.5 x veth, }{@value #FLOOR}{@code )}: the margin of the reference's own
 * variation, and a floor far below what a port dropping runs of packets costs (the demo's shm
 * step lost tens of thousands of segments in 5 s before the back-pressure design, the xdp step
 * a thousand). Throughput is printed, not asserted (no timed assertions in CI); the bench's
 * {@code netns iperf3} cells report both ({@code ringlink bench}).
 *
 * <p>Not here: the vm step (vhost-user, QEMU guest: no iperf3 in the guest's initramfs) and the
 * memif step (DPDK testpmd in icmpecho mode: no TCP).
 */
@Timeout(900)
class SwitchTcpLossTest {
    /** Interface and namespace names: {@code rltl} + the demo's suffixes ({@code rltlxah}, {@code rltl-tap-a}). */
    static final String PREFIX = "rltl";
    static final int SECONDS = 5;
    /** Retransmissions any pair may have whatever the reference's figure (see the class comment). */
    static final long FLOOR = 200;

    @Test
    void tcpThroughEveryDemoPairRetransmitsNoMoreThanTheKernelVeth() throws Exception {
        Env.requireNetns();
        Env.requireTun();
        Env.requireProgram("iperf3", "iperf3");
        Env.requireProgram("ping", "iputils-ping");
        Env.requireProgram("ethtool", "ethtool");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(log, true);
        List<String> problems = new ArrayList<>();
        Cleanup cleanup = new Cleanup(problems::add);
        DemoContext c = new DemoContext(PREFIX, SECONDS, out, cleanup, true, true);
        Map<String, DemoStep.Outcome> results = new LinkedHashMap<>();
        try {
            DemoCommand.removeLeftovers(c);
            DemoStep ref = new VethStep();
            results.put(ref.name(), run(ref, c));
            for (DemoStep s : List.of(new TapStep(), new XdpStep(), new MixedStep(),
                    new SharedMemoryStep(), new VxlanStep(false))) {
                String why = s.unavailable(c);
                assertNull(why, s.name() + " cannot run here");
                results.put(s.name(), run(s, c));
            }
        } finally {
            cleanup.run();
            System.out.println(table(results));
        }
        assertTrue(problems.isEmpty(), "cleanup: " + problems);
        assertEquals("", DemoCommand.leftovers(c), "left behind");
        long veth = results.get("veth").retransmits();
        assertTrue(veth >= 0, "the reference measured its retransmissions");
        long bound = Math.max(veth * 3 / 2, FLOOR);
        StringBuilder over = new StringBuilder();
        for (var e : results.entrySet()) {
            long r = e.getValue().retransmits();
            assertTrue(r >= 0, e.getKey() + ": no retransmission count");
            if (r > bound) over.append(e.getKey()).append(' ').append(r).append("; ");
        }
        assertTrue(over.isEmpty(),
                "more retransmissions than max(1.5 x veth " + veth + ", " + FLOOR + ") = " + bound + ": " + over
                + "\n" + table(results) + "\n" + log);
    }

    /**
     * Runs a step; one that fails outright (a second process that did not start in time on a
     * loaded machine) gets one more try: what is measured here is retransmissions, not start-up.
     */
    private static DemoStep.Outcome run(DemoStep s, DemoContext c) {
        Exception first = null;
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                return s.run(c);
            } catch (Exception e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
                System.out.println(s.name() + ": attempt " + (attempt + 1) + " failed: " + e.getMessage());
            } finally {
                c.cleanup().run(); // each step leaves nothing behind for the next
            }
        }
        throw new AssertionError(s.name() + " failed twice: " + first.getMessage(), first);
    }

    static String table(Map<String, DemoStep.Outcome> results) {
        StringBuilder sb = new StringBuilder(
                String.format(Locale.ROOT, "TCP, iperf3 %d s: %-6s %14s %8s%n", SECONDS, "pair", "throughput", "retr"));
        for (var e : results.entrySet()) {
            sb.append(String.format(Locale.ROOT, "                   %-6s %14s %8d%n", e.getKey(),
                    e.getValue().throughput(), e.getValue().retransmits()));
        }
        return sb.toString();
    }
}
