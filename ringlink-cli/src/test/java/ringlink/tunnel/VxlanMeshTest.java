package ringlink.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.cli.support.Json;
import ringlink.testing.Env;

/**
 * Three "hosts" (network namespaces on one bridged underlay), each running {@code ringlink
 * switch} with a TAP and a {@code vxlan:} port listing the other two as remotes: every
 * namespace pings every other over the full mesh. The first pings are ARP broadcasts (flooded by
 * head-end replication to both remotes); the replies and everything after are unicast to the
 * learned remote. Each switch ends up knowing all three MACs ("addresses learned"), and its
 * control socket shows where they live: {@code tunnel/show} lists the other two TAPs' MACs as
 * learned behind the right remote (plus switch 1's static entry), {@code fdb/show --json} adds
 * the remote to the rows of the vxlan port.
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
        Path[] ctl = new Path[N + 1];
        String[] mac = new String[N + 1];
        Path dir = Files.createTempDirectory("rlvxm");
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
                ctl[i] = dir.resolve("sw" + i + ".ctl");
                // switch 1 also has a static entry (a MAC nobody uses) behind host 3
                String extra = i == 1 ? "&fdb=" + STATIC_MAC + "@10.79.0.3" : "";
                sw[i] = new ProcessBuilder(in(ns(i), java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp",
                        System.getProperty("java.class.path"), "ringlink.cli.Main", "switch", "--threads", "1",
                                "--control", ctl[i].toString(),
                        "tap:rlvxmt" + i + "?mtu=1450",
                                "vxlan:10.79.0." + i + "?remote=" + remotes + "&vni=7&srcports=2" + extra))
                        .redirectErrorStream(true).redirectOutput(log[i].toFile()).start();
            }
            for (int i = 1; i <= N; i++) {
                VxlanKernelTest.waitFor(log[i], "prints counters", sw[i]);
                Env.run(10, "ip", "-n", ns(i), "addr", "add", "192.168.79." + i + "/24", "dev", "rlvxmt" + i);
                Env.run(10, "ip", "-n", ns(i), "link", "set", "rlvxmt" + i, "up");
                mac[i] = Env.run(10, "ip", "-n", ns(i), "-br", "link", "show", "rlvxmt" + i).trim().split("\\s+")[2];
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
            // the remote FDB through the control socket (ovs-appctl's protocol; ringlink ctl here)
            for (int i = 1; i <= N; i++) {
                String text = ctl(ctl[i], "tunnel/show");
                if (i == 1) System.out.print("switch 1's tunnel/show:\n" + text + "switch 1's fdb/show:\n"
                        + ctl(ctl[i], "fdb/show"));
                List<?> tunnels = (List<?>) Json.parse(ctl(ctl[i], "tunnel/show", "--json"));
                assertEquals(1, tunnels.size(), text);
                Map<?, ?> t = (Map<?, ?>) tunnels.getFirst();
                assertEquals("vxlan", t.get("kind"), text);
                assertEquals(7, ((Number) t.get("vni")).intValue(), text);
                assertEquals(N - 1, ((List<?>) t.get("flood")).size(), text);
                List<?> fdb = (List<?>) t.get("fdb");
                for (int j = 1; j <= N; j++) {
                    if (j == i) continue;
                    Map<?, ?> e = entry(fdb, mac[j]);
                    assertNotNull(e, "switch " + i + " learned host " + j + "'s MAC behind a remote:\n" + text);
                    assertEquals("10.79.0." + j, e.get("address"), text);
                    assertEquals(4789, ((Number) e.get("port")).intValue(), text);
                    assertEquals(false, e.get("static"), text);
                    assertTrue(((Number) e.get("age")).longValue() < 300, text);
                    assertTrue(text.contains(mac[j] + "  10.79.0." + j + ":4789"), text);
                }
                assertEquals(null, entry(fdb, mac[i]), "its own TAP's MAC is not behind a remote:\n" + text);
                if (i == 1) {
                    Map<?, ?> e = entry(fdb, STATIC_MAC);
                    assertNotNull(e, text);
                    assertEquals("10.79.0.3", e.get("address"), text);
                    assertEquals(true, e.get("static"), text);
                    assertTrue(text.contains("static"), text);
                }
                // fdb/show: the switch's MAC table, rows on the vxlan port (index 1) with their remote
                List<?> rows = (List<?>) Json.parse(ctl(ctl[i], "fdb/show", "--json"));
                int remoteRows = 0;
                for (Object o : rows) {
                    Map<?, ?> r = (Map<?, ?>) o;
                    if (((Number) r.get("port")).intValue() != 1) {
                        assertFalse(r.containsKey("remote"), r.toString());
                        continue;
                    }
                    Map<?, ?> rem = (Map<?, ?>) r.get("remote");
                    assertNotNull(rem, rows.toString());
                    for (int j = 1; j <= N; j++) if (mac[j].equals(r.get("mac")))
                            assertEquals("10.79.0." + j, rem.get("address"), rows.toString());
                    remoteRows++;
                }
                assertEquals(N - 1, remoteRows, rows.toString());
                assertTrue(ctl(ctl[i], "fdb/show").contains("remote 10.79.0."), "fdb/show's text names the remote");
            }
        } finally {
            for (Process p : sw) {
                if (p == null) continue;
                p.destroy();
                if (!p.waitFor(20, TimeUnit.SECONDS)) p.destroyForcibly();
            }
            cleanup();
            for (Path p : log) if (p != null) Files.deleteIfExists(p);
            for (Path p : ctl) if (p != null) Files.deleteIfExists(p);
            Files.deleteIfExists(dir);
        }
    }

    static final String STATIC_MAC = "02:00:00:00:79:99";

    static Map<?, ?> entry(List<?> fdb, String mac) {
        for (Object o : fdb) if (mac.equals(((Map<?, ?>) o).get("mac"))) return (Map<?, ?>) o;
        return null;
    }

    /** {@code ringlink ctl -t PATH COMMAND ARGS} (a unix socket: reachable from outside the namespace); its output. */
    static String ctl(Path path, String... args) throws Exception {
        List<String> c = new ArrayList<>(
                List.of(ProcessHandle.current().info().command().orElse("java"), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), "ringlink.cli.Main", "ctl", "-t", path.toString()));
        c.addAll(List.of(args));
        Process p = new ProcessBuilder(c).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "ringlink ctl " + String.join(" ", args));
        assertEquals(0, p.exitValue(), "ringlink ctl " + String.join(" ", args) + ":\n" + out);
        return out;
    }
}
