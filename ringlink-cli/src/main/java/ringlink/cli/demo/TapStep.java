package ringlink.cli.demo;

import static ringlink.cli.demo.DemoTools.*;

import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.sw.Switch;

/** TAP devices with offloads, one in each namespace, switched by Ringlink. */
public final class TapStep implements DemoStep {
    @Override public String name() { return "tap"; }
    @Override
    public String title() { return "TAP with offloads: namespace <-> tap <-> Ringlink switch <-> tap <-> namespace"; }
    @Override
    public String proves() { return "real kernel TCP crosses Ringlink's switch over TAP; TSO superpackets pass whole"; }

    @Override
    public String unavailable(DemoContext c) {
        String why = needNamespaces(c);
        return why != null ? why : needScheme("tap");
    }

    @Override
    public Outcome run(DemoContext c) throws Exception {
        namespaces(c, name());
        String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
        String ta = c.prefix() + "ta", tb = c.prefix() + "tb";
        Link la = Links.open("tap:" + ta);
        c.cleanup().add("close " + la.name(), la::close);
        Link lb = Links.open("tap:" + tb);
        c.cleanup().add("close " + lb.name(), lb::close);
        Switch sw = switchOf(c, la, lb);
        place(ta, a, "10.77.1.1/24");
        place(tb, b, "10.77.1.2/24");
        String rtt = ping(c, a, "10.77.1.2");
        DemoTools.Iperf rate = iperf(c, a, b, "10.77.1.2");
        c.say("switch: " + switchSummary(sw));
        return Outcome.ok(rtt, rate);
    }
}
