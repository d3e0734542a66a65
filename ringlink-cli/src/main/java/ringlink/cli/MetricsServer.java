package ringlink.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import ringlink.sw.DropReason;
import ringlink.sw.PollerStats;
import ringlink.sw.PortStats;
import ringlink.sw.Switch;
import ringlink.sw.SwitchStats;

/**
 * {@code --metrics ADDR:PORT}: the switch's counters in Prometheus text exposition format
 * (version 0.0.4) at {@code /metrics}, from the JDK's HTTP server on one thread. Every number is
 * the one {@code port/show} shows (both come from {@link SwitchControl#ports}).
 */
final class MetricsServer implements AutoCloseable {
    private final HttpServer http;
    private final Switch sw;
    private final SwitchControl view;

    MetricsServer(String addrPort, Switch sw, SwitchControl view) throws IOException {
        this.sw = sw;
        this.view = view;
        int colon = addrPort.lastIndexOf(':');
        if (colon < 0) throw new IllegalArgumentException("--metrics " + addrPort
                + ": expected ADDR:PORT, e.g. 127.0.0.1:9520");
        String host = addrPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port;
        try {
            port = Integer.parseInt(addrPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--metrics " + addrPort + ": the port is not a number");
        }
        if (port < 0 || port > 65535)
                throw new IllegalArgumentException("--metrics " + addrPort + ": port not in [0, 65535]");
        http = HttpServer.create(host.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(host, port), 16);
        http.createContext("/metrics", this::serve);
        http.createContext("/", ex -> {
            byte[] b = "ringlink switch: metrics are at /metrics\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(404, b.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(b);
            }
        });
        http.setExecutor(null); // the server's own thread: one scrape at a time
    }

    void start() {
        http.start();
    }

    /** The address actually bound (port 0 picks a free one). */
    InetSocketAddress address() {
        return http.getAddress();
    }

