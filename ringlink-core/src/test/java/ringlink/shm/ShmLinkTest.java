package ringlink.shm;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.LinkClosedException;
import ringlink.link.Offloads;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.sys.UnixSocket;

/** The Link contract over a queue pair inside one process: waiting, closing, L3 framing. */
@Timeout(60)
class ShmLinkTest {

    /** A server and a client link joined through a socketpair hand-over. */
    static ShmLink[] pair(ShmLink.Options server, ShmLink.Options client) throws Exception {
        QueueConfig tx = QueueConfig.create("t-tx", 1 << 20, 1 << 16);
        QueueConfig rx = QueueConfig.create("t-rx", 1 << 20, 1 << 16);
        UnixSocket[] sp = UnixSocket.pair(UnixSocket.SOCK_STREAM);
        ShmHandshake.offer(sp[0], tx, rx, server.mtu());
        ShmHandshake.Offer o = ShmHandshake.receive(sp[1], 5000);
        return new ShmLink[] {
            ShmLink.open("server", ShmLink.Role.SERVER, tx, rx, server, sp[0], null),
            ShmLink.open("client", ShmLink.Role.CLIENT, o.tx(), o.rx(), client, sp[1], null)
        };
    }

    static int add(PacketBatch b, byte... bytes) {
        int i = b.add();
        MemorySegment.copy(bytes, 0, b.memory(), ValueLayout.JAVA_BYTE, b.dataOffset(i), bytes.length);
        b.setLength(i, bytes.length);
        return i;
    }

