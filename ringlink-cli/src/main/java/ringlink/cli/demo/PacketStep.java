package ringlink.cli.demo;

import static ringlink.cli.demo.DemoTools.*;

import java.io.IOException;
import ringlink.cli.support.Shell;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.sw.Switch;

/**
 * AF_PACKET sockets (TPACKET_V3 rings, {@code PACKET_VNET_HDR}) on the host ends of two veth
 * pairs, switched by Ringlink: the switch attached to interfaces that already exist. The bench
 * runs the same topology with a kernel bridge instead of the switch as the reference
 * ({@code ringlink.cli.bench.PacketCells}).
 */
public final class PacketStep implements DemoStep {
    /**
     * The step's receive rings: 64 blocks (16 MiB) instead of the link's default 16 (4 MiB). With
     * offloads on, the namespaces' TCP arrives as 64 KiB superpackets, so 4 MiB is ~60 of them: a
     * switch thread kept off the CPU for a few milliseconds on a loaded 2-core machine overflowed
     * it (a 3 s iperf3: 36 ring drops, each a whole superpacket, 1506 retransmissions). A veth
     * cannot hold its sender back, so the ring is the only buffer (as for the xdp and shm steps,
     * DemoTools.XDP_RINGS, SHM_QUEUES).
     */
    public static final String RINGS = "?blocks=64";

    /** Namespace addresses of the step (side a, side b). */
    public static final String ADDR_A = "10.77.9.1", ADDR_B = "10.77.9.2";

    @Override public String name() { return "packet"; }
    @Override public String title() {
            return "AF_PACKET on veth: namespace <-> veth <-> packet socket <-> Ringlink switch <-> ..."; }
    @Override public String proves() {
            return "AF_PACKET mmap rings attach the switch to existing interfaces; TSO superpackets pass whole"; }

    @Override
    public String unavailable(DemoContext c) {
        String why = needNamespaces(c);
        return why != null ? why : needScheme("packet");
    }

    /**
     * Creates the step's namespaces and two veth pairs, one end of each in a namespace (addressed,
     * offloads left on) and the other on the host, up and without IPv6 (no router solicitations
     * of its own in the measured traffic); returns the two host ends.
     */
    public static String[] topology(DemoContext c, String step) throws IOException {
        namespaces(c, step);
        String a = ns(c, step, 'a'), b = ns(c, step, 'b');
        String pa = c.prefix() + "pa", pah = c.prefix() + "pah", pb = c.prefix() + "pb", pbh = c.prefix() + "pbh";
        for (String[] v : new String[][] {{pa, pah}, {pb, pbh}}) {
            Shell.must(10, "ip", "link", "add", v[0], "type", "veth", "peer", "name", v[1]);
            c.cleanup().add("delete " + v[1], () -> Shell.run(10, "ip", "link", "del", v[1]));
            Shell.run(10, "sysctl", "-qw", "net.ipv6.conf." + v[1] + ".disable_ipv6=1");
            Shell.must(10, "ip", "link", "set", v[1], "up");
        }
        place(pa, a, ADDR_A + "/24");
        place(pb, b, ADDR_B + "/24");
        return new String[] {pah, pbh};
    }

    @Override
    public Outcome run(DemoContext c) throws Exception {
        String[] host = topology(c, name());
        String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
        Link la = Links.open("packet:" + host[0] + RINGS);
        c.cleanup().add("close " + la.name(), la::close);
        Link lb = Links.open("packet:" + host[1] + RINGS);
        c.cleanup().add("close " + lb.name(), lb::close);
        Switch sw = switchOf(c, la, lb);
        String rtt = ping(c, a, ADDR_B);
        DemoTools.Iperf rate = iperf(c, a, b, ADDR_B);
        c.say("switch: " + switchSummary(sw));
        c.say("kernel, per packet socket: " + kernelDrops(la) + "; " + kernelDrops(lb));
        return Outcome.ok(rtt, rate);
    }

    /**
     * What the kernel dropped at an AF_PACKET link's receive ring (PACKET_STATISTICS): not in the switch's counters.
     */
    static String kernelDrops(Link l) {
        if (!(l instanceof ringlink.afpacket.PacketLink p)) return l.name() + ": not AF_PACKET";
        try {
            return l.name() + " ring drops " + p.statistics().drops();
        } catch (IOException | RuntimeException e) {
            return l.name() + ": no statistics (" + e.getMessage() + ")";
        }
    }
}
