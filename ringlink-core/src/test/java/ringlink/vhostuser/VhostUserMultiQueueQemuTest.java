package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.link.LinkDevice;
import ringlink.link.Links;
import ringlink.sw.PortStats;
import ringlink.sw.Switch;
import ringlink.testing.Env;
import ringlink.testing.qemu.QemuGuest;

/**
 * A QEMU 7.2 TCG guest with a two-queue-pair virtio-net device ({@code mq=on}, two vCPUs) on a
 * Ringlink switch port ({@code vhost-user:PATH?queues=2}), a network namespace on a TAP port.
 * QEMU runs one vhost device per queue pair over the one connection and each repeats the memory
 * table's ADD_MEM_REG: the back-end must take that, and the switch must serve both pairs.
 *
 * <p>In the guest: ping from each vCPU ({@code taskset}), so both transmit queues carry traffic
 * (the guest's own per-queue counters, {@code ethtool -S}, from Debian's ethtool added to the
 * initramfs); the namespace pings the guest (every reply); then the guest changes its queue count
 * at run time ({@code ethtool -L eth0 combined 1}, then 2): with one pair everything goes through
 * queue 0 both ways (the switch no longer steers to the disabled pair), with two again pings work.
 */
class VhostUserMultiQueueQemuTest {
    @TempDir Path tmp;

    static final String NS = "rlmqq-ns", TAP = "rlmqq-t0";

