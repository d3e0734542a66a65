package ringlink.link;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;

/**
 * JFR: every registered link's counters, once a second while a recording has the event on
 * ({@code jfr print --events 'ringlink.*'} shows them). Costs nothing without a recording: the
 * JDK calls the periodic hook only for recordings that enable it.
 *
 * <p>Links opened through {@link Links#open} and every switch port are registered; an application
 * that opens a transport directly calls {@link #register}. Registration holds the link weakly, so
 * a link that is dropped without {@code close()} is not kept alive; a closed link gets one last
 * event and is then forgotten.
 */
@Name("ringlink.LinkCounters")
@Label("Link Counters")
@Category("Ringlink")
@Description("A link's counters, sampled periodically (default every second)")
@Period("1 s")
public final class LinkCountersEvent extends jdk.jfr.Event {
    /** The link's name ({@link Link#name()}). */
    @Label("Link") public String link;
    /** Whether the link was open when sampled; a closed link's last event has false. */
    @Label("Open") public boolean open;
    /** Packets received so far. */
    @Label("Received Packets") public long rxPackets;
    /** Bytes received so far. */
    @Label("Received Bytes") @DataAmount public long rxBytes;
    /** Packets transmitted so far. */
    @Label("Transmitted Packets") public long txPackets;
    /** Bytes transmitted so far. */
    @Label("Transmitted Bytes") @DataAmount public long txBytes;
    /** Packets dropped on receive so far. */
    @Label("Receive Drops") public long rxDrops;
    /** Packets dropped on transmit so far. */
    @Label("Transmit Drops") public long txDrops;
    /** Errors so far (bad input from the peer, failed calls). */
    @Label("Errors") public long errors;
    /** GSO superpackets received or transmitted whole so far. */
    @Label("Superpackets") public long superpackets;

    private static final Map<Link, Boolean> LINKS = Collections.synchronizedMap(new WeakHashMap<>());

    static {
        FlightRecorder.addPeriodicEvent(LinkCountersEvent.class, LinkCountersEvent::emit);
    }

    /** Samples {@code link}'s counters in every recording that enables {@code ringlink.LinkCounters}. */
    public static void register(Link link) {
        LINKS.put(link, Boolean.TRUE);
    }

    private static void emit() {
        List<Link> links;
        synchronized (LINKS) {
            links = new ArrayList<>(LINKS.keySet());
        }
        for (Link l : links) {
            LinkCountersEvent e = new LinkCountersEvent();
            LinkStats s = l.counters().snapshot();
            e.link = l.name();
            e.open = l.isOpen();
            e.rxPackets = s.rxPackets();
            e.rxBytes = s.rxBytes();
            e.txPackets = s.txPackets();
            e.txBytes = s.txBytes();
            e.rxDrops = s.rxDrops();
            e.txDrops = s.txDrops();
            e.errors = s.errors();
            e.superpackets = s.superpackets();
            e.commit();
            if (!e.open) LINKS.remove(l);
        }
    }
}
