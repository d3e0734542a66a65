package ringlink.cli;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import ringlink.cli.support.Json;
import ringlink.link.Link;
import ringlink.link.LinkDevice;
import ringlink.link.LinkStats;
import ringlink.link.Links;
import ringlink.sw.DropReason;
import ringlink.sw.MacTable;
import ringlink.sw.PollerStats;
import ringlink.sw.PortStats;
import ringlink.sw.PortVlan;
import ringlink.sw.Switch;
import ringlink.sw.SwitchStats;
import ringlink.tunnel.TunnelLink;

/**
 * The switch's control commands (served by {@link ControlServer}) and the views the metrics
 * endpoint shares with them, so {@code port/show} and {@code /metrics} count the same things.
 */
final class SwitchControl {
    private final Switch sw;
    /** Link name to the spec it was opened from (for port/show's transport). */
    private final Map<String, String> specs = new ConcurrentHashMap<>();

    SwitchControl(Switch sw) {
        this.sw = sw;
    }

    /** Remembers the spec a port was opened from. */
    void opened(String linkName, String spec) {
        specs.put(linkName, spec);
    }

    void register(ControlServer s) {
        s.register("fdb/show", "[--json]", 0, 1, a -> fdbShow(json(a)));
        s.register("fdb/flush", "", 0, 0, a -> {
            sw.flushAddresses();
            return "table successfully flushed\n";
        });
        s.register("port/add", "SPEC", 1, 1, a -> portAdd(a.getFirst()));
        s.register("port/del", "NAME|INDEX", 1, 1, a -> portDel(a.getFirst()));
        s.register("port/show", "[--json] [NAME|INDEX]", 0, 2, this::portShow);
        s.register("port/set", "NAME|INDEX key=value... (vlan=VID | trunk=LIST [native=VID], mac-limit=N)", 2, 5,
                this::portSet);
        s.register("stats/show", "[--json]", 0, 1, a -> statsShow(json(a)));
        s.register("tunnel/show", "[--json] [NAME|INDEX]", 0, 2, this::tunnelShow);
    }

    private static boolean json(List<String> a) throws ControlServer.CommandException {
        boolean j = false;
        for (String s : a) {
            if (s.equals("--json")) j = true;
            else throw new ControlServer.CommandException("unexpected argument '" + s + "' (only --json)");
        }
        return j;
    }

    private int port(String nameOrIndex) throws ControlServer.CommandException {
        int i = sw.indexOf(nameOrIndex);
        if (i >= 0) return i;
        for (var e : specs.entrySet()) { // the spec it was added with also names it
            if (e.getValue().equals(nameOrIndex) && (i = sw.indexOf(e.getKey())) >= 0) return i;
        }
        try {
            i = Integer.parseInt(nameOrIndex);
            if (sw.hasPort(i)) return i;
        } catch (NumberFormatException ignored) {
            // not an index either
        }
        throw new ControlServer.CommandException("no such port: " + nameOrIndex);
    }

    static String macText(long mac) {
        StringBuilder sb = new StringBuilder(17);
        for (int k = 5; k >= 0; k--) {
            sb.append(String.format(Locale.ROOT, "%02x", (mac >>> (8 * k)) & 0xff));
            if (k > 0) sb.append(':');
        }
        return sb.toString();
    }

