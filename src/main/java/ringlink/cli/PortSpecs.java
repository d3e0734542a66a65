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
 * {@code port.vlan=10} (access port), {@code port.trunk=10,20-29} and {@code port.native=1}.
 *
 * <p>Config file: one item a line, {@code #} starts a comment:
 * <pre>
 * port tap:rl0?offload=tso&amp;port.vlan=10
 * port vhost-user:/run/vm1.sock?port.trunk=10,20
 * threads = 2
 * ageing = 300
 * vlan-aware = true
 * stats-interval = 10
 * </pre>
 */
final class PortSpecs {
    private PortSpecs() {}

    /** A port: the spec to open and its VLAN membership (null = default). */
    record Port(LinkSpec spec, PortVlan vlan) {}

    static Port parse(String s) {
        LinkSpec full = LinkSpec.parse(s);
        Map<String, String> link = new LinkedHashMap<>();
        Map<String, String> sw = new LinkedHashMap<>();
        for (var e : full.params().entrySet()) {
            if (e.getKey().startsWith("port.")) sw.put(e.getKey().substring(5), e.getValue());
            else link.put(e.getKey(), e.getValue());
        }
        for (String k : sw.keySet()) {
            if (!List.of("vlan", "trunk", "native").contains(k)) {
                throw new IllegalArgumentException(s + ": unknown switch port parameter 'port." + k + "' (known: port.vlan, port.trunk, port.native)");
            }
        }
        PortVlan vlan;
        try {
            vlan = PortVlan.parse(sw.get("vlan"), sw.get("trunk"), sw.get("native"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(s + ": " + e.getMessage());
        }
        return new Port(new LinkSpec(full.scheme(), full.target(), link), vlan);
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
                throw new IllegalArgumentException(file + ":" + n + ": expected 'port SPEC' or 'key = value', got '" + raw.strip() + "'");
            }
            String key = line.substring(0, eq).strip().toLowerCase(Locale.ROOT);
            if (!List.of("threads", "ageing", "vlan-aware", "stats-interval", "batch", "busy-poll-us", "tx-retry-us", "cpus", "control", "metrics").contains(key)) {
                throw new IllegalArgumentException(file + ":" + n + ": unknown setting '" + key
                        + "' (known: threads, ageing, vlan-aware, stats-interval, batch, busy-poll-us, tx-retry-us, cpus, control, metrics)");
            }
            settings.put(key, line.substring(eq + 1).strip());
        }
        return new Config(ports, settings);
    }
}
