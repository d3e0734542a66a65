package ringlink.cli.demo;

import static ringlink.cli.demo.DemoTools.*;

import ringlink.cli.support.Shell;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.sw.Switch;

/** AF_XDP sockets on the host ends of two veth pairs, switched by Ringlink. */
public final class XdpStep implements DemoStep {
    @Override public String name() { return "xdp"; }
    @Override
    public String title() { return "AF_XDP on veth: namespace <-> veth <-> XDP socket <-> Ringlink switch <-> ..."; }
    @Override public String proves() { return "AF_XDP sockets carry real namespace traffic through Ringlink's switch"; }

    @Override
    public String unavailable(DemoContext c) {
        String why = needNamespaces(c);
        return why != null ? why : needScheme("xdp");
    }

    @Override
    public Outcome run(DemoContext c) throws Exception {
        namespaces(c, name());
        String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
        String xa = c.prefix() + "xa", xah = c.prefix() + "xah", xb = c.prefix() + "xb", xbh = c.prefix() + "xbh";
        for (String[] v : new String[][] {{xa, xah}, {xb, xbh}}) {
            Shell.must(10, "ip", "link", "add", v[0], "type", "veth", "peer", "name", v[1]);
            c.cleanup().add("delete " + v[1], () -> Shell.run(10, "ip", "link", "del", v[1]));
            Shell.must(10, "ip", "link", "set", v[1], "up");
        }
        place(xa, a, "10.77.2.1/24");
        place(xb, b, "10.77.2.2/24");
        // AF_XDP frames carry no offload metadata: the namespaces must send finished, MTU-sized packets.
        for (String[] v : new String[][] {{a, xa}, {b, xb}}) {
            Shell.run(10, "ip", "netns", "exec", v[0], "ethtool", "-K", v[1], "tx", "off", "tso", "off", "gso", "off");
        }
        Link la = Links.open("xdp:" + xah + DemoTools.XDP_RINGS);
        c.cleanup().add("close " + la.name(), la::close);
        Link lb = Links.open("xdp:" + xbh + DemoTools.XDP_RINGS);
        c.cleanup().add("close " + lb.name(), lb::close);
        Switch sw = switchOf(c, la, lb);
        String rtt = ping(c, a, "10.77.2.2");
        DemoTools.Iperf rate = iperf(c, a, b, "10.77.2.2");
        c.say("switch: " + switchSummary(sw));
        c.say("kernel, per XDP socket: " + DemoTools.xskDrops(la) + "; " + DemoTools.xskDrops(lb));
        return Outcome.ok(rtt, rate);
    }
}
