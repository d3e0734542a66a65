package ringlink.xdp;

import java.io.IOException;
import ringlink.link.Link;
import ringlink.link.LinkProvider;
import ringlink.link.LinkSpec;

/** Opens {@code xdp:IFACE?...} links; see {@link XdpConfig#parse}. */
public final class XdpLinkProvider implements LinkProvider {
    @Override public String scheme() { return "xdp"; }

    @Override
    public String usage() {
        return "xdp:IFACE[?queue=0&mode=copy|zerocopy|auto&attach=skb|drv&frames=4096&frame=2048&ring=2048"
                + "&unaligned=false&wakeup=true&xskmap=/sys/fs/bpf/PIN]  AF_XDP socket on one queue of an interface";
    }

    @Override
    public Link open(LinkSpec spec) throws IOException {
        return XdpLink.open(XdpConfig.parse(spec));
    }
}
