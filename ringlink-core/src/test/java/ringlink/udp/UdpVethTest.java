package ringlink.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;
import ringlink.testing.Env;

/**
 * The udp link over a real device: a veth with MTU 1000 into a namespace where the Python peer
 * listens. A run of 1400-byte datagrams cannot be one UDP_SEGMENT message there (a segment larger
 * than the path MTU: the kernel says EMSGSIZE), so the link resends it one datagram at a time
 * (fragmented by the kernel) while the 900-byte run still leaves as one message; the peer (with
 * and without UDP_GRO) checks every datagram.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class UdpVethTest {
    static final String NS = "rluv", HOST_IF = "rluv0", NS_IF = "rluv1";

    @ParameterizedTest(name = "peer gro={0}")
    @ValueSource(booleans = {false, true})
    void runsLargerThanTheMtuFallBackToSingleDatagrams(boolean gro) throws Exception {
        Env.requireNetns();
        Env.runQuiet(10, "ip", "netns", "del", NS);
        Env.runQuiet(10, "ip", "link", "del", HOST_IF);
        try {
            Env.run(10, "ip", "netns", "add", NS);
            Env.run(10, "ip", "link", "add", HOST_IF, "mtu", "1000", "type", "veth", "peer", "name", NS_IF, "mtu",
                    "1000", "netns", NS);
            Env.run(10, "ip", "addr", "add", "10.82.0.1/24", "dev", HOST_IF);
            Env.run(10, "ip", "link", "set", HOST_IF, "up");
            Env.run(10, "ip", "-n", NS, "addr", "add", "10.82.0.2/24", "dev", NS_IF);
            Env.run(10, "ip", "-n", NS, "link", "set", NS_IF, "up");
            Env.run(10, "ip", "-n", NS, "link", "set", "lo", "up");
            int[] sizes = new int[40];
            for (int k = 0; k < sizes.length; k++) sizes[k] = k < 20 ? 1400 : 900;
            try (UdpPeer sink = UdpPeer.sinkIn(NS, "10.82.0.2", sizes.length, gro);
                 UdpLink l = (UdpLink) Links.open("udp:10.82.0.1:0?remote=10.82.0.2:" + sink.port);
                 PacketBatch b = UdpLinkTest.pattern(sizes, 0)) {
                UdpLinkTest.sendAll(l, b);
                String r = sink.result();
                assertTrue(r.startsWith("ok " + sizes.length), r);
                assertTrue(l.channel().gsoRefused() >= 1, "the 1400-byte run was refused whole");
                assertTrue(l.channel().gsoEnabled(), "EMSGSIZE turns GSO off for that run only");
                assertTrue(l.channel().txGsoMessages() >= 1, "the 900-byte run left as one message");
                assertEquals(sizes.length, l.channel().txDatagrams());
                if (gro) assertTrue(r.contains("900"), "the peer's GRO socket got the 900-byte run whole: " + r);
            }
        } finally {
            Env.runQuiet(10, "ip", "link", "del", HOST_IF);
            Env.runQuiet(10, "ip", "netns", "del", NS);
        }
    }
}
