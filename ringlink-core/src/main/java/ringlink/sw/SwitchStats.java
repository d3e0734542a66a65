package ringlink.sw;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The switch's counters at one instant; {@link #rates} turns two snapshots into per-port rates.
 *
 * @param nanos {@link System#nanoTime()} when taken
 * @param ports each port's counters, in port order
 * @param macs addresses currently in the forwarding table
 */
public record SwitchStats(long nanos, List<PortStats> ports, int macs) {
    /**
     * Rates of one port over an interval.
     *
     * @param name the port's name
     * @param up whether the port is forwarding now
     * @param rxPps packets per second received from the port's link
     * @param txPps packets per second transmitted to the port's link
     * @param rxGbps gigabits per second received
     * @param txGbps gigabits per second transmitted
     * @param drops packets the switch dropped on the port in the interval
     */
    public record Rate(String name, boolean up, double rxPps, double txPps, double rxGbps, double txGbps, long drops) {
        /** e.g. {@code tap:rl0 ▲1.20Mpps 9.41Gb/s ▼1.19Mpps 9.40Gb/s drop 0}. */
        public String format() {
            return String.format(Locale.ROOT, "%s%s rx %s %s tx %s %s drop %d", name, up ? "" : "(down)",
                    pps(rxPps), gbps(rxGbps), pps(txPps), gbps(txGbps), drops);
        }
    }

    /** Per-port rates between {@code earlier} and this snapshot (drops: in that interval). */
    public List<Rate> rates(SwitchStats earlier) {
        double secs = Math.max(1e-9, (nanos - earlier.nanos) / 1e9);
        List<Rate> out = new ArrayList<>(ports.size());
        for (int i = 0; i < ports.size(); i++) {
            PortStats now = ports.get(i);
            PortStats then = now; // matched by name: ports come and go at run time
            for (PortStats e : earlier.ports) {
                if (e.name().equals(now.name())) {
                    then = e;
                    break;
                }
            }
            var d = now.link().minus(then.link());
            out.add(new Rate(now.name(), now.up(), d.rxPackets() / secs, d.txPackets() / secs,
                    d.rxBytes() * 8 / secs / 1e9, d.txBytes() * 8 / secs / 1e9, now.totalDrops() - then.totalDrops()));
        }
        return out;
    }

    static String pps(double v) {
        if (v >= 1e6) return String.format(Locale.ROOT, "%.2fMpps", v / 1e6);
        if (v >= 1e3) return String.format(Locale.ROOT, "%.1fkpps", v / 1e3);
        return String.format(Locale.ROOT, "%.0fpps", v);
    }

    static String gbps(double v) {
        if (v >= 1) return String.format(Locale.ROOT, "%.2fGb/s", v);
        return String.format(Locale.ROOT, "%.1fMb/s", v * 1000);
    }
}
