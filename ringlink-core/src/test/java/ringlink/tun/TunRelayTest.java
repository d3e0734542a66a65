package ringlink.tun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkStats;
import ringlink.link.Links;
import ringlink.link.Offloads;
import ringlink.testing.Env;

/**
 * Two network namespaces, a TUN (or TAP) in each whose other end is a {@link TunLink}, and a
 * Java relay between the two links: the kernel in one namespace talks to the kernel in the
 * other only through Ringlink. Ping (IPv4 and IPv6), then iperf3 TCP and UDP across it.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class TunRelayTest {
    static final String NS_A = "rltn-nsa", NS_B = "rltn-nsb";
    static final String IF_A = "rltn-a0", IF_B = "rltn-b0";

    Netns a, b;
    final List<Link> links = new ArrayList<>();
    final List<LinkRelay> relays = new ArrayList<>();

    @BeforeEach
    void requirements() {
        Env.requireTun();
        Env.requireNetns();
        Env.requireProgram("iperf3", "iperf3");
        Env.requireProgram("ping", "iputils-ping");
    }

    @AfterEach
    void cleanup() {
        for (LinkRelay r : relays) r.close();
        for (Link l : links) l.close();
        if (a != null) a.close();
        if (b != null) b.close();
    }

    /** Opens one queue per side, moves the interfaces into their namespaces, starts relays. */
    private Link[] bridge(String specA, String specB) throws Exception {
        a = Netns.create(NS_A);
        b = Netns.create(NS_B);
        Link la = Links.open(specA);
        links.add(la);
        Link lb = Links.open(specB);
        links.add(lb);
        a.adopt(IF_A, "10.77.0.1/24", "fd77::1/64");
        b.adopt(IF_B, "10.77.0.2/24", "fd77::2/64");
        relays.add(LinkRelay.start(la, lb));
        relays.add(LinkRelay.start(lb, la));
        return new Link[] {la, lb};
    }

    private void ping() {
        a.exec(20, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2");
        a.exec(20, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "fd77::2");
    }

    private void noRelayFailures() {
        for (LinkRelay r : relays) assertNull(r.failure(), () -> "relay failed: " + r.failure());
    }

    @Test
    void tunWithOffloadsCarriesSuperpackets() throws Exception {
        Link[] l = bridge("tun:" + IF_A + "?up=false", "tun:" + IF_B + "?up=false");
        assertEquals(Layer.L3, l[0].layer());
        assertTrue(l[0].offloads().has(Offloads.TSO4 | Offloads.TSO6 | Offloads.CSUM), l[0].offloads()::toString);
        ping();
        LinkStats before = l[0].counters().snapshot();
        Iperf.Result tcp = Iperf.run(a, b, "10.77.0.2", 3);
        LinkStats d = l[0].counters().snapshot().minus(before);
        System.out.printf("tun+offloads TCPv4 %.2f Gbit/s; A rx %d packets, %d superpackets, avg %d B%n",
                tcp.gbps(), d.rxPackets(), d.superpackets(), d.rxBytes() / Math.max(1, d.rxPackets()));
        assertTrue(d.superpackets() > 100, () -> "expected superpackets from the kernel, got " + d);
        assertTrue(d.rxBytes() / Math.max(1, d.rxPackets()) > 16_000,
                () -> "expected large (~64 KB) packets, got " + d);
        assertTrue(l[1].counters().snapshot().superpackets() > 100, "superpackets written whole to B");
        Iperf.Result tcp6 = Iperf.run(a, b, "fd77::2", 3);
        Iperf.Result udp = Iperf.run(a, b, "10.77.0.2", 3, "-u", "-b", "1G");
        System.out.printf("tun+offloads TCPv6 %.2f Gbit/s, UDPv4 %.2f Gbit/s%n", tcp6.gbps(), udp.gbps());
        assertTrue(tcp.bitsPerSecond() > 0 && tcp6.bitsPerSecond() > 0 && udp.bitsPerSecond() > 0);
        noRelayFailures();
        assertEquals(0, l[0].counters().snapshot().errors() + l[1].counters().snapshot().errors(), "no bad packets");
    }

    @Test
    void tunWithoutOffloads() throws Exception {
        Link[] l = bridge("tun:" + IF_A + "?up=false&offload=none", "tun:" + IF_B + "?up=false&offload=none");
        assertEquals(Offloads.NONE, l[0].offloads());
        ping();
        Iperf.Result tcp = Iperf.run(a, b, "10.77.0.2", 3);
        Iperf.Result udp6 = Iperf.run(a, b, "fd77::2", 3, "-u", "-b", "500M");
        System.out.printf("tun plain TCPv4 %.2f Gbit/s, UDPv6 %.2f Gbit/s%n", tcp.gbps(), udp6.gbps());
        assertEquals(0, l[0].counters().snapshot().superpackets());
        noRelayFailures();
    }

    @Test
    void tapWithOffloads() throws Exception {
        Link[] l = bridge("tap:" + IF_A + "?up=false", "tap:" + IF_B + "?up=false&vnethdr=12");
        assertEquals(Layer.L2, l[0].layer());
        ping();
        LinkStats before = l[0].counters().snapshot();
        Iperf.Result tcp = Iperf.run(a, b, "10.77.0.2", 3);
        LinkStats d = l[0].counters().snapshot().minus(before);
        Iperf.Result tcp6 = Iperf.run(a, b, "fd77::2", 3, "-R");
        Iperf.Result udp = Iperf.run(a, b, "10.77.0.2", 3, "-u", "-b", "1G");
        System.out.printf("tap+offloads TCPv4 %.2f, TCPv6 (reverse) %.2f, UDP %.2f Gbit/s; A rx %d superpackets%n",
                tcp.gbps(), tcp6.gbps(), udp.gbps(), d.superpackets());
        assertTrue(d.superpackets() > 100, () -> "expected superpackets from the kernel, got " + d);
        noRelayFailures();
    }

    /**
     * A sends plain MTU-sized segments (no offloads); B takes TSO, so B's transmit coalesces
     * them (GRO). The reverse direction has superpackets from B for A, which negotiated no
     * offloads: a TUN write takes them whole anyway ({@code Link.transmitOffloads}) and the
     * kernel behind A takes the GSO skbs, so the relay segments nothing.
     */
    @Test
    void groOnTransmitAndSegmentationForAPlainPeer() throws Exception {
        Link[] l = bridge("tun:" + IF_A + "?up=false&offload=none", "tun:" + IF_B + "?up=false");
        TunLink tb = (TunLink) l[1];
        assertTrue(tb.groEnabled(), "GRO probe at open should succeed on this kernel");
        ping();
        Iperf.Result tcp = Iperf.run(a, b, "10.77.0.2", 3);
        LinkStats sb = l[1].counters().snapshot();
        System.out.printf("plain -> tso TCPv4 %.2f Gbit/s; B tx %d packets, %d coalesced superpackets%n",
                tcp.gbps(), sb.txPackets(), sb.superpackets());
        assertTrue(sb.superpackets() > 0, () -> "expected coalesced writes on B, got " + sb);
        Iperf.Result udp = Iperf.run(a, b, "fd77::2", 3, "-u", "-b", "1G");
        LinkStats su = l[1].counters().snapshot().minus(sb);
        System.out.printf("plain -> uso UDPv6 %.2f Gbit/s; B tx %d packets, %d coalesced superpackets%n",
                udp.gbps(), su.txPackets(), su.superpackets());
        LinkStats sa = l[0].counters().snapshot();
        Iperf.Result rev = Iperf.run(a, b, "10.77.0.2", 3, "-R");
        long segmented = relays.get(1).segmented();
        LinkStats ra = l[0].counters().snapshot().minus(sa);
        System.out.printf("tso -> plain TCPv4 %.2f Gbit/s; relay segmented %d, A wrote %d superpackets whole%n",
                rev.gbps(), segmented, ra.superpackets());
        assertEquals(0, segmented, "a TUN takes superpackets on write: nothing segmented for A");
        assertTrue(ra.superpackets() > 0, () -> "superpackets from B written whole to A: " + ra);
        noRelayFailures();
    }

    /** Two queues per device, one relay thread per queue and direction. */
    @Test
    void multiQueueTwoQueuesTwoThreads() throws Exception {
        a = Netns.create(NS_A);
        b = Netns.create(NS_B);
        TunLink[] qa = new TunLink[2], qb = new TunLink[2];
        for (int q = 0; q < 2; q++) {
            qa[q] = TunLink.open(TunConfig.tun(IF_A).multiQueue(true).up(false));
            links.add(qa[q]);
            qb[q] = TunLink.open(TunConfig.tun(IF_B).multiQueue(true).up(false));
            links.add(qb[q]);
        }
        a.adopt(IF_A, "10.77.0.1/24", "fd77::1/64");
        b.adopt(IF_B, "10.77.0.2/24", "fd77::2/64");
        for (int q = 0; q < 2; q++) {
            relays.add(LinkRelay.start(qa[q], qb[q]));
            relays.add(LinkRelay.start(qb[q], qa[q]));
        }
        ping();
        Iperf.Result tcp = Iperf.run(a, b, "10.77.0.2", 3, "-P", "8");
        long rx0 = qa[0].counters().snapshot().rxPackets(), rx1 = qa[1].counters().snapshot().rxPackets();
        System.out.printf("multiqueue TCPv4 x8 %.2f Gbit/s; queue rx %d / %d%n", tcp.gbps(), rx0, rx1);
        assertTrue(rx0 > 0 && rx1 > 0, "both queues carried traffic");
        // a detached queue stops receiving; traffic continues on the other
        qa[1].detachQueue();
        a.exec(20, "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.77.0.2");
        qa[1].attachQueue();
        noRelayFailures();
    }
}
