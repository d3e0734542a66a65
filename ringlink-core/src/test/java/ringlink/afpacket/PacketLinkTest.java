package ringlink.afpacket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;
import ringlink.sw.Switch;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.testing.Env;

/**
 * AF_PACKET links against the real kernel: a veth pair rlapk0 (here) / rlapk1 (in namespace
 * rlapk-a), a Python AF_PACKET socket as the kernel-side peer for exact counts both ways, and
 * ping plus iperf3 through a switch between the veth and a TAP in namespace rlapk-b.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class PacketLinkTest {
    static final String NS = "rlapk-a", NS_B = "rlapk-b";
    static final String HOST = "rlapk0", PEER = "rlapk1", TAP = "rlapkt0";
    static final int ETHERTYPE = 0x88B5;
    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static boolean ready;

    @BeforeAll
    static void setUp() {
        if (!Env.isRoot() || Env.which("ip") == null) return;
        cleanUp();
        sh("ip netns add " + NS);
        sh("ip link add " + HOST + " type veth peer name " + PEER);
        sh("ip link set " + PEER + " netns " + NS);
        // No IPv6 (no router/neighbour solicitations to disturb exact counts); no offloads: without
        // PACKET_VNET_HDR the link carries neither superpackets nor "checksum still to do" packets.
        sh("sysctl -qw net.ipv6.conf." + HOST + ".disable_ipv6=1");
        in(NS, "sysctl -qw net.ipv6.conf." + PEER + ".disable_ipv6=1; ip link set lo up; ip link set " + PEER + " up");
        sh("ip link set " + HOST + " up");
        Env.runQuiet(10, "ethtool", "-K", HOST, "gro", "off", "tso", "off", "gso", "off", "tx", "off");
        Env.runQuiet(10, "ip", "netns", "exec", NS, "ethtool", "-K", PEER, "gro", "off", "tso", "off", "gso", "off",
                "tx", "off");
        ready = true;
    }

    @AfterAll
    static void cleanUp() {
        if (Files.exists(Path.of("/sys/class/net", HOST))) Env.runQuiet(10, "ip", "link", "del", HOST);
        Env.runQuiet(10, "ip", "netns", "del", NS);
        Env.runQuiet(10, "ip", "netns", "del", NS_B);
    }

    static String sh(String cmd) {
        return Env.run(60, "sh", "-c", cmd);
    }

    static String in(String ns, String cmd) {
        return Env.run(60, "ip", "netns", "exec", ns, "sh", "-c", cmd);
    }

    static void requireFixture() {
        Env.requireNetns();
        Env.requireProgram("python3", "python3");
        Env.require(ready, "the veth/netns fixture (" + HOST + " <-> " + NS + "/" + PEER + ")");
    }

    static Path rawPeer() {
        return Env.requireFile(Env.projectDir().resolve("src/test/python/afpacket/rawpeer.py"), "the raw socket peer");
    }

    static String mac(String ns, String dev) {
        String cmd = "cat /sys/class/net/" + dev + "/address";
        return (ns == null ? sh(cmd) : in(ns, cmd)).trim();
    }

    /** Appends a test frame: dst, src, EtherType 0x88B5, "RLAPK", sequence number, padded to 60 bytes. */
    static void addFrame(PacketBatch b, byte[] dst, byte[] src, int seq) {
        int i = b.add();
        long o = b.dataOffset(i);
        var m = b.memory();
        m.asSlice(o, 60).fill((byte) 0);
        java.lang.foreign.MemorySegment.copy(dst, 0, m, ValueLayout.JAVA_BYTE, o, 6);
        java.lang.foreign.MemorySegment.copy(src, 0, m, ValueLayout.JAVA_BYTE, o + 6, 6);
        m.set(BE16, o + 12, (short) ETHERTYPE);
        java.lang.foreign.MemorySegment.copy("RLAPK".getBytes(), 0, m, ValueLayout.JAVA_BYTE, o + 14, 5);
        m.set(BE32, o + 19, seq);
        b.setLength(i, 60);
    }

    static byte[] macBytes(String mac) {
        String[] p = mac.split(":");
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) b[i] = (byte) Integer.parseInt(p[i], 16);
        return b;
    }

    static boolean isTestFrame(PacketBatch b, int i) {
        return b.length(i) >= 23 && Short.toUnsignedInt(b.memory().get(BE16, b.dataOffset(i) + 12)) == ETHERTYPE;
    }

    static PacketConfig config(boolean vnet) {
        // A block is handed over after at most 50 ms and 64 of them hold every test frame even if
        // this (loaded) machine does not schedule the receiver for a while: counts stay exact.
        return PacketConfig.parse(
                ringlink.link.LinkSpec.parse("packet:" + HOST + "?vnethdr=" + vnet + "&blocks=64&timeout=50"));
    }

    @ParameterizedTest(name = "vnethdr={0}")
    @ValueSource(booleans = {true, false})
    void transmittedFramesReachTheKernelExactlyOnceAndInOrder(boolean vnet) throws Exception {
        requireFixture();
        int n = 5000;
        Process peer = new ProcessBuilder("ip", "netns", "exec", NS, "python3", rawPeer().toString(), "recv", PEER,
                Integer.toString(n), "30").redirectErrorStream(true).start();
        try (PacketLink link = PacketLink.open(config(vnet)); PacketBatch b = new PacketBatch(64, 2048)) {
            BufferedReader out = new BufferedReader(new InputStreamReader(peer.getInputStream()));
            assertEquals("ready", out.readLine());
            byte[] dst = macBytes(mac(NS, PEER)), src = macBytes(mac(null, HOST));
            long rxBefore = Long.parseLong(in(NS, "cat /sys/class/net/" + PEER + "/statistics/rx_packets").trim());
            int seq = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (seq < n) {
                b.clear();
                int k = Math.min(64, n - seq);
                for (int j = 0; j < k; j++) addFrame(b, dst, src, seq + j);
                int from = 0;
                while (from < k) {
                    from += link.transmit(b, from, k);
                    if (from < k) {
                        assertTrue(System.nanoTime() < deadline, "transmit ring stuck");
                        Thread.sleep(1);
                    }
                }
                seq += k;
            }
            assertTrue(link.drainTx(10_000), "transmit ring did not drain");
            String result = out.readLine();
            assertTrue(peer.waitFor(30, TimeUnit.SECONDS));
            assertEquals("count=" + n + " seqs_ok=True", result);
            long rxAfter = Long.parseLong(in(NS, "cat /sys/class/net/" + PEER + "/statistics/rx_packets").trim());
            assertEquals(n, rxAfter - rxBefore, "veth peer rx_packets");
            var s = link.counters().snapshot();
            assertEquals(n, s.txPackets());
            assertEquals(0, s.txDrops());
            // PACKET_IGNORE_OUTGOING: our own transmits never come back to our receive ring.
            Thread.sleep(50);
            b.clear();
            int own = 0;
            while (link.receive(b) > 0) {
                for (int i = 0; i < b.count(); i++) if (isTestFrame(b, i)) own++;
                b.clear();
            }
            assertEquals(0, own, "own transmits received back");
        } finally {
            peer.destroyForcibly();
        }
    }

    @ParameterizedTest(name = "vnethdr={0}")
    @ValueSource(booleans = {true, false})
    void framesFromTheKernelArriveExactlyOnceAndInOrder(boolean vnet) throws Exception {
        requireFixture();
        int n = 5000;
        try (PacketLink link = PacketLink.open(config(vnet)); PacketBatch b = new PacketBatch(64, 2048);
             PollSet ps = new PollSet(1)) {
            ps.add(link.readyFd(), PollfdLayout.POLLIN);
            String res = in(NS, "python3 " + rawPeer() + " send " + PEER + " " + mac(null, HOST) + " " + n);
            assertTrue(res.contains("sent=" + n), res);
            int got = 0, expect = 0;
            boolean inOrder = true;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (got < n && System.nanoTime() < deadline) {
                b.clear();
                if (link.receive(b) == 0) {
                    if (link.prepareToWait()) {
                        ps.poll(100);
                        link.finishWait();
                    }
                    continue;
                }
                for (int i = 0; i < b.count(); i++) {
                    if (!isTestFrame(b, i)) continue;
                    int seq = b.memory().get(BE32, b.dataOffset(i) + 19);
                    inOrder &= seq == expect;
                    expect = seq + 1;
                    got++;
                }
            }
            assertEquals(n, got, "frames received; kernel statistics " + link.statistics() + ", host rx_dropped "
                    + sh("cat /sys/class/net/" + HOST + "/statistics/rx_dropped").trim());
            assertTrue(inOrder, "frames out of order");
            PacketLink.Statistics st = link.statistics();
            assertEquals(0, st.drops(), "kernel drops (ring full): " + st);
            assertTrue(st.packets() >= n, "kernel saw " + st);
            assertEquals(0, link.counters().snapshot().errors());
        }
    }

    /**
     * Two links in one PACKET_FANOUT group on the same interface (two "queues"): every frame the
     * peer sends is received by exactly one of them, none twice, none lost.
     */
    @Test
    void aFanoutGroupDeliversEachFrameToExactlyOneLink() throws Exception {
        requireFixture();
        int n = 3000;
        String spec = "packet:" + HOST + "?fanout=4711&blocks=64&timeout=50";
        try (PacketLink l1 = PacketLink.open(PacketConfig.parse(ringlink.link.LinkSpec.parse(spec)));
             PacketLink l2 = PacketLink.open(PacketConfig.parse(ringlink.link.LinkSpec.parse(spec)));
             PacketBatch b = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER)) {
            String res = in(NS, "python3 " + rawPeer() + " send " + PEER + " " + mac(null, HOST) + " " + n);
            assertTrue(res.contains("sent=" + n), res);
            java.util.BitSet seen = new java.util.BitSet(n);
            int got = 0, dup = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (got < n && System.nanoTime() < deadline) {
                int moved = 0;
                for (PacketLink l : new PacketLink[] {l1, l2}) {
                    b.clear();
                    moved += l.receive(b);
                    for (int i = 0; i < b.count(); i++) {
                        if (!isTestFrame(b, i)) continue;
                        int seq = b.memory().get(BE32, b.dataOffset(i) + 19);
                        if (seen.get(seq)) dup++;
                        seen.set(seq);
                        got++;
                    }
                }
                if (moved == 0) Thread.sleep(1);
            }
            assertEquals(0, dup, "frames received twice");
            assertEquals(n, got, "frames received by the group (link 1 " + l1.counters().snapshot().rxPackets()
                    + ", link 2 " + l2.counters().snapshot().rxPackets() + ")");
            assertEquals(n, seen.cardinality());
        }
        assertThrows(IllegalArgumentException.class, () -> Links.open("packet:" + HOST + "?fanout=70000"));
    }

    /** Waits (bounded) until the kernel has handed over a block holding one frame from the peer. */
    static void blockWithOneFrame(PacketLink link) throws Exception {
        String res = in(NS, "python3 " + rawPeer() + " send " + PEER + " " + mac(null, HOST) + " 1");
        assertTrue(res.contains("sent=1"), res);
        try (PollSet ps = new PollSet(1)) {
            ps.add(link.readyFd(), PollfdLayout.POLLIN);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline) {
                long b = link.currentBlockOffset();
                if ((link.ringMemory()
                        .get(ValueLayout.JAVA_INT, b + ringlink.sys.TpacketBlockDescLayout.OFF_BLOCK_STATUS)
                        & ringlink.sys.PacketSockets.TP_STATUS_USER) != 0) {
                    return;
                }
                ps.poll(50);
            }
        }
        throw new AssertionError("no block handed over");
    }

    /**
     * Plays a kernel that lies in a block it handed over (the ring is mapped writable): each lie
     * stops the link with LinkFailedException before anything outside the block is read, and the
     * link stays stopped.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"num_pkts", "offset_to_first_pkt", "tp_mac", "tp_snaplen", "tp_next_offset"})
    void aLyingBlockStopsTheLink(String field) throws Exception {
        requireFixture();
        try (PacketLink link = PacketLink.open(PacketConfig.parse(ringlink.link.LinkSpec.parse(
                "packet:" + HOST + "?block-size=131072&blocks=4&timeout=1")));
             PacketBatch b = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER)) {
            blockWithOneFrame(link);
            var m = link.ringMemory();
            long blk = link.currentBlockOffset();
            int first = m.get(ValueLayout.JAVA_INT, blk + ringlink.sys.TpacketBlockDescLayout.OFF_OFFSET_TO_FIRST_PKT);
            long h = blk + first;
            switch (field) {
                case "num_pkts" ->
                        m.set(ValueLayout.JAVA_INT, blk + ringlink.sys.TpacketBlockDescLayout.OFF_NUM_PKTS, 1 << 20);
                case "offset_to_first_pkt" -> m.set(ValueLayout.JAVA_INT,
                        blk + ringlink.sys.TpacketBlockDescLayout.OFF_OFFSET_TO_FIRST_PKT, 131072 - 8);
                case "tp_mac" ->
                        m.set(ValueLayout.JAVA_SHORT, h + ringlink.sys.Tpacket3HdrLayout.OFF_TP_MAC, (short) 4);
                case "tp_snaplen" ->
                        m.set(ValueLayout.JAVA_INT, h + ringlink.sys.Tpacket3HdrLayout.OFF_TP_SNAPLEN, 131072);
                case "tp_next_offset" -> {
                    m.set(ValueLayout.JAVA_INT, blk + ringlink.sys.TpacketBlockDescLayout.OFF_NUM_PKTS, 2);
                    m.set(ValueLayout.JAVA_INT, h + ringlink.sys.Tpacket3HdrLayout.OFF_TP_NEXT_OFFSET, 131072);
                }
                default -> throw new AssertionError(field);
            }
            var e = assertThrows(ringlink.link.LinkFailedException.class, () -> link.receive(b));
            assertTrue(e.getMessage().contains("corrupt receive ring"), e.getMessage());
            assertEquals(0, b.count());
            assertThrows(ringlink.link.LinkFailedException.class, () -> link.receive(b));
            assertTrue(!link.isOpen());
        }
    }

    @Test
    void closeWakesASleeperAndLaterCallsThrow() throws Exception {
        requireFixture();
        PacketLink link = PacketLink.open(PacketConfig.of(HOST));
        Thread t = Thread.ofPlatform().start(() -> {
            try (PollSet ps = new PollSet(1)) {
                ps.add(link.readyFd(), PollfdLayout.POLLIN);
                if (link.prepareToWait()) {
                    ps.poll(30_000);
                    link.finishWait();
                }
            } catch (Exception ignored) {
                // closed under us
            }
        });
        Thread.sleep(200);
        link.close();
        t.join(5_000);
        assertTrue(!t.isAlive(), "sleeper not woken by close");
        try (PacketBatch b = new PacketBatch(4, 2048)) {
            assertThrows(LinkClosedException.class, () -> link.receive(b));
        }
    }

    @Test
    void badSpecsAndMissingInterfacesFailClearly() {
        assertThrows(IllegalArgumentException.class, () -> Links.open("packet:" + HOST + "?blocks=1"));
        assertThrows(IllegalArgumentException.class, () -> Links.open("packet:" + HOST + "?block-size=5000"));
        assertThrows(IllegalArgumentException.class, () -> Links.open("packet:" + HOST + "?bogus=1"));
        assertThrows(IllegalArgumentException.class, () -> Links.open("packet:"));
        if (Env.isRoot()) assertThrows(PacketException.class, () -> Links.open("packet:rlapk-none"));
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void switchBetweenVethAndTapCarriesPingAndIperf3WithSuperpackets() throws Exception {
        requireFixture();
        Env.requireTun();
        Env.requireProgram("iperf3", "iperf3");
        in(NS, "ip addr add 10.79.0.1/24 dev " + PEER);
        // Offloads on for this test: TCP superpackets and partial checksums cross the veth, and
        // PACKET_VNET_HDR carries them to and from the switch.
        Env.runQuiet(10, "ip", "netns", "exec", NS, "ethtool", "-K", PEER, "tso", "on", "gso", "on", "tx", "on");
        Env.run(10, "ip", "netns", "add", NS_B);
        try (Link veth = Links.open("packet:" + HOST); Link tap = Links.open("tap:" + TAP)) {
            sh("ip link set " + TAP + " netns " + NS_B);
            in(NS_B, "sysctl -qw net.ipv6.conf." + TAP
                    + ".disable_ipv6=1; ip link set lo up; ip addr add 10.79.0.2/24 dev "
                    + TAP + "; ip link set " + TAP + " up");
            try (Switch sw = Switch.builder().port(veth).port(tap).build()) {
                sw.start();
                String ping = in(NS_B, "timeout 20 ping -c 3 -i 0.2 -W 2 10.79.0.1");
                assertTrue(ping.contains("3 received"), ping);
                in(NS, "iperf3 -s -1 -D -B 10.79.0.1 -I /tmp/rlapk-iperf3.pid >/dev/null 2>&1 </dev/null");
                Thread.sleep(300);
                String out = in(NS_B, "timeout 30 iperf3 -c 10.79.0.1 -t 3 -f m --connect-timeout 3000");
                assertTrue(out.contains("receiver"), out);
                System.out.println("[packet switch] iperf3:\n"
                        + out.lines().filter(s -> s.contains("sender") || s.contains("receiver"))
                        .reduce("", (x, y) -> x + y + "\n"));
                String rev = in(NS_B,
                        "iperf3 -s -1 -D -B 10.79.0.2 -I /tmp/rlapk-iperf3b.pid >/dev/null 2>&1 </dev/null; sleep 0.3; "
                        + "ip netns exec " + NS + " timeout 30 iperf3 -c 10.79.0.2 -t 3 -f m --connect-timeout 3000");
                assertTrue(rev.contains("receiver"), rev);
                System.out.println("[packet switch, veth side sending] iperf3:\n" + rev.lines()
                        .filter(x -> x.contains("sender") || x.contains("receiver"))
                                .reduce("", (x, y) -> x + y + "\n"));
                var s = veth.counters().snapshot();
                assertTrue(s.rxPackets() > 1000 && s.txPackets() > 1000, "veth port counters " + s);
                assertTrue(s.superpackets() > 0, "no superpackets crossed the AF_PACKET port: " + s);
                assertEquals(0, s.errors(),
                        "errors on the AF_PACKET port: " + s + " last: " + ((PacketLink) veth).lastError());
            }
        } finally {
            Env.runQuiet(10, "sh", "-c", "for f in /tmp/rlapk-iperf3.pid /tmp/rlapk-iperf3b.pid; do test -f $f && kill "
                    + "$(cat $f); rm -f $f; done");
            Env.runQuiet(10, "ip", "netns", "exec", NS, "ethtool", "-K", PEER, "tso", "off", "gso", "off", "tx", "off");
            Env.runQuiet(10, "ip", "netns", "exec", NS, "ip", "addr", "flush", "dev", PEER);
            Env.runQuiet(10, "ip", "netns", "del", NS_B);
        }
    }
}
