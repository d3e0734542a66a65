package ringlink.sw;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import ringlink.link.LinkStats;

/**
 * Reads the switch's counters into the public snapshots ({@link SwitchStats}, {@link PortStats},
 * {@link QueueStats}, {@link PollerStats}) for tools and metrics. Off the data path: it allocates,
 * and reads the counters one after another while the pollers write them (not frozen together).
 */
final class StatsReader {
    private StatsReader() {}

    /** Every port of {@code ports} (null slots, i.e. removed ports, left out) and the table's size. */
    static SwitchStats stats(Port[] ports, MacTable table, int nowMs) {
        List<PortStats> out = new ArrayList<>(ports.length);
        for (Port p : ports) {
            if (p == null) continue;
            Map<DropReason, Long> drops = new EnumMap<>(DropReason.class);
            for (DropReason r : DropReason.values()) {
                long n = p.drops.get(r.ordinal());
                if (n != 0) drops.put(r, n);
            }
            LinkStats fwd = p.counters.snapshot();
            LinkStats link = p.link.counters().snapshot();
            List<QueueStats> queues = new ArrayList<>(p.queues.length);
            if (p.queues.length == 1) {
                queues.add(new QueueStats(0, p.device.transmitEnabled(0), link, fwd));
            } else {
                // The port's rx side is counted per queue (each queue has one receiving thread);
                // its tx side both per queue and for the port, under the port's lock.
                LinkStats rx = null;
                for (int q = 0; q < p.queues.length; q++) {
                    LinkStats ql = p.queues[q].counters().snapshot();
                    if (q > 0) link = link.plus(ql);
                    LinkStats qf = p.queueCounters[q].snapshot();
                    rx = rx == null ? qf : rx.plus(qf);
                    queues.add(new QueueStats(q, p.device.transmitEnabled(q), ql, qf));
                }
                fwd = new LinkStats(rx.rxPackets(), rx.rxBytes(), fwd.txPackets(), fwd.txBytes(),
                        rx.rxDrops(), fwd.txDrops(), fwd.errors(), fwd.superpackets());
            }
            out.add(new PortStats(p.name, p.up, link, fwd, drops, p.segmented, p.checksummed,
                    table.size(p.index, nowMs), p.unlearned.get(), p.up ? null : p.downReason, List.copyOf(queues)));
        }
        return new SwitchStats(System.nanoTime(), out, table.size(nowMs));
    }

    /** Each polling thread's busy time so far (idle time subtracted, a sleep in progress included). */
    static List<PollerStats> pollers(List<Poller> ps) {
        long now = System.nanoTime();
        List<PollerStats> out = new ArrayList<>(ps.size());
        for (Poller p : ps) {
            long start = p.startNanos;
            long wall = start == 0 ? 0 : now - start;
            long idleFrom = p.idleFrom, idle = p.idleNanos;
            if (idleFrom != 0 && idleFrom - start >= 0) idle += now - idleFrom; // idle right now, not yet added
            out.add(new PollerStats(p.thread.getName(), p.portCount, Math.max(0, Math.min(wall, wall - idle)), wall,
                    p.thread.isAlive()));
        }
        return out;
    }
}
