package ringlink.link;

import java.io.IOException;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code pair:NAME?slots=1024&mtu=1500&layer=l2&offload=all}: the first open of a name creates
 * an in-memory pair and returns one end, the second open returns the other.
 */
public final class PairLinkProvider implements LinkProvider {
    private static final Map<String, PairLink> WAITING = new ConcurrentHashMap<>();

    @Override public String scheme() { return "pair"; }

    @Override
    public String usage() {
        return "pair:NAME[?slots=1024&mtu=1500&layer=l2|l3&offload=all]  in-memory link pair (open the same name "
                + "twice)";
    }

    @Override
    public Link open(LinkSpec spec) throws IOException {
        spec.checkParams(Set.of("slots", "mtu", "layer", "offload"));
        String name = spec.requireTarget("pair name");
        PairLink other = WAITING.remove(name);
        if (other != null) return other;
        int slots = spec.intParam("slots", 1024, 2, 1 << 16);
        int mtu = spec.intParam("mtu", 1500, 68, 65535);
        Layer layer = switch (spec.param("layer", "l2").toLowerCase(java.util.Locale.ROOT)) {
            case "l2" -> Layer.L2;
            case "l3" -> Layer.L3;
            default -> throw new IllegalArgumentException(spec + ": layer must be l2 or l3");
        };
        PairLink[] p = PairLink.create("pair:" + name, Integer.highestOneBit(slots),
                ringlink.packet.PacketBatch.SUPERPACKET_BUFFER,
                layer, mtu, Offloads.parse(spec.param("offload", "all")));
        WAITING.put(name, p[1]);
        return p[0];
    }
}
