package ringlink.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.cli.demo.DemoTools;
import ringlink.cli.demo.GuestVm;
import ringlink.cli.support.Shell;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.sw.PortStats;
import ringlink.sw.Switch;
import ringlink.testing.Env;

/**
 * Issue #19's run-time port: iperf3 runs between two namespaces through the switch's TAP ports
 * while a vhost-user port is added, a QEMU guest boots onto it and is pinged through the switch,
 * and the port is removed again. Every iperf3 run must complete, before, during and after.
 */
class SwitchHotplugQemuTest {
    static final String NS_A = "rlhq-a", NS_B = "rlhq-b", TAP_A = "rlhqa", TAP_B = "rlhqb";

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 900, unit = TimeUnit.SECONDS)
    void aGuestBootsOntoAPortAddedWhileIperf3RunsBetweenTwoOthers() throws Exception {
        Env.requireNetns();
        Env.requireProgram("iperf3", "iperf3");
        Env.require(GuestVm.unavailable() == null, "a QEMU guest: " + GuestVm.unavailable());
        Env.require(Links.providers().containsKey("tap") && Links.providers().containsKey("vhost-user"),
                "the tap and vhost-user transports");
        List<Runnable> cleanup = new ArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        Switch sw = null;
        Thread iperfLoop = null;
        try {
            for (String ns : List.of(NS_A, NS_B)) {
                Shell.run(10, "ip", "netns", "del", ns);
                Shell.must(10, "ip", "netns", "add", ns);
                cleanup.add(() -> quietly(() -> Shell.run(10, "ip", "netns", "del", ns)));
                Shell.must(10, "ip", "-n", ns, "link", "set", "lo", "up");
            }
            Link la = Links.open("tap:" + TAP_A);
            Link lb = Links.open("tap:" + TAP_B);
            sw = Switch.builder().threads(2).port(la).port(lb).build();
            sw.start();
            DemoTools.place(TAP_A, NS_A, "10.79.0.1/24");
            DemoTools.place(TAP_B, NS_B, "10.79.0.2/24");

            // iperf3 back to back (5 s runs) until told to stop; each run must report a receiver rate.
            List<String> runs = java.util.Collections.synchronizedList(new ArrayList<>());
            AtomicReference<String> iperfFailure = new AtomicReference<>();
            Process server = new ProcessBuilder("ip", "netns", "exec", NS_B, "iperf3", "-s", "-B", "10.79.0.2")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            cleanup.add(() -> Shell.kill(server));
            iperfLoop = Thread.ofPlatform().name("rlhq-iperf").start(() -> {
                try {
                    for (int attempt = 0; !stop.get() && iperfFailure.get() == null; attempt++) {
                        Shell.Result r =
                                Shell.run(60, "ip", "netns", "exec", NS_A, "iperf3", "-c", "10.79.0.2", "-t", "5");
                        if (r.ok() && r.output().contains("receiver")) {
                            runs.add(r.output());
                        } else if (runs.isEmpty() && attempt < 20) {
                            Thread.sleep(200); // the server may still be starting
                        } else {
                            iperfFailure.set(r.output());
                        }
                    }
                } catch (Exception e) {
                    iperfFailure.set(e.toString());
                }
            });
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (runs.isEmpty() && iperfFailure.get() == null && System.nanoTime() < deadline) Thread.sleep(100);
            assertNull(iperfFailure.get(), "iperf3 before the new port");
            assertFalse(runs.isEmpty(), "no iperf3 run completed within 60 s");

            // The vhost-user port arrives while iperf3 runs; then the guest boots onto it.
            Path sock = dir.resolve("vm.sock");
            int vport = sw.addPort(Links.open("vhost-user:" + sock + "?mode=server"), null);
            int before = runs.size();
            GuestVm vm = GuestVm.start(dir, sock, "52:54:00:79:00:03", "10.79.0.3/24", null, 1);
            cleanup.add(vm::close);
            vm.awaitReady(600);
            Shell.Result ping = Shell.run(60, "ip", "netns", "exec", NS_A, "ping", "-c", "3", "-W", "5", "10.79.0.3");
            assertTrue(ping.ok(), "ping the guest through the switch:\n" + ping.output());
            assertTrue(sw.isUp(vport));
            assertNull(iperfFailure.get(), "iperf3 while the guest booted");
            assertTrue(runs.size() > before, "an iperf3 run completed while the guest was on the switch");

            // Removed while iperf3 runs (and the guest still sends): the TAP ports go on.
            sw.removePort(vport);
            int afterRemove = runs.size();
            deadline = System.nanoTime() + 60_000_000_000L;
            while (runs.size() < afterRemove + 2 && iperfFailure.get() == null && System.nanoTime() < deadline)
                    Thread.sleep(100);
            assertNull(iperfFailure.get(), "iperf3 after the port was removed");
            assertTrue(runs.size() >= afterRemove + 2, "two iperf3 runs after the removal");
            stop.set(true);
            iperfLoop.join(60_000);
            for (PortStats p : sw.stats().ports()) {
                assertTrue(p.up(), p.name() + " went down");
                assertEquals(0, p.drops().getOrDefault(ringlink.sw.DropReason.PORT_DOWN, 0L),
                        p.name() + ": " + p.drops());
            }
        } finally {
            stop.set(true);
            if (iperfLoop != null) iperfLoop.join(60_000);
            if (sw != null) sw.close();
            for (int i = cleanup.size() - 1; i >= 0; i--) quietly(cleanup.get(i)::run);
        }
    }

    interface Action {
        void run() throws Exception;
    }

    static void quietly(Action a) {
        try {
            a.run();
        } catch (Exception ignored) {
            // best effort cleanup
        }
    }
}
