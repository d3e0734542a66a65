package ringlink.cli.demo;

import static ringlink.cli.demo.DemoTools.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import ringlink.cli.support.ProcNetUdp;
import ringlink.cli.support.Shell;

/**
 * Two "hosts" (namespaces a and b) joined by a veth underlay: in a the kernel's own
 * {@code vxlan} device (VNI 42, dstport 4789) holds the overlay address; in b a second
 * Ringlink process ({@code ringlink switch}) joins a TAP to a {@code vxlan:} port. With
 * {@code kernelBoth} (the bench's reference) b has the kernel's bridge + vxlan instead, a veth
 * pair in place of the TAP.
 */
public final class VxlanStep implements DemoStep {
    final boolean kernelBoth;
    final int warmupSeconds;
    final boolean reverse;
    private long dropsA = -1, dropsB = -1;

    public VxlanStep(boolean kernelBoth) {
        this(kernelBoth, 0);
    }

    /** {@code warmupSeconds}: an untimed iperf3 run first (the bench's: the switch JVM compiles its hot paths). */
    public VxlanStep(boolean kernelBoth, int warmupSeconds) {
        this(kernelBoth, warmupSeconds, false);
    }

    /**
     * {@code reverse}: iperf3 from host b (behind the switch, or the reference's bridge) to host a
     * (behind the kernel's vxlan), so b's side encapsulates (for Ringlink: the TAP's TSO
     * superpackets segmented into one UDP_SEGMENT send per run) and a's kernel decapsulates.
     */
    public VxlanStep(boolean kernelBoth, int warmupSeconds, boolean reverse) {
        this.kernelBoth = kernelBoth;
        this.warmupSeconds = warmupSeconds;
        this.reverse = reverse;
    }

    /**
     * The last run's {@code /proc/net/udp} drops of the port-4789 sockets in host a (the kernel's vxlan); −1 if not
     * read.
     */
    public long udpDropsA() { return dropsA; }

    /**
     * The last run's {@code /proc/net/udp} drops of the port-4789 sockets in host b (Ringlink's vxlan port or the
     * kernel's); −1 if not read.
     */
    public long udpDropsB() { return dropsB; }

    @Override public String name() { return "vxlan"; }
    @Override public String title() {
        return kernelBoth ? "Reference: namespace <-> kernel vxlan <-> veth underlay <-> kernel vxlan + bridge <-> "
                + "veth <-> namespace"
                : "VXLAN, two hosts: namespace <-> kernel vxlan <-> veth underlay <-> vxlan: port, 2nd ringlink "
                        + "process <-> tap <-> namespace";
    }
    @Override public String proves() { return "Ringlink's vxlan: port speaks VXLAN (RFC 7348) with the Linux kernel's "
            + "own vxlan device across an underlay"; }

    @Override
    public String unavailable(DemoContext c) {
        String why = needNamespaces(c);
        if (why == null && !kernelBoth) why = needScheme("tap");
        if (why == null && !kernelBoth) why = needScheme("vxlan");
        if (why == null && Shell.which("ethtool") == null) why = "ethtool not installed (apt-get install ethtool)";
        return why;
    }

