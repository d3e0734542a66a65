package ringlink.afpacket;

import java.io.IOException;
import ringlink.link.Link;
import ringlink.link.LinkProvider;
import ringlink.link.LinkSpec;

/** Opens {@code packet:IFACE?...} links; see {@link PacketConfig#parse}. */
public final class PacketLinkProvider implements LinkProvider {
    @Override public String scheme() { return "packet"; }

    @Override
    public String usage() {
        return "packet:IFACE[?promisc=true&outgoing=false&qdisc-bypass=false&vnethdr=true&block-size=262144&blocks=16"
                + "&timeout=1&tx-frames=128&fanout=GROUP]  AF_PACKET socket with TPACKET_V3 mmap rings on an existing "
                        + "interface";
    }

    @Override
    public Link open(LinkSpec spec) throws IOException {
        return PacketLink.open(PacketConfig.parse(spec));
    }
}
