package ringlink.xdp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.packet.PacketBatch;
import ringlink.sys.Net;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.testing.Env;

/**
 * Several queues of one interface served by several threads (one shared redirect program),
 * XDP_SHARED_UMEM, and an XSKMAP loaded and pinned by "someone else".
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class XdpMultiQueueTest {
    static final String NS = "rlxd-d", HOST = "rlxd6", PEER = "rlxd7", HOST_IP = "10.79.1.1", PEER_IP = "10.79.1.2";
    static final String PIN = "/sys/fs/bpf/rlxd-xsks";
    static boolean ready;

    @BeforeAll
    static void setUp() {
        if (!Env.isRoot() || Env.which("ip") == null || Env.which("ethtool") == null) return;
        cleanUp();
        Netns.veth(NS, HOST, PEER, HOST_IP, PEER_IP, 2);
        Netns.in(NS,
                "ip neigh replace " + HOST_IP + " lladdr " + Netns.mac(null, HOST) + " dev " + PEER + " nud permanent");
        ready = true;
    }

    @AfterAll
    static void cleanUp() {
        Netns.removeVeth(HOST);
        Netns.removeNs(NS);
        Netns.shQuiet("rm -f " + PIN);
    }

    static void requireFixture() {
        Env.requireNetns();
        Env.require(ready, "the 2-queue veth fixture (rlxd6 <-> rlxd-d/rlxd7; needs ip and ethtool)");
    }

    @Test
    void twoQueuesTwoThreadsOneProgram() throws Exception {
        requireFixture();
        int flows = 400;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong[] got = {new AtomicLong(), new AtomicLong()};
        XdpLink q0 =
                XdpLink.open(XdpConfig.of(HOST).withFrames(1024, 2048).withQueue(0).withAttach(XdpProgram.Attach.DRV));
        XdpLink q1 =
                XdpLink.open(XdpConfig.of(HOST).withFrames(1024, 2048).withQueue(1).withAttach(XdpProgram.Attach.DRV));
        Thread[] workers = new Thread[2];
        try {
            XdpLink[] links = {q0, q1};
            for (int k = 0; k < 2; k++) {
                XdpLink l = links[k];
                AtomicLong count = got[k];
                workers[k] = Thread.ofPlatform().name("rlxd-q" + k).start(() -> {
                    try (PacketBatch b = new PacketBatch(64, 2048)) {
                        while (!stop.get()) {
                            b.clear();
                            int n = l.receive(b);
                            for (int i = 0; i < n; i++) if (UdpFrames.udpDstPort(b, i) == 9998) count.incrementAndGet();
                            if (n == 0 && l.prepareToWait()) {
                                PollSet.pollOne(l.readyFd(), PollfdLayout.POLLIN, 20);
                                l.finishWait();
                            }
                        }
                    } catch (Exception e) {
                        if (!stop.get()) throw new RuntimeException(e);
                    }
                });
            }
            // A new UDP socket per datagram: a new source port, a new flow hash, a spread over both queues.
            Netns.in(NS,
                    "bash -c 'for i in $(seq 1 " + flows + "); do printf x > /dev/udp/" + HOST_IP + "/9998; done'");
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (got[0].get() + got[1].get() < flows && System.nanoTime() < deadline) Thread.sleep(20);
        } finally {
            stop.set(true);
            for (Thread t : workers) if (t != null) t.join(5_000);
            q0.close();
            assertTrue(Netns.xdpOf(HOST).contains("xdp"), "the program stays while queue 1 is open");
            q1.close();
        }
        assertEquals(flows, got[0].get() + got[1].get(), "queue 0 got " + got[0] + ", queue 1 got " + got[1]);
        assertTrue(got[0].get() > 0 && got[1].get() > 0, "both queues carried traffic: " + got[0] + " / " + got[1]);
        assertEquals("", Netns.xdpOf(HOST), "the last link detached the program");
    }

    @Test
    void socketsShareOneUmemAcrossQueues() throws Exception {
        requireFixture();
        int ifindex = Net.ifNameToIndex(HOST);
        try (Umem umem = Umem.create(1024, 2048, 0, false);
             XskSocket s0 = XskSocket.open(umem, null, ifindex, HOST, 0, XskSocket.Mode.COPY, 256, true);
             XskSocket s1 = XskSocket.open(umem, s0, ifindex, HOST, 1, XskSocket.Mode.COPY, 256, true)) {
            assertFalse(s0.zeroCopy());
            assertFalse(s1.zeroCopy());
            assertEquals(0, s1.statistics().rxDropped());
        }
    }

    @Test
    void aPinnedXskMapOfSomeoneElsesProgram() throws Exception {
        requireFixture();
        Env.require(Files.isDirectory(Path.of("/sys/fs/bpf"))
                && Netns.shQuiet("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf") == 0,
                "bpffs at /sys/fs/bpf");
        Netns.shQuiet("rm -f " + PIN);
        // "Someone else": a program and map loaded independently of the link, map pinned in bpffs.
        try (XdpProgram theirs = XdpProgram.attach(Net.ifNameToIndex(HOST), HOST, XdpProgram.Attach.SKB, 2)) {
            theirs.pinMap(PIN);
            try (XdpLink l =
                    (XdpLink) ringlink.link.Links.open("xdp:" + HOST + "?xskmap=" + PIN + "&frames=1024&queue=0");
                 PacketBatch b = new PacketBatch(64, 2048)) {
                // Queue 1 has no socket: steer by sending enough flows that some land on queue 0.
                Netns.in(NS, "bash -c 'for i in $(seq 1 100); do printf y > /dev/udp/" + HOST_IP + "/9997; done'");
                int n = XdpLinkTest.receivePort(l, b, 9997, 1, 5_000, null);
                assertTrue(n >= 1, "nothing arrived through the pinned map");
            }
            assertTrue(Netns.xdpOf(HOST).contains("xdp"), "closing the link leaves their program attached");
        } finally {
            Netns.shQuiet("rm -f " + PIN);
        }
    }
}
