package ringlink.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import ringlink.testing.Env;

/**
 * Interop with Open vSwitch's userspace datapath ({@code datapath_type=netdev}, OVS's own tunnel
 * code, not the kernel's): in netns {@code rlgvo} an OVS with a {@code type=geneve} (or
 * {@code type=vxlan}) port, key 42, on a bridge whose internal port has the inner address, and
 * the underlay on a second bridge ({@code br-phy}, OVS's userspace-tunneling layout); in
 * {@code rlgvr} {@code ringlink switch} with a TAP and a {@code geneve:}/{@code vxlan:} port.
 * Ping (inner IPv4 and IPv6) and iperf3 TCP both ways; tshark checks the headers on the wire.
 *
 * <p>With {@code dpdk} the same runs against <b>OVS-DPDK</b>: Debian's {@code ovs-vswitchd-dpdk}
 * (openvswitch-switch-dpdk) with DPDK initialised ({@code other_config:dpdk-init=true}, EAL
 * arguments {@code --no-huge --legacy-mem -m 1024 --no-pci --file-prefix=rlgvd-PID} in
 * {@code dpdk-extra}, {@code per-port-memory=true} so the mbuf pools fit in 1 GiB without huge
 * pages) and the underlay as a DPDK port ({@code type=dpdk}, DPDK's {@code net_af_packet} driver on
 * the veth, polled by a PMD thread) instead of a kernel port: the tunnel code is the same
 * ({@code datapath_type=netdev}), the I/O is DPDK's.
 *
 * <p>Our side's veth has transmit checksumming off: OVS reads the underlay with a packet
 * socket and drops a datagram whose outer UDP checksum the kernel left partial (veth passes it
 * on unfinished); with it off the kernel finishes the checksum in software (UDP_SEGMENT still
 * works: the kernel here segments and checksums in software).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class OvsTunnelTest {
    static final String NS_O = "rlgvo", NS_R = "rlgvr";

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> cases() {
        return java.util.stream.Stream.of(false, true).flatMap(dpdk ->
                java.util.stream.Stream.of(TunnelLink.Kind.values()).flatMap(k -> java.util.stream.Stream.of(
                org.junit.jupiter.params.provider.Arguments.of(k, false, dpdk),
                        org.junit.jupiter.params.provider.Arguments.of(k, true, dpdk))));
    }

    /**
     * Debian's DPDK build of ovs-vswitchd (openvswitch-switch-dpdk; update-alternatives may also point ovs-vswitchd at
     * it).
     */
    static final Path OVS_DPDK = Path.of("/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk");

    @ParameterizedTest(name = "{0}, ipv6 underlay={1}, dpdk={2}")
    @org.junit.jupiter.params.provider.MethodSource("cases")
    void ovsUserspaceTunnelAndRinglinkSwitch(TunnelLink.Kind kind, boolean outer6, boolean dpdk) throws Exception {
        Env.requireNetns();
        Env.requireTun();
        for (String p : new String[] {"ovs-vswitchd", "ovsdb-server", "ovsdb-tool", "ovs-vsctl"})
                Env.requireProgram(p, "openvswitch-switch");
        if (dpdk) Env.requireFile(OVS_DPDK, "ovs-vswitchd-dpdk (apt-get install openvswitch-switch-dpdk)");
        Env.requireProgram("iperf3", "iperf3");
        Env.requireProgram("ethtool", "ethtool");
        Env.requireProgram("tshark", "tshark");
        boolean geneve = kind == TunnelLink.Kind.GENEVE;
        String scheme = geneve ? "geneve" : "vxlan";
        int port = kind.defaultPort();
        String oUnder = outer6 ? "fd81::1" : "10.80.0.1", rUnder = outer6 ? "fd81::2" : "10.80.0.2";
        int mtu = outer6 ? 1430 : 1450;
        Path d = Files.createTempDirectory("rlgv-ovs");
        Path log = d.resolve("switch.log");
        Map<String, String> env =
                Map.of("OVS_RUNDIR", d.toString(), "OVS_DBDIR", d.toString(), "OVS_LOGDIR", d.toString());
        Process sw = null;
        cleanup(d);
        try {
            Env.run(10, "ip", "netns", "add", NS_O);
            Env.run(10, "ip", "netns", "add", NS_R);
            Env.run(10, "ip", "-n", NS_O, "link", "set", "lo", "up");
            Env.run(10, "ip", "-n", NS_R, "link", "set", "lo", "up");
            Env.run(10, "ip", "link", "add", "rlgvo0", "netns", NS_O, "type", "veth", "peer", "name", "rlgvr0", "netns",
                    NS_R);
            Env.run(10, "ip", "-n", NS_R, "addr", "add", "10.80.0.2/24", "dev", "rlgvr0");
            Env.run(10, "ip", "-n", NS_R, "addr", "add", "fd81::2/64", "dev", "rlgvr0", "nodad");
            Env.run(10, "ip", "-n", NS_R, "link", "set", "rlgvr0", "up");
            Env.run(10, VxlanKernelTest.in(NS_R, "ethtool", "-K", "rlgvr0", "tx", "off"));
            Env.run(10, "ip", "-n", NS_O, "link", "set", "rlgvo0", "up");
            // OVS with the userspace datapath in its namespace, state in d
            run(env, 20, "ovsdb-tool", "create", d + "/conf.db", "/usr/share/openvswitch/vswitch.ovsschema");
            run(env, 20, VxlanKernelTest.in(NS_O, "ovsdb-server", d + "/conf.db", "--remote=punix:" + d + "/db.sock",
                    "--pidfile=" + d + "/ovsdb.pid", "--detach", "--log-file=" + d + "/ovsdb.log"));
            vsctl(env, d, "--no-wait", "init");
            if (dpdk) {
                // --no-huge needs --legacy-mem (OVS adds --in-memory otherwise, which excludes it);
                // per-port memory sizes the mbuf pool for the ports there are, not OVS's shared 3 GiB one
                vsctl(env, d, "--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true",
                        "other_config:dpdk-extra=--no-huge --legacy-mem -m 1024 --single-file-segments --no-pci "
                                + "--file-prefix=" + dpdkPrefix(),
                        "other_config:dpdk-lcore-mask=0x1", "other_config:pmd-cpu-mask=0x2",
                                "other_config:per-port-memory=true");
            }
            run(env, 60, VxlanKernelTest.in(NS_O, dpdk ? OVS_DPDK.toString() : "ovs-vswitchd", "unix:" + d + "/db.sock",
                    "--pidfile=" + d + "/vswitchd.pid", "--detach", "--log-file=" + d + "/vswitchd.log"));
            if (dpdk) {
                String init = vsctlOut(env, d, "get", "Open_vSwitch", ".", "dpdk_initialized").trim();
                assertEquals("true", init, "DPDK initialised in ovs-vswitchd-dpdk; its log:\n"
                        + Files.readString(d.resolve("vswitchd.log")));
            }
            String mac = Env.run(10, "ip", "-n", NS_O, "-br", "link", "show", "rlgvo0").trim().split("\\s+")[2];
            vsctl(env, d, "add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev",
                    "other_config:hwaddr=" + mac);
            if (dpdk) {
                // the underlay as a DPDK port: DPDK's af_packet PMD on the veth, polled by OVS's PMD thread
                vsctl(env, d, "add-port", "br-phy", "dpdk0", "--", "set", "interface", "dpdk0", "type=dpdk",
                        "options:dpdk-devargs=net_af_packet0,iface=rlgvo0");
                String st = vsctlOut(env, d, "get", "interface", "dpdk0", "status", "error");
                assertTrue(st.contains("net_af_packet"), "dpdk0 runs on DPDK's af_packet driver: " + st);
            } else {
                vsctl(env, d, "add-port", "br-phy", "rlgvo0");
            }
            Env.run(10, "ip", "-n", NS_O, "addr", "add", "10.80.0.1/24", "dev", "br-phy");
            Env.run(10, "ip", "-n", NS_O, "addr", "add", "fd81::1/64", "dev", "br-phy", "nodad");
            Env.run(10, "ip", "-n", NS_O, "link", "set", "br-phy", "up");
            vsctl(env, d, "add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev");
            vsctl(env, d, "add-port", "br-int", "tun0", "--", "set", "interface", "tun0", "type=" + scheme,
                    "options:remote_ip=" + rUnder, "options:key=42");
            Env.run(10, "ip", "-n", NS_O, "addr", "add", "192.168.80.1/24", "dev", "br-int");
            Env.run(10, "ip", "-n", NS_O, "addr", "add", "fd80::1/64", "dev", "br-int", "nodad");
            Env.run(10, "ip", "-n", NS_O, "link", "set", "br-int", "up", "mtu", Integer.toString(mtu));
            // ours
            String java = ProcessHandle.current().info().command().orElse("java");
            sw = new ProcessBuilder(VxlanKernelTest.in(NS_R, java, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), "ringlink.cli.Main", "switch", "--threads", "1",
                            "tap:rlgvt?mtu=" + mtu,
                    scheme + ":" + rUnder + "?remote=" + oUnder + "&vni=42"))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            VxlanKernelTest.waitFor(log, "prints counters", sw);
            Env.run(10, "ip", "-n", NS_R, "addr", "add", "192.168.80.2/24", "dev", "rlgvt");
            Env.run(10, "ip", "-n", NS_R, "addr", "add", "fd80::2/64", "dev", "rlgvt", "nodad");
            Env.run(10, "ip", "-n", NS_R, "link", "set", "rlgvt", "up");

            Path cap = d.resolve("tshark.txt");
            List<String> fields = new ArrayList<>(
                    List.of("-e", outer6 ? "ipv6.src" : "ip.src", "-e", "udp.srcport", "-e", "udp.dstport"));
            if (geneve) fields.addAll(List.of("-e", "geneve.version", "-e", "geneve.proto_type", "-e", "geneve.vni"));
            else fields.addAll(List.of("-e", "vxlan.flags", "-e", "vxlan.vni"));
            List<String> tc = new ArrayList<>(
                    List.of(VxlanKernelTest.in(NS_R, "tshark", "-l", "-n", "-i", "rlgvr0", "-f", "udp port " + port,
                    "-c", "8", "-a", "duration:60", "-d", "udp.port==" + port + "," + scheme, "-T", "fields", "-E",
                            "separator=,",
                    "-E", "occurrence=f")));
            tc.addAll(fields);
            Process ts = new ProcessBuilder(tc).redirectError(ProcessBuilder.Redirect.PIPE).redirectOutput(cap.toFile())
                    .start();
            try {
                VxlanKernelTest.waitForStderr(ts, "Capturing on");
                VxlanKernelTest.ping(NS_R, "192.168.80.1");
                VxlanKernelTest.ping(NS_O, "192.168.80.2");
                VxlanKernelTest.ping(NS_R, "fd80::1");
                VxlanKernelTest.ping(NS_O, "fd80::2");
                assertTrue(ts.waitFor(60, TimeUnit.SECONDS), "tshark saw fewer than 8 datagrams");
                List<String> lines = Files.readAllLines(cap).stream().filter(l -> !l.isBlank()).toList();
                assertEquals(8, lines.size(), String.join("\n", lines));
                int ours = 0;
                for (String l : lines) {
                    String[] f = l.split(",");
                    assertEquals(Integer.toString(port), f[2], "destination port: " + l);
                    if (geneve) {
                        assertEquals("0", f[3], "version: " + l);
                        assertEquals("0x6558", f[4], "protocol: " + l);
                        assertEquals(42, (int) Integer.decode(f[5]), "VNI: " + l);
                    } else {
                        assertEquals("0x0800", f[3], "flags: " + l);
                        assertEquals("42", f[4], "VNI: " + l);
                    }
                    if (f[0].equals(rUnder)) {
                        ours++;
                        assertTrue(!f[1].equals(Integer.toString(port)),
                                "our source port is a flow-hash socket's: " + l);
                    }
                }
                assertTrue(ours >= 2, String.join("\n", lines));
            } finally {
                ts.destroyForcibly();
            }
            VxlanKernelTest.iperf(NS_O, NS_R, "192.168.80.1", false);
            VxlanKernelTest.iperf(NS_O, NS_R, "192.168.80.1", true);
            String out = Files.readString(log);
            assertFalse(out.contains("Exception"), out);
        } finally {
            if (sw != null) {
                sw.destroy();
                if (!sw.waitFor(20, TimeUnit.SECONDS)) sw.destroyForcibly();
            }
            cleanup(d);
            try (var files = Files.walk(d)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static String run(Map<String, String> env, long timeout, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(timeout, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + String.join(" ", cmd));
        }
        if (p.exitValue() != 0)
                throw new AssertionError("exit " + p.exitValue() + ": " + String.join(" ", cmd) + "\n" + out);
        return out;
    }

    static void vsctl(Map<String, String> env, Path d, String... args) throws Exception {
        vsctlOut(env, d, args);
    }

    static String vsctlOut(Map<String, String> env, Path d, String... args) throws Exception {
        List<String> c = new ArrayList<>(List.of("ovs-vsctl", "--timeout=20", "--db=unix:" + d + "/db.sock"));
        c.addAll(List.of(args));
        return run(env, 30, c.toArray(String[]::new));
    }

    /** DPDK's --file-prefix (its runtime directory under /var/run/dpdk): unique to this class and process. */
    static String dpdkPrefix() {
        return "rlgvd-" + ProcessHandle.current().pid();
    }

    /** Stops the OVS daemons of a run (pid files in {@code d}) and removes the namespaces. */
    static void cleanup(Path d) {
        for (String pid : new String[] {"vswitchd.pid", "ovsdb.pid"}) {
            try {
                Path f = d.resolve(pid);
                if (!Files.exists(f)) continue;
                long daemon = Long.parseLong(Files.readString(f).trim());
                Env.runQuiet(10, "kill", Long.toString(daemon));
                // the next case's DPDK needs the file prefix's lock: wait for the process to go
                var h = ProcessHandle.of(daemon);
                if (h.isPresent()) {
                    try {
                        h.get().onExit().get(15, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        h.get().destroyForcibly();
                    }
                }
            } catch (java.io.IOException | NumberFormatException ignored) {
                // nothing to stop
            }
        }
        Env.runQuiet(10, "ip", "netns", "del", NS_O);
        Env.runQuiet(10, "ip", "netns", "del", NS_R);
        Env.runQuiet(10, "rm", "-rf", "/var/run/dpdk/" + dpdkPrefix());
    }
}
