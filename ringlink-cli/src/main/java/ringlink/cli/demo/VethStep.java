package ringlink.cli.demo;

import static ringlink.cli.demo.DemoTools.*;

import ringlink.cli.support.Shell;

/** The kernel's own path, for comparison. */
public final class VethStep implements DemoStep {
    @Override public String name() { return "veth"; }
    @Override public String title() { return "Reference: the kernel's veth pair (no Ringlink)"; }
    @Override
    public String proves() { return "namespaces, ping and iperf3 work here; the kernel's figure to compare with"; }
    @Override public String unavailable(DemoContext c) { return needNamespaces(c); }

    @Override
    public Outcome run(DemoContext c) throws Exception {
        namespaces(c, name());
        String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
        String va = c.prefix() + "va", vb = c.prefix() + "vb";
        Shell.must(10, "ip", "link", "add", va, "type", "veth", "peer", "name", vb);
        c.cleanup().add("delete " + va, () -> Shell.run(10, "ip", "link", "del", va));
        place(va, a, "10.77.0.1/24");
        place(vb, b, "10.77.0.2/24");
        String rtt = ping(c, a, "10.77.0.2");
        DemoTools.Iperf rate = iperf(c, a, b, "10.77.0.2");
        return Outcome.ok(rtt, rate);
    }
}
