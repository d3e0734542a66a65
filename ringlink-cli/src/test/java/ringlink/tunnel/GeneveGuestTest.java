package ringlink.tunnel;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.testing.Env;
import ringlink.testing.qemu.QemuGuest;

/**
 * Geneve against the Linux kernel's own {@code geneve} module, which the host kernel lacks: the
 * QEMU guest (Debian's kernel, {@code geneve.ko} loaded) has a virtio-net NIC on a TAP that QEMU
 * opens on the host; the test moves that TAP into namespace {@code rlgq} (the underlay,
 * 10.79.0.1 here, 10.79.0.2 in the guest), where {@code ringlink switch} (its own process) joins a
 * TAP to a {@code geneve:} port. The guest's geneve device (VNI 42, port 6081) pings our TAP's
 * address and our namespace pings the guest's, through the switch.
 *
 * <p>The guest runs the host's iproute2 {@code ip} (busybox's cannot make a geneve device) from
 * the host's {@code /usr} shared read-only over 9p.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class GeneveGuestTest {
    static final String NS = "rlgq", UNDER = "rlgqu", TAP = "rlgqt";

    static void cleanup() {
        Env.runQuiet(10, "ip", "netns", "del", NS);
        Env.runQuiet(10, "ip", "link", "del", UNDER);
    }

    @Test
    void guestKernelGeneveTalksToRinglinkSwitch() throws Exception {
        Env.requireNetns();
        Env.requireTun();
        Env.requireProgram("ping", "iputils-ping");
        QemuGuest.requireAvailable();
        Path log = Files.createTempFile("rlgq-switch", ".log");
        Process sw = null;
        QemuGuest.Running vm = null;
        cleanup();
        try {
            Env.run(10, "ip", "netns", "add", NS);
            Env.run(10, "ip", "-n", NS, "link", "set", "lo", "up");
            vm = QemuGuest.builder("geneve")
                    .modules("geneve")
                    .share(Path.of("/usr"), "/usr", false)
                    .qemuArgs("-netdev", "tap,id=n0,ifname=" + UNDER + ",script=no,downscript=no",
                            "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:79:00:02")
                    .script("""
                            IF=$(ls /sys/class/net | grep -v lo | head -1)
                            ip link set $IF up
                            ip addr add 10.79.0.2/24 dev $IF
                            LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu /usr/bin/ip link add gnv0 type geneve id 42 \
                            remote 10.79.0.1 dstport 6081
                            ip link set gnv0 address 02:00:00:79:00:02 mtu 1450 up
                            ip addr add 192.168.79.2/24 dev gnv0
                            n=0
                            until ping -c 1 -W 2 192.168.79.1; do n=$((n+1)); [ $n -lt 60 ] || exit 3; done
                            ping -c 3 192.168.79.1
                            echo "RESULT geneve guest pinged ringlink"
                            n=0
                            until LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu /usr/bin/iperf3 -c 192.168.79.1 -t 3 -f m \
                            > /tmp/iperf.txt 2>&1; do
                              n=$((n+1)); [ $n -lt 20 ] || { cat /tmp/iperf.txt; exit 4; }; sleep 1; done
                            grep receiver /tmp/iperf.txt | sed 's/^/RESULT iperf3 guest->ringlink: /'
                            sleep 30
                            """)
                    .timeout(Duration.ofSeconds(240))
                    .start();
            // QEMU creates the TAP at start-up; it keeps working from the namespace it is moved to
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (Env.runQuiet(10, "ip", "link", "show", UNDER) != 0) {
                if (!vm.process().isAlive() || System.nanoTime() > deadline)
                        fail("QEMU did not create " + UNDER + ": " + vm.qemuOutput());
                Thread.sleep(100);
            }
            Env.run(10, "ip", "link", "set", UNDER, "netns", NS);
            Env.run(10, "ip", "-n", NS, "addr", "add", "10.79.0.1/24", "dev", UNDER);
            Env.run(10, "ip", "-n", NS, "link", "set", UNDER, "up");
            String java = ProcessHandle.current().info().command().orElse("java");
            sw = new ProcessBuilder(VxlanKernelTest.in(NS, java, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"),
                    "ringlink.cli.Main", "switch", "--threads", "1", "tap:" + TAP + "?mtu=1450",
                    "geneve:10.79.0.1?remote=10.79.0.2&vni=42"))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            VxlanKernelTest.waitFor(log, "prints counters", sw);
            Env.run(10, "ip", "-n", NS, "addr", "add", "192.168.79.1/24", "dev", TAP);
            Env.run(10, "ip", "-n", NS, "link", "set", TAP, "up");

            // the guest's iperf3 client (TCP through its geneve device) finds this server once it pinged us
            Process iperf = new ProcessBuilder(VxlanKernelTest.in(NS, "iperf3", "-s", "-1", "-B", "192.168.79.1"))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                assertTrue(vm.awaitConsole("RESULT geneve guest pinged ringlink", Duration.ofSeconds(200)),
                        "the guest's geneve never reached us; console:\n" + tail(vm.console()) + "\nswitch:\n"
                                + Files.readString(log));
                VxlanKernelTest.ping(NS, "192.168.79.2");
                assertTrue(vm.awaitConsole("RESULT iperf3 guest->ringlink:", Duration.ofSeconds(120)),
                        "iperf3 TCP from the guest failed; console:\n" + tail(vm.console()));
                System.out.println(vm.console().lines().filter(l -> l.startsWith("RESULT iperf3")).findFirst()
                        .orElse(""));
            } finally {
                iperf.destroyForcibly();
            }
            Env.run(10, "kill", "-USR1", Long.toString(sw.pid()));
            VxlanKernelTest.waitFor(log, "addresses learned", sw);
            String out = Files.readString(log);
            System.out.println(out);
            assertTrue(out.matches("(?s).*geneve:10\\.79\\.0\\.1\\S*\\s+yes\\s+[1-9][0-9]*\\s+[0-9]+\\s+[1-9].*"),
                    "the geneve port moved packets both ways:\n" + out);
            assertFalse(out.contains("Exception"), out);
        } finally {
            if (sw != null) {
                sw.destroy();
                if (!sw.waitFor(20, TimeUnit.SECONDS)) sw.destroyForcibly();
            }
            if (vm != null) vm.close();
            cleanup();
            Files.deleteIfExists(log);
        }
    }

    static String tail(String s) {
        return s.length() > 4000 ? "..." + s.substring(s.length() - 4000) : s;
    }
}
