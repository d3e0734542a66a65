package ringlink.udp;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import ringlink.link.Link;
import ringlink.link.LinkProvider;
import ringlink.link.LinkSpec;

/**
 * {@code udp:LOCAL_ADDR:PORT?remote=ADDR:PORT[,ADDR:PORT]&...}: a datagram link over one UDP socket
 * ({@link UdpLink}).
 */
public final class UdpLinkProvider implements LinkProvider {
    static final Set<String> PARAMS =
            Set.of("remote", "accept", "mtu", "batch", "rcvbuf", "sndbuf", "reuseport", "gso", "gro", "peers");

    @Override
    public String scheme() { return "udp"; }

    @Override
    public String usage() {
        return "udp:LOCAL_ADDR:PORT  one UDP socket, datagrams as packets (IPv4 or [IPv6]:PORT; port 0 = any) "
                + "[remote=ADDR:PORT[,ADDR:PORT]] [accept=remote|any] [mtu=1500] [batch=64] [rcvbuf=BYTES] "
                        + "[sndbuf=BYTES] "
                + "[reuseport=false] [gso=true] [gro=true] [peers=1024]";
    }

    @Override
    public Link open(LinkSpec spec) throws IOException {
        spec.checkParams(PARAMS);
        InetSocketAddress local = UdpAddress.parse(spec.requireTarget("local ADDR:PORT"), -1, spec + ": local address");
        List<InetSocketAddress> remotes = UdpAddress.parseList(spec.param("remote", ""), -1, spec + ": remote");
        String accept = spec.param("accept", remotes.isEmpty() ? "any" : "remote").toLowerCase(Locale.ROOT);
        if (!accept.equals("any") && !accept.equals("remote"))
                throw new IllegalArgumentException(spec + ": accept=" + accept + " must be remote or any");
        UdpLink.Options o = new UdpLink.Options(local, remotes, accept.equals("any"),
                spec.intParam("mtu", 1500, 1, UdpChannel.MAX_GSO_BYTES),
                spec.intParam("batch", 64, 1, 1024),
                spec.intParam("rcvbuf", 0, 0, Integer.MAX_VALUE),
                spec.intParam("sndbuf", 0, 0, Integer.MAX_VALUE),
                spec.boolParam("reuseport", false),
                spec.boolParam("gso", true),
                spec.boolParam("gro", true),
                spec.intParam("peers", 1024, 1, 1 << 20));
        return UdpLink.open("udp:" + spec.target(), o);
    }
}