    private void serve(HttpExchange ex) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            byte[] body = render().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.sendResponseHeaders(200, -1);
                return;
            }
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(body);
            }
        }
    }

    /** The exposition text now. */
    String render() {
        SwitchStats s = sw.stats();
        List<Map.Entry<Integer, PortStats>> ports = view.ports(s);
        StringBuilder sb = new StringBuilder(4096);
        family(sb, "ringlink_port_up", "gauge", "1 if the port forwards, 0 if it is down.");
        for (var e : ports) sample(sb, "ringlink_port_up", labels(e), "", e.getValue().up() ? 1 : 0);
        counter(sb, ports, "ringlink_port_rx_packets_total", "Packets the port's link received.",
                p -> p.link().rxPackets());
        counter(sb, ports, "ringlink_port_rx_bytes_total", "Bytes the port's link received.", p -> p.link().rxBytes());
        counter(sb, ports, "ringlink_port_tx_packets_total", "Packets the port's link transmitted.",
                p -> p.link().txPackets());
        counter(sb, ports, "ringlink_port_tx_bytes_total", "Bytes the port's link transmitted.",
                p -> p.link().txBytes());
        family(sb, "ringlink_port_link_drops_total", "counter",
                "Packets the port's link itself dropped, by direction.");
        for (var e : ports) {
            sample(sb, "ringlink_port_link_drops_total", labels(e), ",direction=\"rx\"", e.getValue().link().rxDrops());
            sample(sb, "ringlink_port_link_drops_total", labels(e), ",direction=\"tx\"", e.getValue().link().txDrops());
        }
        family(sb, "ringlink_port_drops_total", "counter", "Packets the switch dropped at the port, by reason.");
        for (var e : ports) {
            for (DropReason r : DropReason.values()) {
                sample(sb, "ringlink_port_drops_total", labels(e),
                        ",reason=\"" + r.name().toLowerCase(Locale.ROOT) + "\"",
                        e.getValue().drops().getOrDefault(r, 0L));
            }
        }
        counter(sb, ports, "ringlink_port_superpackets_total",
                "GSO superpackets the port's link received or transmitted whole.", p -> p.link().superpackets());
        counter(sb, ports, "ringlink_port_link_errors_total",
                "Errors the port's link counted (bad input from the peer, failed calls).", p -> p.link().errors());
        counter(sb, ports, "ringlink_port_switch_rx_packets_total", "Packets the switch took from the port.",
                p -> p.forwarded().rxPackets());
        counter(sb, ports, "ringlink_port_switch_tx_packets_total", "Packets the switch handed to the port.",
                p -> p.forwarded().txPackets());
        counter(sb, ports, "ringlink_port_segmented_total", "Superpackets the switch segmented in software for the "
                + "port (it lacks the offload).", PortStats::segmented);
        counter(sb, ports, "ringlink_port_checksums_finished_total",
                "Partial checksums the switch finished in software for the port.", PortStats::checksummed);
        family(sb, "ringlink_port_switch_superpackets_total", "counter",
                "Superpackets the switch took from the port (in) or handed to it whole (out).");
        for (var e : ports) {
            sample(sb, "ringlink_port_switch_superpackets_total", labels(e), ",direction=\"in\"",
                    orZero(() -> sw.superpacketsIn(e.getKey())));
            sample(sb, "ringlink_port_switch_superpackets_total", labels(e), ",direction=\"out\"",
                    orZero(() -> sw.superpacketsOut(e.getKey())));
        }
        family(sb, "ringlink_port_tx_retried_total", "counter",
                "Packets the port took on a retry after its queue was full at first.");
        for (var e : ports)
                sample(sb, "ringlink_port_tx_retried_total", labels(e), "", orZero(() -> sw.retried(e.getKey())));
        family(sb, "ringlink_port_mac_entries", "gauge", "Addresses learned on the port.");
        for (var e : ports) sample(sb, "ringlink_port_mac_entries", labels(e), "", e.getValue().macs());
        family(sb, "ringlink_port_mac_limit", "gauge",
                "Most addresses the port may hold in the forwarding table (port/set NAME mac-limit=N).");
        for (var e : ports) sample(sb, "ringlink_port_mac_limit", labels(e), "", orZero(() -> sw.macLimit(e.getKey())));
        counter(sb, ports, "ringlink_port_unlearned_total",
                "Source addresses not learned because the port held its MAC limit.", PortStats::unlearned);
        family(sb, "ringlink_mac_table_entries", "gauge", "Addresses in the forwarding table.");
        sb.append("ringlink_mac_table_entries ").append(s.macs()).append('\n');
        family(sb, "ringlink_ports", "gauge", "Ports on the switch.");
        sb.append("ringlink_ports ").append(s.ports().size()).append('\n');
        List<PollerStats> ps = sw.pollerStats();
        family(sb, "ringlink_poller_busy_seconds_total", "counter",
                "Seconds the polling thread spent receiving and forwarding (not idle).");
        for (PollerStats p : ps)
                sb.append("ringlink_poller_busy_seconds_total{poller=\"").append(esc(p.name())).append("\"} ")
                .append(String.format(Locale.ROOT, "%.6f", p.busyNanos() / 1e9)).append('\n');
        family(sb, "ringlink_poller_busy_ratio", "gauge",
                "Share of its life the polling thread was busy (rate() of busy_seconds gives it per interval).");
        for (PollerStats p : ps) sb.append("ringlink_poller_busy_ratio{poller=\"").append(esc(p.name())).append("\"} ")
                .append(String.format(Locale.ROOT, "%.6f", p.busyRatio(null))).append('\n');
        family(sb, "ringlink_poller_ports", "gauge", "Ports the polling thread receives from.");
        for (PollerStats p : ps) sb.append("ringlink_poller_ports{poller=\"").append(esc(p.name())).append("\"} ")
                .append(p.ports()).append('\n');
        return sb.toString();
    }

    /**
     * A per-port figure read after the snapshot: 0 if the port was removed in between (a scrape must not fail for it).
     */
    private static long orZero(java.util.function.LongSupplier f) {
        try {
            return f.getAsLong();
        } catch (IllegalArgumentException removed) {
            return 0;
        }
    }

    private String labels(Map.Entry<Integer, PortStats> e) {
        return "port=\"" + esc(e.getValue().name()) + "\",index=\"" + e.getKey() + "\",transport=\""
                + esc(view.transport(e.getValue().name())) + "\"";
    }

    private static void family(StringBuilder sb, String name, String type, String help) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder sb, String name, String labels, String more, long v) {
        sb.append(name).append('{').append(labels).append(more).append("} ").append(v).append('\n');
    }

    private void counter(StringBuilder sb, List<Map.Entry<Integer, PortStats>> ports, String name, String help,
                         java.util.function.ToLongFunction<PortStats> f) {
        family(sb, name, "counter", help);
        for (var e : ports) sample(sb, name, labels(e), "", f.applyAsLong(e.getValue()));
    }

    /** Label value escaping of the text format: backslash, double quote, newline. */
    static String esc(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    @Override
    public void close() {
        http.stop(0);
    }
}
