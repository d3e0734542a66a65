package ringlink.cli.demo;

import static ringlink.cli.demo.DemoTools.*;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import ringlink.cli.support.Shell;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.sw.Switch;

/**
 * Shared memory between two processes: this process's switch joins a TAP in namespace a to
 * the server end of an {@code shm:} link; a second Ringlink process ({@code ringlink switch})
 * holds the client end and joins it to a TAP in namespace b. Traffic crosses gVisor's
 * sharedmem queues (memfd data, eventfd notifications) between the two JVMs.
 */
public final class SharedMemoryStep implements DemoStep {
    @Override public String name() { return "shm"; }
    @Override public String title() { return
            "Shared memory: namespace <-> tap <-> switch <-> shm <-> 2nd ringlink process <-> tap <-> namespace"; }
    @Override
    public String proves() { return "two processes exchange packets over gVisor-compatible sharedmem queues (shm:)"; }

    @Override
    public String unavailable(DemoContext c) {
        String why = needNamespaces(c);
        if (why == null) why = needScheme("tap");
        return why != null ? why : needScheme("shm");
    }

    @Override
    public Outcome run(DemoContext c) throws Exception {
        namespaces(c, name());
        String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
        String ta = c.prefix() + "sa", tb = c.prefix() + "sb";
        Path dir = tempDir(c, "shm");
        Path sock = dir.resolve("shm.sock"), log = dir.resolve("peer.log");
        // The peer: this same program as a second process, `ringlink switch` between the shm
        // client end and a TAP. --duration bounds it should this process be SIGKILLed.
        List<String> cmd = ringlinkCommand("switch", "--duration", String.valueOf(c.iperfSeconds() + 180),
                "shm:" + sock + "?role=client", "tap:" + tb);
        Process peer = Shell.start(log, cmd.toArray(String[]::new));
        c.cleanup().add("stop the second ringlink process", () -> Shell.kill(peer));
        c.cleanup().add("delete " + tb + " if still on the host", () -> Shell.run(10, "ip", "link", "del", tb));
        c.say("second process (pid " + peer.pid() + "): ringlink switch shm:" + sock + "?role=client tap:" + tb);
        Link la = Links.open("tap:" + ta);
        c.cleanup().add("close " + la.name(), la::close);
        Link ls;
        try {
            // the server end: waits for the peer to connect
            ls = Links.open("shm:" + sock + "?timeout=30000" + DemoTools.SHM_QUEUES);
        } catch (IOException e) {
            throw new IOException("the second process did not connect: " + e.getMessage() + "; its log: " + tail(log),
                    e);
        }
        c.cleanup().add("close " + ls.name(), ls::close);
        Switch sw = switchOf(c, la, ls);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!Shell.run(10, "ip", "link", "show", tb).ok()) {
            if (!peer.isAlive() || System.nanoTime() > deadline)
                    throw new IOException("the second process did not create " + tb + "; its log: " + tail(log));
            Thread.sleep(50);
        }
        place(ta, a, "10.77.6.1/24");
        place(tb, b, "10.77.6.2/24");
        String rtt = ping(c, a, "10.77.6.2");
        DemoTools.Iperf rate = iperf(c, a, b, "10.77.6.2");
        c.say("switch: " + switchSummary(sw));
        return Outcome.ok(rtt, rate);
    }

}
