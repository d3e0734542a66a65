package ringlink.cli.demo;

import static ringlink.cli.demo.DemoTools.*;

import ringlink.cli.support.Shell;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.sw.Switch;

/**
 * A TAP with offloads on one side, AF_XDP (no offloads) on the other: the switch must
 * segment the TAP's TSO superpackets in software for the AF_XDP port.
 */
public final class MixedStep implements DemoStep {
    @Override public String name() { return "mixed"; }
    @Override public String title() {
            return "Offload translation: namespace <-> tap (TSO) <-> switch <-> AF_XDP (no offloads) <-> namespace"; }
    @Override public String proves() {
            return "superpackets from a port with TSO are segmented in software for a port without it"; }

    @Override
    public String unavailable(DemoContext c) {
        String why = needNamespaces(c);
        if (why == null) why = needScheme("tap");
        return why != null ? why : needScheme("xdp");
    }

    @Override
    public Outcome run(DemoContext c) throws Exception {
        namespaces(c, name());
        String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
        String ta = c.prefix() + "ma", xb = c.prefix() + "mb", xbh = c.prefix() + "mbh";
        Link la = Links.open("tap:" + ta);
        c.cleanup().add("close " + la.name(), la::close);
        Shell.must(10, "ip", "link", "add", xb, "type", "veth", "peer", "name", xbh);
        c.cleanup().add("delete " + xbh, () -> Shell.run(10, "ip", "link", "del", xbh));
        Shell.must(10, "ip", "link", "set", xbh, "up");
        place(ta, a, "10.77.3.1/24");
        place(xb, b, "10.77.3.2/24");
        Shell.run(10, "ip", "netns", "exec", b, "ethtool", "-K", xb, "tx", "off", "tso", "off", "gso", "off");
        Link lb = Links.open("xdp:" + xbh + DemoTools.XDP_RINGS);
        c.cleanup().add("close " + lb.name(), lb::close);
        Switch sw = switchOf(c, la, lb);
        String rtt = ping(c, a, "10.77.3.2");
        DemoTools.Iperf rate = iperf(c, a, b, "10.77.3.2");
        long segmented = sw.stats().ports().get(1).segmented();
        c.say("switch: " + switchSummary(sw));
        if (segmented == 0) c.say("(the TAP sent no superpackets this time, so nothing needed segmenting)");
        return Outcome.ok(rtt, rate);
    }
}