    @Override
    public Outcome run(DemoContext c) throws Exception {
        namespaces(c, name());
        String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
        String ua = c.prefix() + "ka", ub = c.prefix() + "kb", vx = c.prefix() + "kx", tb = c.prefix() + "kt";
        // the underlay: one veth between the two hosts, created inside them (nothing on this host)
        Shell.must(10, "ip", "link", "add", ua, "netns", a, "type", "veth", "peer", "name", ub, "netns", b);
        Shell.must(10, "ip", "-n", a, "addr", "add", "10.77.7.1/24", "dev", ua);
        Shell.must(10, "ip", "-n", b, "addr", "add", "10.77.7.2/24", "dev", ub);
        Shell.must(10, "ip", "-n", a, "link", "set", ua, "up");
        Shell.must(10, "ip", "-n", b, "link", "set", ub, "up");
        // A veth passes a partially checksummed packet on as it is: the inner TCP checksum
        // would reach our UDP socket unfinished (docs/parts/tunnel.md, the veth checksum quirk).
        Shell.must(10, "ip", "netns", "exec", a, "ethtool", "-K", ua, "tx", "off");
        Shell.must(10, "ip", "-n", a, "link", "add", vx, "type", "vxlan", "id", "42", "dstport", "4789", "remote",
                "10.77.7.2", "local", "10.77.7.1");
        Shell.must(10, "ip", "-n", a, "link", "set", vx, "mtu", "1450");
        c.say("host a: the kernel's vxlan device " + vx + " (VNI 42, dstport 4789) over underlay " + ua + " 10.77.7.1");
        place0(a, vx, "10.77.8.1/24");
        Process peer = null;
        Path log = null;
        if (kernelBoth) {
            String vxb = c.prefix() + "kv", br = c.prefix() + "kr", hb = c.prefix() + "kw";
            Shell.must(10, "ip", "-n", b, "link", "add", vxb, "type", "vxlan", "id", "42", "dstport", "4789", "remote",
                    "10.77.7.1", "local", "10.77.7.2");
            Shell.must(10, "ip", "-n", b, "link", "add", br, "type", "bridge");
            Shell.must(10, "ip", "-n", b, "link", "add", tb, "type", "veth", "peer", "name", hb);
            for (String d : List.of(vxb, tb, hb, br)) Shell.must(10, "ip", "-n", b, "link", "set", d, "mtu", "1450");
            Shell.must(10, "ip", "-n", b, "link", "set", vxb, "master", br);
            Shell.must(10, "ip", "-n", b, "link", "set", hb, "master", br);
            for (String d : List.of(vxb, hb, br)) Shell.must(10, "ip", "-n", b, "link", "set", d, "up");
            c.say("host b: the kernel's bridge " + br + " with vxlan " + vxb + " and veth " + hb + " <-> " + tb);
        } else {
            Path dir = tempDir(c, "vxlan");
            log = dir.resolve("switch.log");
            // Host b's switch: this same program as a process inside namespace b (its vxlan
            // port's sockets must live in b's network stack). --duration bounds it should
            // this process be SIGKILLed.
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", b));
            cmd.addAll(ringlinkCommand("switch", "--threads", "1", "--duration", String.valueOf(c.iperfSeconds() + 180),
                    "tap:" + tb + "?mtu=1450", "vxlan:10.77.7.2?remote=10.77.7.1&vni=42"));
            Process p = Shell.start(log, cmd.toArray(String[]::new));
            peer = p;
            c.cleanup().add("stop the ringlink switch process in " + b, () -> Shell.kill(p));
            c.say("host b (pid " + p.pid() + "): ringlink switch tap:" + tb
                    + "?mtu=1450 'vxlan:10.77.7.2?remote=10.77.7.1&vni=42'");
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!Shell.run(10, "ip", "-n", b, "link", "show", tb).ok()) {
                if (!p.isAlive() || System.nanoTime() > deadline) throw new IOException(
                        "the switch process did not create " + tb + "; its log: " + DemoTools.tail(log));
                Thread.sleep(50);
            }
        }
        place0(b, tb, "10.77.8.2/24");
        String rtt = ping(c, b, "10.77.8.1");
        // reverse: host b sends to a (b encapsulates, a's kernel decapsulates)
        String src = reverse ? b : a, dst = reverse ? a : b, server = reverse ? "10.77.8.1" : "10.77.8.2";
        if (warmupSeconds > 0) iperf(
                new DemoContext(c.prefix(), warmupSeconds, c.out(), c.cleanup(), c.root(), c.json()), src, dst, server);
        long a0 = ProcNetUdp.drops(a, 4789), b0 = ProcNetUdp.drops(b, 4789);
        DemoTools.Iperf rate = iperf(c, src, dst, server);
        long a1 = ProcNetUdp.drops(a, 4789), b1 = ProcNetUdp.drops(b, 4789);
        dropsA = a0 < 0 || a1 < 0 ? -1 : a1 - a0;
        dropsB = b0 < 0 || b1 < 0 ? -1 : b1 - b0;
        c.say("UDP drops during the timed run (/proc/net/udp, port 4789): host a " + dropsA + ", host b " + dropsB);
        if (peer != null) {
            if (!peer.isAlive()) throw new IOException("the switch process exited; its log: " + DemoTools.tail(log));
            Shell.run(10, "kill", "-USR1", String.valueOf(peer.pid()));
            Thread.sleep(300);
            List<String> lines = Files.readAllLines(log);
            int from = 0;
            // the last SIGUSR1 table
            for (int i = 0; i < lines.size(); i++) if (lines.get(i).startsWith("port ")) from = i;
            for (String line : lines.subList(from, lines.size())) c.say("switch: " + line.strip());
        }
        return Outcome.ok(rtt, rate);
    }

    /** Gives {@code dev} (already in namespace {@code ns}) the address and brings it up. */
    private static void place0(String ns, String dev, String addr) throws IOException {
        Shell.must(10, "ip", "-n", ns, "addr", "add", addr, "dev", dev);
        Shell.must(10, "ip", "-n", ns, "link", "set", dev, "up");
    }
}