    String fdbShow(boolean json) {
        List<MacTable.Entry> es = new ArrayList<>(sw.addresses());
        es.sort(Comparator.comparingInt(MacTable.Entry::port).thenComparingInt(MacTable.Entry::vid)
                .thenComparingLong(MacTable.Entry::mac));
        // tunnel ports: which remote endpoint each MAC lives behind (their own FDB, by port)
        Map<Integer, Map<Long, TunnelLink.RemoteEntry>> remotes = new LinkedHashMap<>();
        for (var t : tunnels(null).entrySet()) {
            Map<Long, TunnelLink.RemoteEntry> byMac = new LinkedHashMap<>();
            for (TunnelLink.RemoteEntry r : t.getValue().remoteEntries()) byMac.put(r.mac(), r);
            remotes.put(t.getKey(), byMac);
        }
        if (json) {
            List<Object> out = new ArrayList<>();
            for (MacTable.Entry e : es) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("port", e.port());
                m.put("name", sw.hasPort(e.port()) ? sw.port(e.port()).name() : null);
                m.put("vlan", e.vid());
                m.put("mac", macText(e.mac()));
                m.put("age", e.ageMs() / 1000);
                var t = remotes.get(e.port());
                if (t != null) {
                    TunnelLink.RemoteEntry r = t.get(e.mac());
                    m.put("remote", r == null ? null : remoteView(r));
                }
                out.add(m);
            }
            return Json.write(out) + "\n";
        }
        // The columns of OVS's fdb/show: " port  VLAN  MAC                Age"; a row on a tunnel
        // port adds the remote endpoint the MAC lives behind.
        StringBuilder sb = new StringBuilder(" port  VLAN  MAC                Age\n");
        for (MacTable.Entry e : es) {
            sb.append(String.format(Locale.ROOT, "%5d  %4d  %s  %3d", e.port(), e.vid(), macText(e.mac()),
                    e.ageMs() / 1000));
            var t = remotes.get(e.port());
            if (t != null) {
                TunnelLink.RemoteEntry r = t.get(e.mac());
                sb.append(r == null ? "  remote ? (not in the tunnel's FDB: flooded)" : "  remote " + remoteText(r));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** The tunnel ports ({@code vxlan:}, {@code geneve:}) by index, or only {@code which}'s. */
    private Map<Integer, TunnelLink> tunnels(Integer which) {
        Map<Integer, TunnelLink> out = new LinkedHashMap<>();
        for (int i = 0; i < sw.portCount(); i++) {
            if (!sw.hasPort(i) || (which != null && which != i)) continue;
            if (sw.port(i) instanceof TunnelLink t) out.put(i, t);
        }
        return out;
    }

    private static String addressText(java.net.InetSocketAddress a) {
        String h = a.getAddress().getHostAddress();
        return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    private static String remoteText(TunnelLink.RemoteEntry r) {
        return addressText(r.remote()) + (r.isStatic() ? " static" : " learned " + r.ageSeconds() + " s ago");
    }

    private static Map<String, Object> remoteView(TunnelLink.RemoteEntry r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mac", macText(r.mac()));
        m.put("address", r.remote().getAddress().getHostAddress());
        m.put("port", r.remote().getPort());
        m.put("static", r.isStatic());
        m.put("age", r.ageSeconds());
        return m;
    }

    /** {@code tunnel/show [--json] [PORT]}: each tunnel port's settings, flood list, remote FDB and counters. */
    private String tunnelShow(List<String> a) throws Exception {
        boolean json = false;
        String which = null;
        for (String s : a) {
            if (s.equals("--json")) json = true;
            else if (which == null) which = s;
            else throw new ControlServer.CommandException("unexpected argument '" + s + "'");
        }
        Integer only = which == null ? null : port(which);
        Map<Integer, TunnelLink> ts = tunnels(only);
        if (only != null && ts.isEmpty())
                throw new ControlServer.CommandException("port " + which + " is not a tunnel (vxlan:, geneve:) port");
        List<Map<String, Object>> views = new ArrayList<>();
        for (var e : ts.entrySet()) {
            TunnelLink t = e.getValue();
            TunnelLink.Options o = t.options();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("index", e.getKey());
            m.put("name", t.name());
            m.put("kind", o.kind().name().toLowerCase(Locale.ROOT));
            m.put("vni", o.vni());
            m.put("local", o.local().getHostAddress());
            m.put("local_port", o.localPort());
            m.put("dstport", o.dstPort());
            List<Integer> src = new ArrayList<>();
            for (int p : t.sourcePorts()) src.add(p);
            m.put("source_ports", src);
            m.put("mtu", t.mtu());
            m.put("learning", o.learning());
            m.put("ageing", o.ageingMillis() / 1000);
            List<Object> flood = new ArrayList<>();
            for (var r : t.floodList()) flood.add(addressText(r));
            m.put("flood", flood);
            m.put("peers", t.peers().size());
            List<Object> fdb = new ArrayList<>();
            for (TunnelLink.RemoteEntry r : t.remoteEntries()) fdb.add(remoteView(r));
            m.put("fdb", fdb);
            TunnelLink.Stats st = t.stats();
            Map<String, Object> c = new LinkedHashMap<>();
            for (var comp : TunnelLink.Stats.class.getRecordComponents())
                    c.put(snake(comp.getName()), comp.getAccessor().invoke(st));
            m.put("stats", c);
            views.add(m);
        }
        if (json) return Json.write(views) + "\n";
        StringBuilder sb = new StringBuilder();
        if (views.isEmpty()) sb.append("no tunnel ports\n");
        for (Map<String, Object> v : views) {
            sb.append(String.format(Locale.ROOT,
                    "port %s: %s (%s, vni %s) local %s:%s, remotes at port %s, source ports %s, mtu %s%n",
                    v.get("index"), v.get("name"), v.get("kind"), v.get("vni"), v.get("local"), v.get("local_port"),
                            v.get("dstport"),
                    v.get("source_ports"), v.get("mtu")));
            sb.append("  flood to: ").append(((List<?>) v.get("flood")).isEmpty() ? "(none)"
                    : String.join(", ", ((List<?>) v.get("flood")).stream().map(String::valueOf).toList()))
                    .append(String.format(Locale.ROOT, "; learning %s, ageing %s s, %s remote endpoints known%n",
                            Boolean.TRUE.equals(v.get("learning")) ? "on" : "off", v.get("ageing"), v.get("peers")));
            sb.append("  MAC                Remote                                         Type     Age\n");
            for (Object o : (List<?>) v.get("fdb")) {
                Map<?, ?> r = (Map<?, ?>) o;
                String addr = String.valueOf(r.get("address"));
                String remote = (addr.indexOf(':') >= 0 ? "[" + addr + "]" : addr) + ":" + r.get("port");
                sb.append(String.format(Locale.ROOT, "  %s  %-45s  %-7s  %3s%n", r.get("mac"), remote,
                        Boolean.TRUE.equals(r.get("static")) ? "static" : "learned",
                                Boolean.TRUE.equals(r.get("static")) ? "-" : r.get("age")));
            }
            StringBuilder cs = new StringBuilder();
            for (var ce : ((Map<?, ?>) v.get("stats")).entrySet())
                    cs.append(cs.isEmpty() ? "" : ", ").append(ce.getKey()).append(' ').append(ce.getValue());
            sb.append("  counters: ").append(cs).append('\n');
        }
        return sb.toString();
    }

    private static String snake(String camel) {
        StringBuilder sb = new StringBuilder();
        for (char ch : camel.toCharArray()) {
            if (Character.isUpperCase(ch)) sb.append('_').append(Character.toLowerCase(ch));
            else sb.append(ch);
        }
        return sb.toString();
    }

    private String portAdd(String text) throws Exception {
        PortSpecs.Port p = PortSpecs.parse(text);
        if (p.allowed() != null) {
            throw new ControlServer.CommandException(
                    "port.allow (port security) is set when the switch starts, not on a port added at run time");
        }
        // A device with all its queues, as on the command line: vhost-user queues=N, tap queues=N.
        LinkDevice d = Links.openDevice(p.spec());
        int idx = p.macLimit() != null ? sw.addPort(d, p.vlan(), p.macLimit()) : sw.addPort(d, p.vlan());
        Link l = sw.port(idx);
        String name = sw.device(idx).queueCount() == 1 ? l.name() : sw.device(idx).name();
        specs.put(name, text);
        int nq = sw.device(idx).queueCount();
        return "port " + idx + ": " + name + " added [mtu " + l.mtu() + ", offloads " + l.offloads()
                + (nq > 1 ? ", " + nq + " queues" : "") + "]\n";
    }

    private String portDel(String nameOrIndex) throws Exception {
        int i = port(nameOrIndex);
        String name = sw.port(i).name();
        sw.removePort(i);
        specs.remove(name);
        return "port " + i + ": " + name + " removed\n";
    }

    private String portSet(List<String> a) throws Exception {
        int i = port(a.getFirst());
        String vlan = null, trunk = null, nat = null;
        Integer limit = null;
        for (String kv : a.subList(1, a.size())) {
            int eq = kv.indexOf('=');
            if (eq <= 0) throw new ControlServer.CommandException("expected key=value, got '" + kv + "'");
            String k = kv.substring(0, eq), v = kv.substring(eq + 1);
            switch (k) {
                case "vlan" -> vlan = v;
                case "trunk" -> trunk = v;
                case "native" -> nat = v;
                case "mac-limit" -> {
                    try {
                        limit = Integer.parseInt(v.trim());
                    } catch (NumberFormatException e) {
                        throw new ControlServer.CommandException("mac-limit '" + v + "' is not a number");
                    }
                    if (limit < 1 || limit > (1 << 26))
                            throw new ControlServer.CommandException("mac-limit " + v + " not in [1, 67108864]");
                }
                default -> throw new ControlServer.CommandException("unknown key '" + k
                        + "' (known: vlan, trunk, native, mac-limit)");
            }
        }
        PortVlan v = PortVlan.parse(vlan, trunk, nat);
        if (v == null && limit == null) throw new ControlServer.CommandException("nothing to set");
        StringBuilder sb = new StringBuilder("port " + i + ": " + sw.port(i).name());
        // Checked before anything changes: a rejected VLAN leaves the MAC limit as it was too.
        if (v != null && !sw.isVlanAware())
                throw new ControlServer.CommandException("vlan: the switch is not VLAN-aware (--vlan-aware)");
        if (v != null) {
            sw.setPortVlan(i, v);
            sb.append(" vlan ").append(v);
        }
        if (limit != null) {
            sw.setMacLimit(i, limit);
            sb.append(" mac-limit ").append(limit);
        }
        return sb.append('\n').toString();
    }

    /** One port as the JSON and metrics views see it. */
    Map<String, Object> portView(int index, PortStats ps) {
        Link l = sw.port(index);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("index", index);
        m.put("name", ps.name());
        m.put("transport", transport(l.name()));
        m.put("spec", specs.get(l.name()));
        m.put("state", ps.up() ? "up" : "down");
        m.put("down_reason", sw.downReason(index));
        m.put("mtu", l.mtu());
        m.put("offloads", l.offloads().toString());
        PortVlan v = sw.isVlanAware() ? sw.portVlan(index) : null;
        m.put("vlan", v == null ? null : v.toString());
        m.put("link", counters(ps.link()));
        m.put("switch", counters(ps.forwarded()));
        m.put("superpackets_in", sw.superpacketsIn(index));
        m.put("superpackets_out", sw.superpacketsOut(index));
        m.put("segmented", ps.segmented());
        m.put("checksummed", ps.checksummed());
        m.put("tx_retried", sw.retried(index));
        m.put("mac_limit", sw.macLimit(index));
        m.put("macs", ps.macs());
        m.put("unlearned", ps.unlearned());
        m.put("queues", ps.queues().size());
        Map<String, Object> drops = new LinkedHashMap<>();
        for (DropReason r : DropReason.values())
                drops.put(r.name().toLowerCase(Locale.ROOT), ps.drops().getOrDefault(r, 0L));
        m.put("drops", drops);
        return m;
    }

    String transport(String linkName) {
        String spec = specs.get(linkName);
        String s = spec != null ? spec : linkName;
        int c = s.indexOf(':');
        return c > 0 ? s.substring(0, c) : "?";
    }

    private static Map<String, Object> counters(LinkStats s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rx_packets", s.rxPackets());
        m.put("rx_bytes", s.rxBytes());
        m.put("tx_packets", s.txPackets());
        m.put("tx_bytes", s.txBytes());
        m.put("rx_drops", s.rxDrops());
        m.put("tx_drops", s.txDrops());
        m.put("errors", s.errors());
        m.put("superpackets", s.superpackets());
        return m;
    }

    /** Every present port with its stats, by index (stats() leaves removed ports out, in order). */
    List<Map.Entry<Integer, PortStats>> ports(SwitchStats s) {
        List<Map.Entry<Integer, PortStats>> out = new ArrayList<>();
        for (PortStats ps : s.ports()) {
            int i = sw.indexOf(ps.name());
            if (i >= 0) out.add(Map.entry(i, ps));
        }
        return out;
    }

    private String portShow(List<String> a) throws Exception {
        boolean json = false;
        String which = null;
        for (String s : a) {
            if (s.equals("--json")) json = true;
            else if (which == null) which = s;
            else throw new ControlServer.CommandException("unexpected argument '" + s + "'");
        }
        Integer only = which == null ? null : port(which);
        List<Map<String, Object>> views = new ArrayList<>();
        for (var e : ports(sw.stats())) {
            if (only == null || only.equals(e.getKey())) views.add(portView(e.getKey(), e.getValue()));
        }
        if (json) return Json.write(views) + "\n";
        StringBuilder sb = new StringBuilder();
        for (Map<String, Object> v : views) {
            sb.append(String.format(Locale.ROOT, "port %s: %s (%s) %s%s%n", v.get("index"), v.get("name"),
                    v.get("transport"), v.get("state"),
                    v.get("down_reason") == null ? "" : " (" + v.get("down_reason") + ")"));
            sb.append(String.format(Locale.ROOT, "  mtu %s, offloads %s%s%n", v.get("mtu"), v.get("offloads"),
                    v.get("vlan") == null ? "" : ", vlan " + v.get("vlan")));
            for (String side : List.of("link", "switch")) {
                @SuppressWarnings("unchecked") Map<String, Object> c = (Map<String, Object>) v.get(side);
                sb.append(String.format(Locale.ROOT, "  %-6s rx packets %d bytes %d drops %d, tx packets %d bytes %d "
                        + "drops %d, errors %d, superpackets %d%n",
                        side + ":", c.get("rx_packets"), c.get("rx_bytes"), c.get("rx_drops"), c.get("tx_packets"),
                                c.get("tx_bytes"),
                        c.get("tx_drops"), c.get("errors"), c.get("superpackets")));
            }
            sb.append(String.format(Locale.ROOT,
                    "  superpackets: in %s, out whole %s; software offload: segmented %s, checksums finished %s;"
                    + " sent on a retry after a full queue %s%n",
                    v.get("superpackets_in"), v.get("superpackets_out"), v.get("segmented"), v.get("checksummed"),
                            v.get("tx_retried")));
            sb.append(String.format(Locale.ROOT, "  addresses %s of mac-limit %s, not learned at the limit %s%s%n",
                    v.get("macs"), v.get("mac_limit"), v.get("unlearned"),
                            (Integer) v.get("queues") > 1 ? ", queues " + v.get("queues") : ""));
            @SuppressWarnings("unchecked") Map<String, Object> d = (Map<String, Object>) v.get("drops");
            StringBuilder ds = new StringBuilder();
            for (var e : d.entrySet())
                    ds.append(ds.isEmpty() ? "" : ", ").append(e.getKey()).append(' ').append(e.getValue());
            sb.append("  drops by reason: ").append(ds).append('\n');
        }
        return sb.toString();
    }

    private String statsShow(boolean json) {
        SwitchStats s = sw.stats();
        long rxP = 0, rxB = 0, txP = 0, txB = 0, drops = 0;
        int up = 0;
        for (PortStats p : s.ports()) {
            rxP += p.link().rxPackets();
            rxB += p.link().rxBytes();
            txP += p.link().txPackets();
            txB += p.link().txBytes();
            drops += p.totalDrops();
            if (p.up()) up++;
        }
        List<Map<String, Object>> pollers = new ArrayList<>();
        for (PollerStats p : sw.pollerStats()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", p.name());
            m.put("ports", p.ports());
            m.put("alive", p.alive());
            m.put("busy_seconds", p.busyNanos() / 1e9);
            m.put("busy_ratio", p.busyRatio(null));
            pollers.add(m);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ports", s.ports().size());
        m.put("ports_up", up);
        m.put("macs", s.macs());
        m.put("vlan_aware", sw.isVlanAware());
        m.put("rx_packets", rxP);
        m.put("rx_bytes", rxB);
        m.put("tx_packets", txP);
        m.put("tx_bytes", txB);
        m.put("drops", drops);
        m.put("pollers", pollers);
        if (json) return Json.write(m) + "\n";
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "ports: %d (%d up), addresses learned: %d%s%n", s.ports().size(), up,
                s.macs(),
                sw.isVlanAware() ? ", VLAN-aware" : ""));
        sb.append(String.format(Locale.ROOT, "rx: %d packets, %d bytes; tx: %d packets, %d bytes; drops: %d%n", rxP,
                rxB, txP, txB, drops));
        for (Map<String, Object> p : pollers) {
            sb.append(String.format(Locale.ROOT, "%s: %s ports, busy %.1f%% since start%s%n", p.get("name"),
                    p.get("ports"),
                    100 * (double) p.get("busy_ratio"), Boolean.TRUE.equals(p.get("alive")) ? "" : " (stopped)"));
        }
        return sb.toString();
    }
}
