package ringlink.packet;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import net.jqwik.api.*;
import net.jqwik.api.constraints.*;
import org.junit.jupiter.api.Test;

class HeadersTest {

    @Test
    void ethernetWithVlanAndArp() {
        byte[] f = TestPackets.bytes("ffffffffffff" + "020000000001" + "8100" + "002a" + "0806"
                + "0001080006040001" + "020000000001" + "0a000001" + "000000000000" + "0a000002");
        MemorySegment s = MemorySegment.ofArray(f);
        assertEquals(Ethernet.ETH_P_8021Q, Ethernet.etherType(s, 0));
        assertEquals(42, Ethernet.vlanId(s, 0, f.length));
        assertEquals(18, Ethernet.l3Offset(s, 0, f.length));
        assertEquals(Ethernet.ETH_P_ARP, Ethernet.l3EtherType(s, 0, f.length));
        assertTrue(Ethernet.isMulticast(s, 0));
        assertEquals(0x020000000001L, Ethernet.source(s, 0));
        assertTrue(Arp.isEthernetIpv4(s, 18, f.length - 18));
        assertEquals(Arp.ARPOP_REQUEST, Arp.operation(s, 18));
        assertEquals(0x0a000002, Arp.targetIp(s, 18));
        assertEquals(0x020000000001L, Arp.senderHardware(s, 18));
        PacketHeaders h = new PacketHeaders();
        assertFalse(h.parse(s, 0, f.length, Framing.ETHERNET));
        assertThrows(MalformedPacketException.class, () -> Ethernet.l3Offset(s, 0, 16));
    }

    @Test
    void ipv6ExtensionHeadersAreWalked() {
        TestPackets.Spec spec = new TestPackets.Spec();
        spec.ipVersion = 6;
        spec.ext6 = true;
        spec.proto = 17;
        spec.payload = new byte[10];
        byte[] p = TestPackets.build(spec, false);
        MemorySegment s = MemorySegment.ofArray(p);
        long found = Ipv6.findL4(s, 0, p.length);
        assertEquals(IpProtocol.IPPROTO_UDP, Ipv6.l4Protocol(found));
        assertEquals(56, Ipv6.l4Offset(found));
        PacketHeaders h = new PacketHeaders();
        assertTrue(h.parse(s, 0, p.length, Framing.IP));
        assertEquals(56, h.l4Offset);
        assertEquals(8, h.l4HeaderLength);
        assertEquals(10, h.payloadLength());
        assertEquals(0x12345, Ipv6.flowLabel(s, 0));
        // A fragment header with a non-zero offset: no upper-layer header follows.
        byte[] frag = TestPackets.bytes("60000000" + "0010" + "2c" + "40" + "00".repeat(32) + "11000009" + "00000001"
                + "00".repeat(8));
        long ff = Ipv6.findL4(MemorySegment.ofArray(frag), 0, frag.length);
        assertEquals(IpProtocol.IPPROTO_FRAGMENT, Ipv6.l4Protocol(ff));
        assertTrue(h.parse(MemorySegment.ofArray(frag), 0, frag.length, Framing.IP));
        assertTrue(h.fragment);
    }

    @Test
    void tcpAccessors() {
        byte[] syn = TestPackets.bytes(ChecksumTest.TCP_SYN_PARTIAL);
        MemorySegment s = MemorySegment.ofArray(syn);
        assertEquals(49288, Tcp.sourcePort(s, 20));
        assertEquals(9, Tcp.destPort(s, 20));
        assertEquals(Tcp.TH_SYN, Tcp.flags(s, 20));
        assertEquals(40, Tcp.headerLength(s, 20));
        assertEquals(0xffd7, Tcp.window(s, 20));
        PacketHeaders h = new PacketHeaders();
        assertTrue(h.parse(s, 0, syn.length, Framing.IP));
        assertEquals(IpProtocol.IPPROTO_TCP, h.l4Protocol);
        assertEquals(60, h.headersLength());
        assertEquals(0, h.payloadLength());
    }

    @Test
    void capturedIcmpv6EchoRequest() {
        // `ping -6 -c1 -s 16 ::1` captured on lo; tshark reports its checksum 0xcb6b as good.
        byte[] p = TestPackets.bytes("60090d8000183a40" + "00000000000000000000000000000001".repeat(2)
                + "8000cb6b2f7100011a5b026b000000005f07090000000000");
        MemorySegment s = MemorySegment.ofArray(p);
        PacketHeaders h = new PacketHeaders();
        assertTrue(h.parse(s, 0, p.length, Framing.IP));
        assertEquals(IpProtocol.IPPROTO_ICMPV6, h.l4Protocol);
        assertEquals(40, h.l4Offset);
        assertEquals(Icmpv6.ICMPV6_ECHO_REQUEST, Icmpv6.type(s, 40));
        assertEquals(0x2f71, Icmpv6.echoId(s, 40));
        assertEquals(64, Ipv6.hopLimit(s, 0));
        assertEquals(0x90d80, Ipv6.flowLabel(s, 0));
        assertTrue(Checksum.verify(s, 40, 24, Checksum.pseudoHeaderV6(s, 0, IpProtocol.IPPROTO_ICMPV6, 24)));
        Icmpv6.setChecksum(s, 40, 0);
        Icmpv6.updateChecksum(s, 0, 40, 24);
        assertEquals(0xcb6b, Icmpv6.checksum(s, 40));
    }

    @Property(tries = 300)
    void parseAgreesWithReference(@ForAll("specs") TestPackets.Spec spec) {
        byte[] p = TestPackets.build(spec, false);
        PacketHeaders h = new PacketHeaders();
        assertTrue(h.parse(MemorySegment.ofArray(p), 0, p.length, spec.framing));
        Slow.Parsed r = Slow.parse(p, spec.framing == Framing.ETHERNET);
        assertEquals(r.l3, h.l3Offset);
        assertEquals(r.l4, h.l4Offset);
        assertEquals(r.proto, h.l4Protocol);
        assertEquals(r.ipEnd, h.ipEnd);
        assertEquals(r.l4HeaderLen, h.l4HeaderLength);
        assertTrue(Slow.checksumsValid(p, spec.framing == Framing.ETHERNET));
    }

    @Property(tries = 1000)
    void damagedPacketsAreRejectedWithTheTypedException(@ForAll("specs") TestPackets.Spec spec,
            @ForAll @IntRange(max = 2000) int cut, @ForAll @IntRange(max = 100) int at, @ForAll byte value) {
        byte[] p = TestPackets.build(spec, false);
        int len = Math.min(p.length, cut);
        if (at < p.length) p[at] = value;
        PacketHeaders h = new PacketHeaders();
        // Put the packet at the end of a segment exactly its size: any read past it would fail loudly.
        MemorySegment s = MemorySegment.ofArray(java.util.Arrays.copyOf(p, len));
        try {
            if (h.parse(s, 0, len, spec.framing)) {
                assertTrue(h.ipEnd <= len && h.l4Offset <= h.ipEnd && h.headersLength() <= h.ipEnd);
            }
        } catch (MalformedPacketException expected) {
            assertNotNull(expected.getMessage());
        }
    }

    @Provide
    Arbitrary<TestPackets.Spec> specs() {
        return Generators.specs(Arbitraries.bytes().array(byte[].class).ofMaxSize(100));
    }
}
