package ringlink.tun;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import ringlink.link.Link;
import ringlink.link.LinkDevice;
import ringlink.link.LinkProvider;
import ringlink.link.LinkSpec;
import ringlink.link.Offloads;

/**
 * {@code tun:NAME?offload=all&mtu=1500&addr=10.0.0.1/24&multiqueue&persist&vnethdr=10&gro&datavalid&up&queues=1}:
 * an L3 TUN queue (see {@link TunLink}). Opening a multi-queue name again attaches another queue.
 * {@code queues=N} (N &gt; 1, implies {@code multiqueue}) is for {@link #openDevice}: it opens N
 * queues of one device (the configuration is applied once, with the first), e.g. one switch port
 * whose queues the switch polls in parallel and the kernel spreads flows over.
 */
public class TunLinkProvider implements LinkProvider {
    static final Set<String> PARAMS =
            Set.of("offload", "mtu", "addr", "multiqueue", "persist", "vnethdr", "gro", "datavalid", "up", "queues");

    @Override public String scheme() { return "tun"; }

    @Override
    public String usage() {
        return scheme() + ":IFNAME[?offload=all|none|csum,tso,uso&mtu=N&addr=CIDR[,CIDR]&multiqueue&persist&vnethdr=10|"
                + "12&gro=on&datavalid=on&up=on&queues=1]"
                + "  kernel " + (tap() ? "TAP (L2)" : "TUN (L3)") + " device queue with virtio-net offloads";
    }

    boolean tap() { return false; }

    @Override
    public Link open(LinkSpec spec) throws IOException {
        if (queues(spec) > 1) {
            throw new IllegalArgumentException(spec + ": queues=N opens a device of N queues (a switch port, "
                    + "Links.openDevice); for one queue of a multi-queue device use multiqueue");
        }
        return TunLink.open(config(spec, null));
    }

    private static int queues(LinkSpec spec) {
        return spec.intParam("queues", 1, 1, 256);
    }

    @Override
    public LinkDevice openDevice(LinkSpec spec) throws IOException {
        int n = queues(spec);
        if (n == 1) return LinkDevice.of(open(spec));
        List<Link> q = new ArrayList<>();
        try {
            // The first open creates and configures the device; the others only attach a queue.
            // The others attach to the name the kernel gave the first (a template like rl%d would
            // otherwise create a new device each time).
            TunLink first = TunLink.open(config(spec, null).multiQueue(true));
            q.add(first);
            for (int i = 1; i < n; i++) q.add(TunLink.open(config(spec, first.ifname()).multiQueue(true)));
        } catch (IOException | RuntimeException e) {
            for (Link l : q) l.close();
            throw e;
        }
        return LinkDevice.of(q.get(0).name(), q);
    }

    /** The config of {@code spec}; for a further queue of device {@code attachTo} without its interface settings. */
    private TunConfig config(LinkSpec spec, String attachTo) {
        spec.checkParams(PARAMS);
        boolean first = attachTo == null;
        String name = first ? spec.requireTarget("interface name") : attachTo;
        TunConfig c = tap() ? TunConfig.tap(name) : TunConfig.tun(name);
        c.offloads(Offloads.parse(spec.param("offload", "csum,tso,uso")));
        c.mtu(spec.intParam("mtu", 0, 0, 65535));
        String addrs = spec.param("addr", "");
        if (first) for (String a : addrs.split(",")) if (!a.isBlank()) c.address(a.trim());
        c.multiQueue(spec.boolParam("multiqueue", false));
        c.persist(spec.boolParam("persist", false));
        c.vnetHdrSize(spec.intParam("vnethdr", 10, 10, 12));
        c.gro(spec.boolParam("gro", true));
        c.dataValid(spec.boolParam("datavalid", true));
        c.up(first && spec.boolParam("up", true));
        return c;
    }
}
