package ringlink.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import ringlink.link.LinkSpec;
import ringlink.sw.PortVlan;

/**
 * Switch ports from the command line or a config file. A port is a link spec; parameters
 * starting with {@code port.} belong to the switch and are removed before the link is opened:
 * {@code port.vlan=10} (access port), {@code port.trunk=10,20-29} and {@code port.native=1};
 * {@code port.maclimit=N} (most addresses the port may hold in the forwarding table) and
 * {@code port.allow=02:00:00:00:00:0a,...} (port security: only these source addresses).
 *
 * <p>Config file: one item a line, {@code #} starts a comment:
 * <pre>
 * port tap:rl0?offload=tso&amp;port.vlan=10
 * port vhost-user:/run/vm1.sock?port.trunk=10,20&amp;port.allow=52:54:00:12:34:56
 * mac-limit = 1024
 * threads = 2
 * ageing = 300
 * vlan-aware = true
 * stats-interval = 10
 * </pre>
 */
final class PortSpecs {
    private PortSpecs() {}

    /**
     * A port: the spec to open, its VLAN membership (null = default), its MAC limit (null =
     * the switch's) and its allowed source addresses (null = any).
     */
    record Port(LinkSpec spec, PortVlan vlan, Integer macLimit, long[] allowed) {
        Port(LinkSpec spec, PortVlan vlan) {
            this(spec, vlan, null, null);
        }
    }

    private static final List<String> KNOWN = List.of("vlan", "trunk", "native", "maclimit", "allow");

    static Port parse(String s) {
        LinkSpec full = LinkSpec.parse(s);
        Map<String, String> link = new LinkedHashMap<>();
        Map<String, String> sw = new LinkedHashMap<>();
        for (var e : full.params().entrySet()) {
            if (e.getKey().startsWith("port.")) sw.put(e.getKey().substring(5), e.getValue());
            else link.put(e.getKey(), e.getValue());
        }
        for (String k : sw.keySet()) {
            if (!KNOWN.contains(k)) {
                throw new IllegalArgumentException(s + ": unknown switch port parameter 'port." + k
                        + "' (known: port.vlan, port.trunk, port.native, port.maclimit, port.allow)");
            }
        }
        PortVlan vlan;
        try {
            vlan = PortVlan.parse(sw.get("vlan"), sw.get("trunk"), sw.get("native"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(s + ": " + e.getMessage());
        }
        Integer limit = null;
        if (sw.containsKey("maclimit")) {
            try {
                limit = Integer.parseInt(sw.get("maclimit").trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(s + ": port.maclimit '" + sw.get("maclimit") + "' is not a number");
            }
            if (limit < 1) throw new IllegalArgumentException(s + ": port.maclimit must be at least 1");
        }
        long[] allowed = null;
        if (sw.containsKey("allow")) {
            try {
                allowed =
                        java.util.Arrays.stream(sw.get("allow").split(",")).map(String::trim).filter(x -> !x.isEmpty())
                        .mapToLong(ringlink.packet.Ethernet::parseMac).toArray();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(s + ": port.allow: " + e.getMessage());
            }
            if (allowed.length == 0) throw new IllegalArgumentException(s + ": port.allow needs at least one address");
        }
        return new Port(new LinkSpec(full.scheme(), full.target(), link), vlan, limit, allowed);
    }

    /** A parsed config file: ports and settings (keys lower case). */
    record Config(List<String> ports, Map<String, String> settings) {}

    static Config readConfig(Path file) throws IOException {
        List<String> ports = new ArrayList<>();
        Map<String, String> settings = new LinkedHashMap<>();
        int n = 0;
        for (String raw : Files.readAllLines(file)) {
            n++;
            String line = raw.strip();
            int hash = line.indexOf('#');
            if (hash >= 0) line = line.substring(0, hash).strip();
            if (line.isEmpty()) continue;
            if (line.startsWith("port ") || line.startsWith("port\t")) {
                ports.add(line.substring(5).strip());
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(file + ":" + n + ": expected 'port SPEC' or 'key = value', got '"
                        + raw.strip() + "'");
            }
            String key = line.substring(0, eq).strip().toLowerCase(Locale.ROOT);
            if (!List.of("threads", "ageing", "vlan-aware", "stats-interval", "batch", "busy-poll-us", "tx-retry-us",
                    "cpus", "mac-limit", "control", "metrics").contains(key)) {
                throw new IllegalArgumentException(file + ":" + n + ": unknown setting '" + key
                        + "' (known: threads, ageing, vlan-aware, stats-interval, batch, busy-poll-us, tx-retry-us, "
                                + "cpus, mac-limit, control, metrics)");
            }
            settings.put(key, line.substring(eq + 1).strip());
        }
        return new Config(ports, settings);
    }
}