    /** The guest's per-queue counters of one {@code stats LABEL} block: "A tx0" → packets. */
    static Map<String, Long> guestStats(String console) {
        Map<String, Long> out = new HashMap<>();
        Matcher m = Pattern.compile("RESULT (\\w+) (tx|rx)_queue_(\\d)_packets:(\\d+)").matcher(console);
        while (m.find()) out.put(m.group(1) + " " + m.group(2) + m.group(3), Long.parseLong(m.group(4)));
        return out;
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(value = 420, unit = TimeUnit.SECONDS)
    void twoQueuePairGuestOnASwitchPort(boolean packed) throws Exception {
        QemuGuest.requireAvailable();
        Env.requireTun();
        Env.requireNetns();
        Env.requireProgram("ethtool", "ethtool");
        Env.requireProgram("ping", "iputils-ping");
        Path sock = tmp.resolve("rlmqq-" + (packed ? "p" : "s") + ".sock");
        Env.runQuiet(10, "ip", "netns", "del", NS);
        Switch sw = null;
        QemuGuest.Running vm = null;
        try {
            Env.run(10, "ip", "netns", "add", NS);
            LinkDevice tap = Links.openDevice("tap:" + TAP + "?up=false");
            LinkDevice vh;
            try {
                vh = Links.openDevice("vhost-user:" + sock + "?queues=2&packed=" + packed);
            } catch (Exception e) {
                tap.close();
                throw e;
            }
            LinkDevice vhost = vh;
            sw = Switch.builder().threads(2).port(vhost).port(tap).build();
            Env.run(10, "ip", "link", "set", TAP, "netns", NS);
            Env.run(10, "ip", "-n", NS, "addr", "add", "10.77.6.1/24", "dev", TAP);
            Env.run(10, "ip", "-n", NS, "link", "set", TAP, "up");
            Env.run(10, "ip", "-n", NS, "link", "set", "lo", "up");
            sw.start();
            String ping = "ping -c 4 -i 0.3 -W 5 10.77.6.1";
            vm = QemuGuest.builder("rlmqq-" + (packed ? "packed" : "split"))
                    .memoryMb(512).cpus(2)
                    // Debian's ethtool (-S per-queue counters, -L queue count) and its one library
                    // beyond glibc; busybox has neither.
                    .hostFiles("/usr/sbin/ethtool", "/lib/x86_64-linux-gnu/libmnl.so.0")
                    .qemuArgs("-chardev", "socket,id=c0,path=" + sock,
                            "-netdev", "vhost-user,id=n0,chardev=c0,queues=2",
                            // vectors=0: no MSI-X (vhost-user under TCG); mq=on: two queue pairs.
                            "-device", "virtio-net-pci,netdev=n0,vectors=0,mq=on,mac=52:54:00:12:36:02"
                                    + (packed ? ",packed=on" : ""),
                            "-object", "memory-backend-memfd,id=mem,size=512M,share=on",
                            "-numa", "node,memdev=mem")
                    .script("""
                            stats() { ethtool -S eth0 | grep -E '(tx|rx)_queue_[01]_packets' | tr -d ' ' | sed \
                            "s/^/RESULT $1 /"; }
                            echos() { awk '/^Icmp:/{if(!h){for(i=1;i<=NF;i++)if($i=="InEchos")c=i;h=1}else print $c}' \
                            /proc/net/snmp; }
                            await() { for i in $(seq 1 240); do [ "$(echos)" -ge $1 ] && break; sleep 0.5; done; \
                            [ "$(echos)" -ge $1 ]; sleep 1; }
                            ip link set eth0 up
                            ip addr add 10.77.6.2/24 dev eth0
                            ethtool -l eth0 | grep -i combined
                            taskset -c 0 %1$s
                            taskset -c 1 %1$s
                            stats A
                            echo "RESULT up"
                            await 5
                            stats B
                            ethtool -L eth0 combined 1
                            taskset -c 1 %1$s
                            taskset -c 0 %1$s
                            stats C
                            echo "RESULT one-queue"
                            await 10
                            stats D
                            ethtool -L eth0 combined 2
                            taskset -c 1 %1$s
                            taskset -c 0 %1$s
                            echo "RESULT two-queues-ok"
                            """.formatted(ping))
                    .timeout(Duration.ofSeconds(300))
                    .start();
            QemuGuest.Running guest = vm;
            boolean up = vm.awaitConsole("RESULT up", Duration.ofSeconds(240));
            String console = vm.console();
            assertTrue(up, () ->
                    "the guest's pings from both vCPUs did not all come back:\n" + tail(console) + "\n" + qemu(guest));
            // The namespace sends 16 UDP flows to the guest and pings it (every reply): over both queues.
            nsTraffic();
            assertTrue(vm.awaitConsole("RESULT one-queue", Duration.ofSeconds(120)), () -> consoleOf(guest));
            // The guest has one queue pair now: the same again, and the switch must use queue 0 only.
            long q1Before = sw.stats().ports().get(0).queues().get(1).forwarded().txPackets();
            assertFalse(vhost.transmitEnabled(1), "queue pair 1 still enabled after ethtool -L eth0 combined 1");
            nsTraffic();
            long q1After = sw.stats().ports().get(0).queues().get(1).forwarded().txPackets();
            assertEquals(q1Before, q1After, "the switch put packets on the disabled queue 1");
            boolean done = vm.awaitConsole(QemuGuest.EXIT_MARKER, Duration.ofSeconds(150));
            String all = vm.console();
            assertTrue(done && all.contains(QemuGuest.EXIT_MARKER + "0"),
                    () -> "guest job failed:\n" + tail(all) + "\n" + qemu(guest));
            assertTrue(all.contains("RESULT two-queues-ok"), () -> tail(all));

            Map<String, Long> g = guestStats(all);
            // Both transmit queues carried the pings of their vCPU.
            assertTrue(g.getOrDefault("A tx0", 0L) > 0 && g.getOrDefault("A tx1", 0L) > 0, "guest per-queue " + g);
            // The namespace's flows reached the guest on both receive queues.
            assertTrue(g.get("B rx0") > g.get("A rx0") && g.get("B rx1") > g.get("A rx1"), "guest receive queues " + g);
            // With one queue pair, all of them arrived on queue 0 (16 flows + 5 pings at least).
            assertTrue(g.get("D rx0") - g.get("C rx0") >= 21, "guest receive queue 0 with one pair " + g);
            assertNull(g.get("D rx1"), "ethtool -S shows queue 1 with one pair: " + g);

            PortStats p = sw.stats().ports().get(0);
            assertEquals(2, p.queues().size());
            assertTrue(p.queues().get(0).forwarded().rxPackets() > 0 && p.queues().get(1).forwarded().rxPackets() > 0,
                    "the switch received on both queues: " + p.queues());
            assertEquals(0, p.drops().size(), "drops at the guest's port: " + p.drops());
        } finally {
            if (vm != null) vm.close();
            if (sw != null) sw.close();
            Env.runQuiet(10, "ip", "netns", "del", NS);
            Files.deleteIfExists(sock);
        }
    }

    /** 16 UDP flows (one datagram each) and 5 pings from the namespace to the guest; all pings answered. */
    private static void nsTraffic() {
        Env.run(30, "ip", "netns", "exec", NS, "bash", "-c",
                "for p in $(seq 40000 40015); do echo x > /dev/udp/10.77.6.2/$p; done");
        String out = Env.run(60, "ip", "netns", "exec", NS, "ping", "-c", "5", "-i", "0.3", "-W", "5", "10.77.6.2");
        assertTrue(out.contains("5 received"), out);
    }

    private static String tail(String s) {
        return s.length() > 6000 ? s.substring(s.length() - 6000) : s;
    }

    private static String consoleOf(QemuGuest.Running vm) {
        try {
            return tail(vm.console()) + "\n" + qemu(vm);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    private static String qemu(QemuGuest.Running vm) {
        try {
            return "QEMU: " + vm.qemuOutput();
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
