package ringlink.tun;

import java.io.IOException;
import java.util.Set;
import ringlink.link.Link;
import ringlink.link.LinkProvider;
import ringlink.link.LinkSpec;
import ringlink.link.Offloads;

/**
 * {@code tun:NAME?offload=all&mtu=1500&addr=10.0.0.1/24&multiqueue&persist&vnethdr=10&gro&datavalid&up}:
 * an L3 TUN queue (see {@link TunLink}). Opening a multi-queue name again attaches another queue.
 */
public class TunLinkProvider implements LinkProvider {
    static final Set<String> PARAMS = Set.of("offload", "mtu", "addr", "multiqueue", "persist", "vnethdr", "gro", "datavalid", "up");

    @Override public String scheme() { return "tun"; }

    @Override
    public String usage() {
        return scheme() + ":IFNAME[?offload=all|none|csum,tso,uso&mtu=N&addr=CIDR[,CIDR]&multiqueue&persist&vnethdr=10|12&gro=on&datavalid=on&up=on]"
                + "  kernel " + (tap() ? "TAP (L2)" : "TUN (L3)") + " device queue with virtio-net offloads";
    }

    boolean tap() { return false; }

    @Override
    public Link open(LinkSpec spec) throws IOException {
        spec.checkParams(PARAMS);
        String name = spec.requireTarget("interface name");
        TunConfig c = tap() ? TunConfig.tap(name) : TunConfig.tun(name);
        c.offloads(Offloads.parse(spec.param("offload", "csum,tso,uso")));
        c.mtu(spec.intParam("mtu", 0, 0, 65535));
        String addrs = spec.param("addr", "");
        for (String a : addrs.split(",")) if (!a.isBlank()) c.address(a.trim());
        c.multiQueue(spec.boolParam("multiqueue", false));
        c.persist(spec.boolParam("persist", false));
        c.vnetHdrSize(spec.intParam("vnethdr", 10, 10, 12));
        c.gro(spec.boolParam("gro", true));
        c.dataValid(spec.boolParam("datavalid", true));
        c.up(spec.boolParam("up", true));
        return TunLink.open(c);
    }
}
