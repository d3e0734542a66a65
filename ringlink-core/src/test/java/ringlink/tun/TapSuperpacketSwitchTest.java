package ringlink.tun;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkCounters;
import ringlink.link.Links;
import ringlink.link.Offloads;
import ringlink.packet.PacketBatch;
import ringlink.sw.DropReason;
import ringlink.sw.PortStats;
import ringlink.sw.Switch;
import ringlink.sys.Fd;
import ringlink.testing.Env;

/**
 * Issue #22's first row against the kernel: TCP from a TAP with TSO through the switch to a TAP
 * that negotiated no offloads at all. A TAP queue with the virtio-net header takes a superpacket
 * on write whatever TUNSETOFFLOAD said (that governs what the kernel hands us), so the switch
 * hands the superpackets over whole (counted as superpackets out, nothing segmented in Java) and
 * the kernel behind the TAP takes them as GSO skbs. IPv4 and IPv6 (8 streams, the case);
 * then the same with the TAP behind a wrapper that admits only its negotiated offloads on transmit
 * (the behaviour before: the switch segments in Java, one writev per segment), for comparison in
 * the same run.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TapSuperpacketSwitchTest {
    static final String NS_A = "rlgs-nsa", NS_B = "rlgs-nsb";
    static final String IF_A = "rlgs-a0", IF_B = "rlgs-b0";

    @Test
    void superpacketsGoWholeToATapWithoutOffloads() throws Exception {
        Env.requireTun();
        Env.requireNetns();
        Env.requireProgram("iperf3", "iperf3");
        Env.requireProgram("ping", "iputils-ping");
        try (Netns a = Netns.create(NS_A); Netns b = Netns.create(NS_B)) {
            Run whole = run(a, b, false);
            System.out.printf(
                    "TAP(tso) -> switch -> TAP(no offloads), superpackets whole: v4 %.2f Gbit/s (%d superpackets out),"
                    + " v6 -P 8 %.2f Gbit/s (%d out); segmented in Java %d, OFFLOAD drops %d%n",
                    whole.v4.gbps(), whole.out4, whole.v6.gbps(), whole.out6, whole.b.segmented(),
                            offloadDrops(whole.b));
            assertTrue(whole.out4 > 0, "IPv4 superpackets handed to B whole: " + whole.b);
            assertTrue(whole.out6 > 0, "IPv6 superpackets handed to B whole: " + whole.b);
            assertEquals(0, whole.b.segmented(), "nothing segmented in Java for a TAP: " + whole.b);
            assertEquals(0L, offloadDrops(whole.b), "no offload drops: " + whole.b);
            assertTrue(whole.b.link().superpackets() >= whole.out4 + whole.out6,
                    "the TAP wrote them as superpackets: " + whole.b.link());

            // The behaviour before, in the same run: B admits on transmit only what it negotiated
            // (nothing), so the switch segments in Java and the TAP writes segment by segment.
            Run seg = run(a, b, true);
            System.out.printf(
                    "the same, segmented in Java (one writev per segment): v4 %.2f Gbit/s, v6 -P 8 %.2f Gbit/s,"
                    + " %d superpackets segmented; whole/segmented v4 %.2f, v6 %.2f%n", seg.v4.gbps(), seg.v6.gbps(),
                    seg.b.segmented(), whole.v4.bitsPerSecond() / seg.v4.bitsPerSecond(),
                            whole.v6.bitsPerSecond() / seg.v6.bitsPerSecond());
            assertTrue(seg.b.segmented() > 0, "the narrowed port needs Java segmentation: " + seg.b);
            assertEquals(0, seg.out4 + seg.out6, "nothing whole to the narrowed port");
        }
    }

    record Run(Iperf.Result v4, Iperf.Result v6, long out4, long out6, PortStats b) {}

    private static long offloadDrops(PortStats p) {
        return p.drops().getOrDefault(DropReason.OFFLOAD, 0L);
    }

    /**
     * TAP A (csum,tso) and B (none) in the namespaces, one switch between them; iperf3 v4, then v6 with 8 streams, A to
     * B.
     */
    private static Run run(Netns a, Netns b, boolean narrow) throws Exception {
        Switch sw = null;
        Link la = null, lb = null;
        try {
            la = Links.open("tap:" + IF_A + "?offload=csum,tso&up=false");
            lb = Links.open("tap:" + IF_B + "?offload=none&up=false");
            assertEquals(Offloads.NONE, lb.offloads(), "B negotiated nothing");
            assertTrue(lb.transmitOffloads().has(Offloads.TSO4 | Offloads.TSO6 | Offloads.CSUM),
                    lb.transmitOffloads().toString());
            a.adopt(IF_A, "10.77.22.1/24", "fd77:22::1/64");
            b.adopt(IF_B, "10.77.22.2/24", "fd77:22::2/64");
            sw = Switch.builder().threads(1).port(la).port(narrow ? new NegotiatedOnly(lb) : lb).build();
            la = lb = null; // the switch owns them now
            sw.start();
            a.exec(20, "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.77.22.2");
            a.exec(20, "ping", "-c", "2", "-i", "0.2", "-W", "2", "fd77:22::2");
            Iperf.Result v4 = Iperf.run(a, b, "10.77.22.2", 3);
            long out4 = sw.superpacketsOut(1);
            Iperf.Result v6 = Iperf.run(a, b, "fd77:22::2", 3, "-P", "8");
            long out6 = sw.superpacketsOut(1) - out4;
            assertTrue(v4.bitsPerSecond() > 0 && v6.bitsPerSecond() > 0);
            return new Run(v4, v6, out4, out6, sw.stats().ports().get(1));
        } finally {
            if (sw != null) sw.close();
            if (la != null) la.close();
            if (lb != null) lb.close();
        }
    }

    /** A link whose transmit admits only its negotiated offloads (what every link did before transmitOffloads). */
    static final class NegotiatedOnly implements Link {
        final Link l;

        NegotiatedOnly(Link l) { this.l = l; }

        @Override public String name() { return l.name(); }
        @Override public Layer layer() { return l.layer(); }
        @Override public int mtu() { return l.mtu(); }
        @Override public Offloads offloads() { return l.offloads(); }
        @Override public Offloads transmitOffloads() { return l.offloads(); }
        @Override public int maxReceiveSize() { return l.maxReceiveSize(); }
        @Override public int receive(PacketBatch batch) throws IOException { return l.receive(batch); }
        @Override public int transmit(PacketBatch batch, int from, int to) throws IOException {
                return l.transmit(batch, from, to); }
        @Override public Fd readyFd() { return l.readyFd(); }
        @Override public boolean prepareToWait() throws IOException { return l.prepareToWait(); }
        @Override public void finishWait() throws IOException { l.finishWait(); }
        @Override public boolean awaitWritable(Duration timeout) throws IOException { return l.awaitWritable(timeout); }
        @Override public LinkCounters counters() { return l.counters(); }
        @Override public boolean isOpen() { return l.isOpen(); }
        @Override public boolean waitingForPeer() { return l.waitingForPeer(); }
        @Override public void close() { l.close(); }
    }
}