    @Test
    void sleepingReceiverIsWokenByTheSenderAndCloseWakesItToo() throws Exception {
        ShmLink[] p = pair(ShmLink.Options.defaults(), ShmLink.Options.defaults());
        try (ShmLink server = p[0]; ShmLink client = p[1]; PacketBatch b = new PacketBatch(8, 2048)) {
            assertEquals(0, server.receive(b));
            assertTrue(server.prepareToWait(), "nothing pending: may sleep");
            add(b, new byte[60]);
            assertEquals(1, client.transmit(b));
            assertNotEquals(0, PollSet.pollOne(server.readyFd(), PollfdLayout.POLLIN, 5000) & PollfdLayout.POLLIN,
                    "no doorbell");
            server.finishWait();
            b.clear();
            assertEquals(1, server.receive(b));
            assertEquals(60, b.length(0));

            // A packet that raced in before the sleep: prepareToWait says "don't sleep".
            b.clear();
            add(b, new byte[61]);
            assertEquals(1, client.transmit(b));
            assertFalse(server.prepareToWait());

            // close() from another thread wakes a sleeper and the memory goes after it.
            assertTrue(client.prepareToWait());
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ignored) {
                    // proceed
                }
                client.close();
            });
            assertNotEquals(0, PollSet.pollOne(client.readyFd(), PollfdLayout.POLLIN, 5000),
                    "close did not wake the sleeper");
            t.join();
            assertThrows(LinkClosedException.class, () -> client.receive(b));
            assertTrue(client.awaitReleased(5, TimeUnit.SECONDS));
            // The server sees the hang-up of the client's connection.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.isOpen() && System.nanoTime() < deadline) Thread.sleep(10);
            assertFalse(server.isOpen());
            assertTrue(server.closeReason().contains("peer hung up"), server.closeReason());
        }
    }

    @Test
    void l3OverEthernetAddsAndStripsHeadersAndDropsNonIp() throws Exception {
        ShmLink.Options l3 = ShmLink.Options.defaults().withLayer(true, Layer.L3).withChecksumOffload(true);
        ShmLink.Options l2 = ShmLink.Options.defaults();
        ShmLink[] p = pair(l3, l2);
        try (ShmLink server = p[0]; ShmLink client = p[1]; PacketBatch b = new PacketBatch(8, 2048)) {
            assertEquals(Layer.L3, server.layer());
            assertEquals(1500, server.maxReceiveSize());
            assertEquals(1514, client.maxReceiveSize());
            assertEquals(Offloads.of(Offloads.CSUM), server.offloads());
            // server (L3) -> client (L2): an Ethernet header is added, IPv6 gets 0x86dd.
            add(b, (byte) 0x45, (byte) 1, (byte) 2);
            add(b, (byte) 0x60, (byte) 3);
            assertEquals(2, server.transmit(b));
            assertEquals(3, b.length(0), "the caller's packet is left as it was");
            assertEquals(0x45, b.memory().get(ValueLayout.JAVA_BYTE, b.dataOffset(0)));
            PacketBatch r = new PacketBatch(8, 2048);
            assertEquals(2, client.receive(r));
            assertEquals(17, r.length(0));
            MemorySegment f = r.data(0);
            assertEquals((short) 0x0800, f.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 12));
            assertEquals((byte) 0xff, f.get(ValueLayout.JAVA_BYTE, 0), "broadcast destination by default");
            assertEquals((byte) 0x45, f.get(ValueLayout.JAVA_BYTE, 14));
            assertEquals((short) 0x86dd,
                    r.data(1).get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 12));

            // client (L2) -> server (L3): the header is stripped; ARP and runts are dropped.
            b.clear();
            byte[] ip = new byte[34];
            ip[12] = 0x08;
            ip[14] = 0x45;
            ip[33] = 0x77;
            add(b, ip);
            byte[] arp = new byte[42];
            arp[12] = 0x08;
            arp[13] = 0x06;
            add(b, arp);
            add(b, new byte[10]);
            assertEquals(3, client.transmit(b));
            r.clear();
            assertEquals(1, server.receive(r));
            assertEquals(20, r.length(0));
            assertEquals(0x45, r.memory().get(ValueLayout.JAVA_BYTE, r.dataOffset(0)));
            assertEquals(0x77, r.memory().get(ValueLayout.JAVA_BYTE, r.dataOffset(0) + 19));
            assertEquals(VirtioNetHdr.F_DATA_VALID, r.flags(0), "checksum offload: received packets count as verified");
            assertEquals(2, server.counters().snapshot().rxDrops());
            r.close();
        }
    }

    @Test
    void bareIpLinksDropWhatIsNotIpv4OrIpv6AndOversizedPacketsAreCounted() throws Exception {
        ShmLink.Options ip = ShmLink.Options.defaults().withLayer(false, Layer.L3);
        ShmLink[] p = pair(ip, ip);
        try (ShmLink server = p[0]; ShmLink client = p[1]; PacketBatch b = new PacketBatch(8, 4096);
                PacketBatch r = new PacketBatch(8, 4096)) {
            add(b, (byte) 0x45);
            add(b, (byte) 0x50);
            add(b, new byte[1501]); // above the MTU: dropped on transmit
            add(b, (byte) 0x60);
            assertEquals(4, client.transmit(b));
            assertEquals(1, client.counters().snapshot().txDrops());
            assertEquals(3, client.counters().snapshot().txPackets());
            assertEquals(3, client.counters().snapshot().txBytes(), "dropped bytes are not counted as sent");
            assertEquals(2, server.receive(r));
            assertEquals(0x45, r.memory().get(ValueLayout.JAVA_BYTE, r.dataOffset(0)));
            assertEquals(0x60, r.memory().get(ValueLayout.JAVA_BYTE, r.dataOffset(1)) & 0xff);
            assertEquals(1, server.counters().snapshot().rxDrops());
            // Checksum-offload packets need the capability.
            b.clear();
            int i = add(b, (byte) 0x45);
            b.setFlags(i, VirtioNetHdr.F_NEEDS_CSUM);
            assertThrows(IllegalArgumentException.class, () -> client.transmit(b));
        }
    }

    /**
     * Makes packet {@code i} (its bytes already there) an Ethernet/IPv4/TCP superpacket: peers' superpackets are
     * checked against their headers.
     */
    static void tcp4Headers(PacketBatch b, int i) {
        java.lang.foreign.MemorySegment m = b.memory();
        long o = b.dataOffset(i);
        var be16 = java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
        m.set(be16, o + 12, (short) 0x0800);
        m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 14, (byte) 0x45);
        m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 15, (byte) 0);
        m.set(be16, o + 16, (short) (b.length(i) - 14));
        m.set(be16, o + 20, (short) 0x4000); // DF, not a fragment
        m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 22, (byte) 64);
        m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 23, (byte) 6);
        m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 34 + 12, (byte) 0x50);
    }

    @Test
    void virtioNetHeaderCarriesOffloadsAndSuperpacketsAcrossManyBuffers() throws Exception {
        ShmLink.Options v = ShmLink.Options.defaults().withVnetHdr(true);
        ShmLink[] p = pair(v, v);
        try (ShmLink server = p[0]; ShmLink client = p[1];
             PacketBatch b = new PacketBatch(4, PacketBatch.SUPERPACKET_BUFFER);
             PacketBatch r = new PacketBatch(4, PacketBatch.SUPERPACKET_BUFFER)) {
            assertEquals(Offloads.ALL, client.offloads());
            assertEquals(65535 + 14, server.maxReceiveSize());
            int big = b.add();
            b.setLength(big, 60_000);
            for (int k = 0; k < 60_000; k++)
                    b.memory().set(ValueLayout.JAVA_BYTE, b.dataOffset(big) + k, (byte) (k * 7));
            tcp4Headers(b, big);
            b.setOffload(big, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 54, 1448, 34, 16);
            int small = b.add();
            b.setLength(small, 100);
            b.setOffload(small, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_NONE, 0, 0, 34, 6);
            assertEquals(2, client.transmit(b));
            assertEquals(60_000, b.length(big), "the caller's packet is left as it was");
            assertEquals(2, server.receive(r));
            assertEquals(60_000, r.length(0));
            assertEquals(-1, MemorySegment.mismatch(r.memory(), r.dataOffset(0), r.dataOffset(0) + 60_000,
                    b.memory(), b.dataOffset(big), b.dataOffset(big) + 60_000));
            assertEquals(VirtioNetHdr.GSO_TCPV4, r.gsoType(0));
            assertEquals(1448, r.gsoSize(0));
            assertEquals(54, r.hdrLen(0));
            assertEquals(34, r.csumStart(0));
            assertEquals(16, r.csumOffset(0));
            assertEquals(VirtioNetHdr.F_NEEDS_CSUM, r.flags(1));
            assertEquals(6, r.csumOffset(1));
            assertEquals(1, server.counters().snapshot().superpackets());

            // UFO (or an unknown GSO type) from the peer is dropped, not passed on.
            b.clear();
            int u = b.add();
            b.setLength(u, 100);
            b.setGso(u, VirtioNetHdr.GSO_UDP, 42, 1000);
            assertThrows(IllegalArgumentException.class, () -> client.transmit(b), "we never send what we lack");
        }
    }

    /**
     * close() from another thread wakes a thread asleep in epoll on readyFd (the eventfd stays in the set until it is
     * out).
     */
    @Test
    void closeWakesAnEpollSleeper() throws Exception {
        for (int round = 0; round < 20; round++) {
            ShmLink[] p = pair(ShmLink.Options.defaults(), ShmLink.Options.defaults());
            try (ShmLink server = p[0]; ShmLink client = p[1]) {
                ringlink.testing.CloseWake.assertCloseWakesEpollSleeper(client);
                assertTrue(client.awaitReleased(5, TimeUnit.SECONDS), "released once the sleeper is out");
            }
        }
    }
}
