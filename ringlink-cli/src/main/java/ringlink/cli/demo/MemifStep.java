package ringlink.cli.demo;

import static ringlink.cli.demo.DemoTools.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import ringlink.cli.support.Shell;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.sw.Switch;

/**
 * memif against DPDK: a TAP in namespace a, the switch, our memif server link, and DPDK
 * testpmd as the memif client in {@code icmpecho} mode (it answers ARP and ping itself).
 */
public final class MemifStep implements DemoStep {
    @Override public String name() { return "memif"; }
    @Override public String title() {
            return "memif: namespace <-> tap <-> Ringlink switch <-> memif <-> DPDK testpmd (net_memif, icmpecho)"; }
    @Override
    public String proves() { return "DPDK's memif driver answers ping through Ringlink's memif server (memif:)"; }

    @Override
    public String unavailable(DemoContext c) {
        String why = needNamespaces(c);
        if (why == null) why = needScheme("tap");
        if (why == null) why = needScheme("memif");
        if (why == null && Shell.which("dpdk-testpmd") == null)
                why = "dpdk-testpmd not installed (apt-get install dpdk-dev librte-net-memif23)";
        return why;
    }

    @Override
    public Outcome run(DemoContext c) throws Exception {
        namespaces(c, name());
        String a = ns(c, name(), 'a');
        Path dir = tempDir(c, "memif");
        Path sock = dir.resolve("memif.sock"), log = dir.resolve("testpmd.log");
        String ta = c.prefix() + "fa";
        Link lt = Links.open("tap:" + ta);
        c.cleanup().add("close " + lt.name(), lt::close);
        Link lm = Links.open("memif:" + sock + "?role=server");
        c.cleanup().add("close " + lm.name(), lm::close);
        Switch sw = switchOf(c, lt, lm);
        String filePrefix = c.prefix() + "-memif";
        // Non-interactive: --auto-start forwards at once, --stats-period keeps it running
        // (without it testpmd waits for a key on stdin) until SIGTERM at cleanup.
        // stdbuf: testpmd's stdout is a file here, unbuffered so its progress shows as it happens.
        Process pmd = Shell.start(log, "stdbuf", "-o0", "dpdk-testpmd", "--no-pci", "--no-huge",
                "--single-file-segments", "-m", "256",
                "--lcores=0@0,1@0", "--file-prefix=" + filePrefix, "--log-level=lib.eal:error",
                "--vdev=net_memif0,role=client,socket=" + sock + ",socket-abstract=no",
                "--", "--forward-mode=icmpecho", "--auto-start", "--stats-period=3600", "--nb-cores=1",
                        "--total-num-mbufs=8192");
        c.cleanup().add("stop testpmd", () -> {
            Shell.kill(pmd);
            Shell.run(10, "rm", "-rf", "/var/run/dpdk/" + filePrefix);
        });
        c.say("testpmd (pid " + pmd.pid() + "): net_memif client on " + sock + ", forward mode icmpecho");
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!Files.readString(log).contains("packet forwarding - ports")) {
            if (!pmd.isAlive() || System.nanoTime() > deadline)
                    throw new IOException("testpmd did not start forwarding; its log: " + DemoTools.tail(log));
            Thread.sleep(50);
        }
        place(ta, a, "10.77.8.1/24");
        String rtt = ping(c, a, "10.77.8.2");
        c.say("switch: " + switchSummary(sw));
        return new Outcome("ok", rtt, "-", "testpmd answers; no TCP (icmpecho)");
    }
}
