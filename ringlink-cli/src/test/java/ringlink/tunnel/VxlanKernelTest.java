package ringlink.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.testing.Env;

/**
 * Interop with the Linux kernel's own {@code vxlan} device, over a veth underlay between two
 * network namespaces: in {@code rlvxk} the kernel's vxlan (VNI 42, dstport 4789); in
 * {@code rlvxr} {@code ringlink switch} (the CLI, as its own process) with a TAP port and a
 * {@code vxlan:} port. Ping and iperf3 TCP both ways, inner IPv4 and IPv6, over an IPv4 and an
 * IPv6 underlay; tshark ({@code -d udp.port==4789,vxlan}) checks the VNI, the flags and the
 * ports of both sides' datagrams.
 *
 * <p>The kernel side's veth has transmit checksumming off: a veth hands a partially
 * checksummed packet to the other namespace as it is, and a UDP socket there (ours) then reads
 * an inner TCP checksum holding only the pseudo-header sum (on a wire, the NIC would fill it).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class VxlanKernelTest {
    static final String NS_K = "rlvxk", NS_R = "rlvxr", VETH_K = "rlvxk0", VETH_R = "rlvxr0", VX = "rlvxkv",
            TAP = "rlvxt";

    static String ip(String ns, String... args) {
        List<String> c = new ArrayList<>(List.of("ip", "-n", ns));
        c.addAll(List.of(args));
        return Env.run(15, c.toArray(String[]::new));
    }

    static String[] in(String ns, String... cmd) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        c.addAll(List.of(cmd));
        return c.toArray(String[]::new);
    }

    static void cleanup() {
        Env.runQuiet(10, "ip", "netns", "del", NS_K);
        Env.runQuiet(10, "ip", "netns", "del", NS_R);
    }

    @ParameterizedTest(name = "ipv6 underlay={0}")
    @ValueSource(booleans = {false, true})
    void kernelVxlanAndRinglinkSwitch(boolean outer6) throws Exception {
        Env.requireNetns();
        Env.requireTun();
        Env.requireProgram("iperf3", "iperf3");
        Env.requireProgram("ping", "iputils-ping");
        Env.requireProgram("ethtool", "ethtool");
        Env.requireProgram("tshark", "tshark");
        String kUnder = outer6 ? "fd78::1" : "10.78.0.1", rUnder = outer6 ? "fd78::2" : "10.78.0.2";
        int mtu = outer6 ? 1430 : 1450;
        Path log = Files.createTempFile("rlvx-switch", ".log");
        Process sw = null;
        cleanup();
        try {
            Env.run(10, "ip", "netns", "add", NS_K);
            Env.run(10, "ip", "netns", "add", NS_R);
            ip(NS_K, "link", "set", "lo", "up");
            ip(NS_R, "link", "set", "lo", "up");
            Env.run(10, "ip", "link", "add", VETH_K, "netns", NS_K, "type", "veth", "peer", "name", VETH_R, "netns",
                    NS_R);
            ip(NS_K, "addr", "add", "10.78.0.1/24", "dev", VETH_K);
            ip(NS_K, "addr", "add", "fd78::1/64", "dev", VETH_K, "nodad");
            ip(NS_R, "addr", "add", "10.78.0.2/24", "dev", VETH_R);
            ip(NS_R, "addr", "add", "fd78::2/64", "dev", VETH_R, "nodad");
            ip(NS_K, "link", "set", VETH_K, "up");
            ip(NS_R, "link", "set", VETH_R, "up");
            Env.run(10, in(NS_K, "ethtool", "-K", VETH_K, "tx", "off"));
            // the peer: the kernel's vxlan device
            ip(NS_K, "link", "add", VX, "type", "vxlan", "id", "42", "dstport", "4789", "remote", rUnder, "local",
                    kUnder);
            ip(NS_K, "link", "set", VX, "mtu", Integer.toString(mtu), "address", "02:00:00:78:00:01");
            ip(NS_K, "addr", "add", "192.168.78.1/24", "dev", VX);
            ip(NS_K, "addr", "add", "fd79::1/64", "dev", VX, "nodad");
            ip(NS_K, "link", "set", VX, "up");
            // ours: ringlink switch with a TAP and a vxlan port, as a process in the namespace
            String java = ProcessHandle.current().info().command().orElse("java");
            sw = new ProcessBuilder(
                    in(NS_R, java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    "ringlink.cli.Main", "switch", "--threads", "1", "tap:" + TAP + "?mtu=" + mtu,
                    "vxlan:" + rUnder + "?remote=" + kUnder + "&vni=42"))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            waitFor(log, "prints counters", sw);
            ip(NS_R, "addr", "add", "192.168.78.2/24", "dev", TAP);
            ip(NS_R, "addr", "add", "fd79::2/64", "dev", TAP, "nodad");
            ip(NS_R, "link", "set", TAP, "up");

            // tshark on the kernel side's underlay while both sides ping (inner IPv4 and IPv6)
            Path cap = Files.createTempFile("rlvx-tshark", ".txt");
            Process ts =
                    new ProcessBuilder(in(NS_K, "tshark", "-l", "-n", "-i", VETH_K, "-f", "udp port 4789", "-c", "12",
                    "-a", "duration:60", "-d", "udp.port==4789,vxlan", "-T", "fields", "-E", "separator=,", "-E",
                            "occurrence=f",
                    "-e", outer6 ? "ipv6.src" : "ip.src", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "vxlan.flags",
                    "-e", "vxlan.vni"))
                    .redirectError(ProcessBuilder.Redirect.PIPE).redirectOutput(cap.toFile()).start();
            try {
                waitForStderr(ts, "Capturing on");
                ping(NS_R, "192.168.78.1");
                ping(NS_R, "fd79::1");
                ping(NS_K, "192.168.78.2");
                ping(NS_K, "fd79::2");
                assertTrue(ts.waitFor(60, TimeUnit.SECONDS), "tshark saw fewer than 12 datagrams");
                List<String> lines = Files.readAllLines(cap).stream().filter(l -> !l.isBlank()).toList();
                assertEquals(12, lines.size(), String.join("\n", lines));
                int ours = 0;
                for (String l : lines) {
                    String[] f = l.split(",");
                    assertEquals("4789", f[2], "destination port: " + l);
                    assertEquals("0x0800", f[3], "flags: only I: " + l);
                    assertEquals("42", f[4], "VNI: " + l);
                    if (f[0].equals(rUnder)) {
                        ours++;
                        int sport = Integer.parseInt(f[1]);
                        assertTrue(sport >= 1024 && sport != 4789, "our source port is a flow-hash socket's: " + l);
                    }
                }
                assertTrue(ours >= 4, "our datagrams among them:\n" + String.join("\n", lines));
            } finally {
                ts.destroyForcibly();
                Files.deleteIfExists(cap);
            }

            // iperf3 TCP both ways, inner IPv4 and IPv6 (3 s each: the machine is shared)
            for (String server : new String[] {"192.168.78.1", "fd79::1"}) {
                iperf(server, false);
                iperf(server, true);
            }
            Env.run(10, "kill", "-USR1", Long.toString(sw.pid()));
            waitFor(log, "addresses learned", sw);
            String out = Files.readString(log);
            assertFalse(out.contains("Exception"), out);
        } finally {
            if (sw != null) {
                sw.destroy();
                if (!sw.waitFor(20, TimeUnit.SECONDS)) sw.destroyForcibly();
            }
            cleanup();
            Files.deleteIfExists(log);
        }
    }

    static void ping(String ns, String addr) {
        // the first ping may wait for ARP/ND and learning on the way
        for (int tries = 0; ; tries++) {
            if (Env.runQuiet(20, in(ns, "ping", "-c", "1", "-W", "3", addr)) == 0) break;
            if (tries == 5) fail("no answer from " + addr + " in " + ns);
        }
        String r = Env.run(30, in(ns, "ping", "-c", "1", "-W", "5", addr));
        assertTrue(r.contains(" 0% packet loss"), r);
    }

    static void iperf(String server, boolean reverse) throws Exception {
        iperf(NS_K, NS_R, server, reverse);
    }

    /** iperf3 TCP for 3 s from {@code clientNs} to a one-off server in {@code serverNs} ({@code -R}: the other way). */
    static void iperf(String serverNs, String clientNs, String server, boolean reverse) throws Exception {
        ProcessBuilder sb =
                new ProcessBuilder(in(serverNs, "iperf3", "-s", "-1", "-B", server)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process s = sb.start();
        try {
            String r = null;
            for (int tries = 0; tries < 20 && r == null; tries++) {
                Thread.sleep(200);
                // a server that could not bind (the previous run's one-off server still exiting
                // on a loaded machine) is gone: start it again rather than knock on a closed port
                if (!s.isAlive()) s = sb.start();
                List<String> c = new ArrayList<>(
                        List.of(in(clientNs, "iperf3", "-c", server, "-t", "3", "--connect-timeout", "5000")));
                if (reverse) c.add("-R");
                Process p = new ProcessBuilder(c).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes());
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    fail("iperf3 hung");
                }
                if (p.exitValue() == 0) r = out;
                else if (!out.contains("Connection refused"))
                        fail("iperf3 to " + server + (reverse ? " -R" : "") + ":\n" + out);
            }
            assertTrue(r != null && r.contains("receiver"), "iperf3 to " + server + ": " + r);
            System.out.println("iperf3 " + server + (reverse ? " (peer -> ringlink)" : " (ringlink -> peer)") + ": "
                    + r.lines().filter(l -> l.contains("receiver")).findFirst().orElse(""));
        } finally {
            s.destroyForcibly();
            s.waitFor(10, TimeUnit.SECONDS); // the port is free for the next run's server
        }
    }

    static void waitFor(Path log, String text, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String s = Files.readString(log);
            if (s.contains(text)) return;
            if (!p.isAlive()) fail("switch exited " + p.exitValue() + ":\n" + s);
            Thread.sleep(100);
        }
        fail("no '" + text + "' from the switch:\n" + Files.readString(log));
    }

    static void waitForStderr(Process p, String text) throws IOException {
        var r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getErrorStream()));
        String l;
        while ((l = r.readLine()) != null) {
            if (l.contains(text)) return;
        }
        fail("tshark ended before capturing");
    }
}
