package ringlink.tunnel;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import ringlink.link.Link;
import ringlink.link.LinkProvider;
import ringlink.link.LinkSpec;

/**
 * {@code vxlan:LOCAL_ADDR?remote=ADDR[,ADDR]&vni=N} and {@code geneve:...}: a {@link TunnelLink}.
 * Registered as two providers ({@link Vxlan}, {@link Geneve}).
 */
public abstract class TunnelLinkProvider implements LinkProvider {
    static final Set<String> PARAMS =
            Set.of("remote", "vni", "dstport", "port", "mtu", "srcports", "offload", "learning",
            "fdb", "peers", "fdbsize", "ageing", "rcvbuf", "sndbuf", "batch");

    private final TunnelLink.Kind kind;

    TunnelLinkProvider(TunnelLink.Kind kind) {
        this.kind = kind;
    }

    /** {@code vxlan:} (RFC 7348, port 4789). */
    public static final class Vxlan extends TunnelLinkProvider {
        /** The provider of {@code vxlan:} specs (found by {@link java.util.ServiceLoader}). */
        public Vxlan() { super(TunnelLink.Kind.VXLAN); }
    }

    /** {@code geneve:} (RFC 8926, port 6081). */
    public static final class Geneve extends TunnelLinkProvider {
        /** The provider of {@code geneve:} specs (found by {@link java.util.ServiceLoader}). */
        public Geneve() { super(TunnelLink.Kind.GENEVE); }
    }

    @Override
    public String scheme() { return kind.scheme; }

    @Override
    public String usage() {
        return kind.scheme + ":LOCAL_ADDR  L2 tunnel port over UDP ("
                + (kind == TunnelLink.Kind.VXLAN ? "RFC 7348" : "RFC 8926")
                + "), IPv4 or IPv6 underlay: remote=ADDR[,ADDR] (flood list) vni=N [dstport=" + kind.port
                        + "] [port=DSTPORT (local)] "
                + "[mtu=1500-overhead] [srcports=4] [offload=on|off] [learning=on] [fdb=MAC@ADDR[,MAC@ADDR]] "
                        + "[peers=1024] "
                + "[fdbsize=4096] [ageing=300 s] [rcvbuf=4194304] [sndbuf=4194304] [batch=64]";
    }

    @Override
    public Link open(LinkSpec spec) throws IOException {
        spec.checkParams(PARAMS);
        InetAddress local = addr(spec, spec.requireTarget("local address"), "local address");
        List<InetAddress> remotes = new ArrayList<>();
        for (String r : spec.param("remote", "").split(",")) if (!r.isBlank()) remotes.add(addr(spec, r, "remote"));
        if (!spec.params().containsKey("vni"))
                throw new IllegalArgumentException(spec + ": missing vni=N (0..16777215)");
        int vni = spec.intParam("vni", 0, 0, ringlink.packet.Vxlan.VNI_MAX);
        int dstport = spec.intParam("dstport", kind.port, 1, 65535);
        Map<Long, InetAddress> fdb = new LinkedHashMap<>();
        for (String e : spec.param("fdb", "").split(",")) {
            if (e.isBlank()) continue;
            int at = e.indexOf('@');
            if (at < 0) throw new IllegalArgumentException(spec + ": fdb entry '" + e + "' must be MAC@ADDR");
            fdb.put(mac(spec, e.substring(0, at)), addr(spec, e.substring(at + 1), "fdb address"));
        }
        String off = spec.param("offload", "on").toLowerCase(Locale.ROOT);
        TunnelLink.Options o = new TunnelLink.Options(kind, local, remotes, vni, dstport,
                spec.intParam("port", dstport, 0, 65535),
                spec.intParam("mtu", 0, 68, 65000),
                spec.intParam("srcports", 4, 1, 64),
                switch (off) {
                    case "on", "all", "true", "yes", "1" -> true;
                    case "off", "none", "false", "no", "0" -> false;
                    default -> throw new IllegalArgumentException(spec + ": offload=" + off
                            + " must be on (all) or off (none)");
                },
                spec.boolParam("learning", true),
                spec.intParam("peers", 1024, 1, 1 << 20),
                spec.intParam("fdbsize", 4096, 1, 1 << 22),
                spec.intParam("ageing", 300, 1, 1_000_000) * 1000L,
                fdb,
                spec.intParam("rcvbuf", 4 << 20, 0, Integer.MAX_VALUE),
                spec.intParam("sndbuf", 4 << 20, 0, Integer.MAX_VALUE),
                spec.intParam("batch", 64, 1, 1024));
        return TunnelLink.open(kind.scheme + ":" + spec.target(), o);
    }

    private static InetAddress addr(LinkSpec spec, String s, String what) {
        String t = s.trim();
        if (t.startsWith("[") && t.endsWith("]")) t = t.substring(1, t.length() - 1);
        if (!t.matches("[0-9a-fA-F:.%A-Za-z_-]+"))
                throw new IllegalArgumentException(spec + ": bad " + what + " '" + s + "'");
        try {
            return InetAddress.getByName(t);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(spec + ": unknown " + what + " '" + s + "'");
        }
    }

    static long mac(LinkSpec spec, String s) {
        String[] p = s.trim().split(":");
        if (p.length != 6)
                throw new IllegalArgumentException(spec + ": bad MAC '" + s + "' (expected aa:bb:cc:dd:ee:ff)");
        long m = 0;
        for (String b : p) {
            try {
                int v = Integer.parseInt(b, 16);
                if (v < 0 || v > 255 || b.length() > 2) throw new NumberFormatException();
                m = m << 8 | v;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(spec + ": bad MAC '" + s + "'");
            }
        }
        return m;
    }
}
