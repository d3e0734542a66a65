package ringlink.memif;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.testing.Env;
import ringlink.vhostuser.Testpmd;

/**
 * {@code ringlink switch} between a TAP in a network namespace and DPDK testpmd in
 * {@code icmpecho} mode over memif: the kernel in the namespace pings an address behind the
 * switch and testpmd answers (ARP and ICMP echo), so frames cross memif both ways.
 */
class MemifSwitchTest {
    @TempDir Path tmp;

    static final String NS = "rlmifsw", TAP = "rlmifsw0";

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void pingThroughSwitchToTestpmdIcmpecho() throws Exception {
        MemifDpdkTest.requireTestpmd();
        Env.requireTun();
        Env.requireNetns();
        Path sock = tmp.resolve("rlmif-sw.sock");
        Path log = tmp.resolve("switch.log");
        String java = ProcessHandle.current().info().command().orElse("java");
        Env.runQuiet(10, "ip", "netns", "del", NS);
        Env.runQuiet(10, "ip", "link", "del", TAP);
        Process sw = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"),
                "ringlink.cli.Main", "switch", "tap:" + TAP, "memif:" + sock + "?role=server")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Testpmd pmd = null;
        try {
            long end = System.currentTimeMillis() + 60_000;
            while (!(Files.readString(log).contains("prints counters") && Files.exists(sock)) && sw.isAlive()
                    && System.currentTimeMillis() < end) {
                Thread.sleep(50);
            }
            assertTrue(Files.exists(sock), () -> "switch did not come up:\n" + readQuiet(log));
            Env.run(10, "ip", "netns", "add", NS);
            Env.run(10, "ip", "link", "set", TAP, "netns", NS);
            Env.run(10, "ip", "-n", NS, "addr", "add", "10.77.31.1/24", "dev", TAP);
            Env.run(10, "ip", "-n", NS, "link", "set", TAP, "up");
            Env.run(10, "ip", "-n", NS, "link", "set", "lo", "up");
            pmd = Testpmd.start("rlmifsw", "net_memif0,role=client,socket=" + sock + ",socket-abstract=no", 30_000,
                    "--forward-mode=icmpecho");
            pmd.command("start", 20_000);
            String out =
                    Env.run(60, "ip", "netns", "exec", NS, "ping", "-c", "5", "-i", "0.2", "-W", "5", "10.77.31.2");
            assertTrue(out.contains("5 received"), out + "\nswitch:\n" + readQuiet(log));
            pmd.command("stop", 20_000);
        } finally {
            if (pmd != null) pmd.close();
            sw.destroy();
            sw.waitFor(20, TimeUnit.SECONDS);
            sw.destroyForcibly();
            Env.runQuiet(10, "ip", "netns", "del", NS);
            Env.runQuiet(10, "ip", "link", "del", TAP);
        }
    }

    static String readQuiet(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            return "?";
        }
    }
}
