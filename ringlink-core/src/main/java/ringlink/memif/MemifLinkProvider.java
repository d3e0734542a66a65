package ringlink.memif;

import java.io.IOException;
import java.util.Locale;
import java.util.Set;
import ringlink.link.Link;
import ringlink.link.LinkProvider;
import ringlink.link.LinkSpec;

/**
 * {@code memif:SOCKET?role=server|client&id=0&mode=ethernet|ip&secret=S&rings=1&ring-size=1024}
 * {@code &buffer-size=2048&mtu=1500&timeout=10000&allow-unsealed=false}.
 *
 * <p>SOCKET is a filesystem path or {@code @name} for an abstract socket name (DPDK's
 * {@code socket-abstract=yes}, its default). {@code role=server} (default) listens and maps the
 * memory a client creates; {@code role=client} connects (retrying) and creates it. {@code rings}
 * is the number of queue pairs; the link returned is pair 0, the others are reachable through
 * {@link MemifLink#owner()}{@code .link(q)}. Closing any link closes the interface.
 * {@code allow-unsealed=true} lets a server map client memory that could shrink under it (DPDK
 * zero-copy clients); see {@link MemifConfig#allowUnsealed()}.
 */
public final class MemifLinkProvider implements LinkProvider {
    @Override public String scheme() { return "memif"; }

    @Override
    public String usage() {
        return "memif:SOCKET|@ABSTRACT[?role=server|client&id=0&mode=ethernet|ip&secret=S&rings=1&ring-size=1024&buffer"
                + "-size=2048&mtu=1500&timeout=MS&allow-unsealed=false]"
                + "  memif shared-memory interface (FD.io VPP, DPDK net_memif)";
    }

    @Override
    public Link open(LinkSpec spec) throws IOException {
        spec.checkParams(Set.of("role", "id", "mode", "secret", "rings", "ring-size", "buffer-size", "mtu", "timeout",
                "allow-unsealed"));
        String socket = spec.requireTarget("socket path or @abstract-name");
        String role = spec.param("role", "server").toLowerCase(Locale.ROOT);
        boolean server = switch (role) {
            case "server", "master" -> true;
            case "client", "slave" -> false;
            default -> throw new IllegalArgumentException(spec + ": role must be server or client");
        };
        String mode = spec.param("mode", "ethernet").toLowerCase(Locale.ROOT);
        boolean ip = switch (mode) {
            case "ethernet", "eth" -> false;
            case "ip" -> true;
            default -> throw new IllegalArgumentException(spec + ": mode must be ethernet or ip");
        };
        int ringSize = spec.intParam("ring-size", 1024, 2, 1 << MemifConfig.MAX_LOG2_RING_SIZE);
        if (Integer.bitCount(ringSize) != 1)
                throw new IllegalArgumentException(spec + ": ring-size must be a power of two");
        MemifConfig c = MemifConfig.defaults(socket).withServer(server)
                .withId(spec.intParam("id", 0, 0, Integer.MAX_VALUE))
                .withIp(ip)
                .withSecret(spec.param("secret", ""))
                .withQueuePairs(spec.intParam("rings", 1, 1, MemifConfig.MAX_QUEUE_PAIRS))
                .withLog2RingSize(Integer.numberOfTrailingZeros(ringSize))
                .withBufferSize(spec.intParam("buffer-size", 2048, 128, 65535))
                .withMtu(spec.intParam("mtu", 1500, 68, 65535))
                .withTimeout(spec.intParam("timeout", 10_000, 0, Integer.MAX_VALUE))
                .withAllowUnsealed(spec.boolParam("allow-unsealed", false));
        return MemifInterface.open(c).link(0);
    }
}
