package ringlink.tunnel;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.testing.Env;

/**
 * Three "hosts" (network namespaces on one bridged underlay), each running {@code ringlink
 * switch} with a TAP and a {@code vxlan:} port listing the other two as remotes: every
 * namespace pings every other over the full mesh. The first pings are ARP broadcasts (flooded by
 * head-end replication to both remotes); the replies and everything after are unicast to the
 * learned remote. Each switch ends up knowing all three MACs ("addresses learned").
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class VxlanMeshTest {
    static final String UNDER = "rlvxu", BR = "rlvxub";
    static final int N = 3;

    static String ns(int i) { return "rlvxm" + i; }

    static String[] in(String ns, String... cmd) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        c.addAll(List.of(cmd));
        return c.toArray(String[]::new);
    }

    static void cleanup() {
        Env.runQuiet(10, "ip", "netns", "del", UNDER);
        for (int i = 1; i <= N; i++) Env.runQuiet(10, "ip", "netns", "del", ns(i));
    }

    @Test
    void threeSwitchesInAFullMesh() throws Exception {
        Env.requireNetns();
        Env.requireTun();
        Env.requireProgram("ping", "iputils-ping");
        cleanup();
        Process[] sw = new Process[N + 1];
        Path[] log = new Path[N + 1];
        try {
            Env.run(10, "ip", "netns", "add", UNDER);
            Env.run(10, "ip", "-n", UNDER, "link", "add", BR, "type", "bridge");
            Env.run(10, "ip", "-n", UNDER, "link", "set", BR, "up");
            for (int i = 1; i <= N; i++) {
                Env.run(10, "ip", "netns", "add", ns(i));
                Env.run(10, "ip", "-n", ns(i), "link", "set", "lo", "up");
                Env.run(10, "ip", "link", "add", "rlvxm" + i + "u", "netns", ns(i), "type", "veth", "peer", "name",
                        "rlvxu" + i, "netns", UNDER);
                Env.run(10, "ip", "-n", UNDER, "link", "set", "rlvxu" + i, "master", BR, "up");
                Env.run(10, "ip", "-n", ns(i), "addr", "add", "10.79.0." + i + "/24", "dev", "rlvxm" + i + "u");
                Env.run(10, "ip", "-n", ns(i), "link", "set", "rlvxm" + i + "u", "up");
            }
            String java = ProcessHandle.current().info().command().orElse("java");
            for (int i = 1; i <= N; i++) {
                StringBuilder remotes = new StringBuilder();
                for (int j = 1; j <= N; j++) {
                    if (j == i) continue;
                    if (remotes.length() > 0) remotes.append(',');
                    remotes.append("10.79.0.").append(j);
                }
                log[i] = Files.createTempFile("rlvxm" + i, ".log");
                sw[i] = new ProcessBuilder(in(ns(i), java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp",
                        System.getProperty("java.class.path"), "ringlink.cli.Main", "switch", "--threads", "1",
                        "tap:rlvxmt" + i + "?mtu=1450",
                                "vxlan:10.79.0." + i + "?remote=" + remotes + "&vni=7&srcports=2"))
                        .redirectErrorStream(true).redirectOutput(log[i].toFile()).start();
            }
            for (int i = 1; i <= N; i++) {
                VxlanKernelTest.waitFor(log[i], "prints counters", sw[i]);
                Env.run(10, "ip", "-n", ns(i), "addr", "add", "192.168.79." + i + "/24", "dev", "rlvxmt" + i);
                Env.run(10, "ip", "-n", ns(i), "link", "set", "rlvxmt" + i, "up");
            }
            for (int i = 1; i <= N; i++) {
                for (int j = 1; j <= N; j++) {
                    if (i != j) VxlanKernelTest.ping(ns(i), "192.168.79." + j);
                }
            }
            Pattern learned = Pattern.compile("addresses learned: (\\d+)");
            for (int i = 1; i <= N; i++) {
                Env.run(10, "kill", "-USR1", Long.toString(sw[i].pid()));
                VxlanKernelTest.waitFor(log[i], "addresses learned", sw[i]);
                String out = Files.readString(log[i]);
                Matcher m = learned.matcher(out);
                assertTrue(m.find(), out);
                assertTrue(Integer.parseInt(m.group(1)) >= N, "switch " + i + " learned every host's MAC:\n" + out);
                assertFalse(out.contains("Exception"), out);
            }
        } finally {
            for (Process p : sw) {
                if (p == null) continue;
                p.destroy();
                if (!p.waitFor(20, TimeUnit.SECONDS)) p.destroyForcibly();
            }
            cleanup();
            for (Path p : log) if (p != null) Files.deleteIfExists(p);
        }
    }
}
