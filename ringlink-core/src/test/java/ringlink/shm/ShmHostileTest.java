package ringlink.shm;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.LinkFailedException;
import ringlink.packet.PacketBatch;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.UnixSocket;

/**
 * A hostile peer writes garbage into the shared pipes and descriptors: the link that reads it
 * stops with a clear {@link LinkFailedException}, releases its memory, and a healthy link in the
 * same process keeps working.
 */
@Timeout(60)
class ShmHostileTest {
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One queue's memory as the hostile peer sees it. */
    record PeerView(Mapping data, Mapping txPipe, Mapping rxPipe) implements AutoCloseable {
        static PeerView of(QueueConfig c) throws Exception {
            return new PeerView(map(c.data()), map(c.txPipe()), map(c.rxPipe()));
        }

        static Mapping map(Fd fd) throws Exception {
            return Mapping.map(fd, fd.size(), Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0,
                    "hostile view");
        }

        @Override
        public void close() {
            data.close();
            txPipe.close();
            rxPipe.close();
        }
    }

    /** Publishes one slot at ring offset {@code at} with the given payload header and a free slot after it. */
    static void publish(MemorySegment ring, long at, long header, long slotBytes) {
        ring.set(U64, at + slotBytes, PipeLayout.SLOT_FREE);
        PipeLayout.HEADER.setRelease(ring, at, header);
    }

    static ShmLink[] openPair(QueueConfig tx, QueueConfig rx, ShmLink.Role role) throws Exception {
        return new ShmLink[] {ShmLink.open("hostile-" + role, role, tx, rx, ShmLink.Options.defaults(), null, null)};
    }

    static void assertHealthyPairStillWorks() throws Exception {
        QueueConfig tx = QueueConfig.create("ok-tx", 1 << 20, 1 << 16);
        QueueConfig rx = QueueConfig.create("ok-rx", 1 << 20, 1 << 16);
        UnixSocket[] sp = UnixSocket.pair(UnixSocket.SOCK_STREAM);
        ShmHandshake.offer(sp[0], tx, rx, 1500);
        ShmHandshake.Offer o = ShmHandshake.receive(sp[1], 5000);
        try (ShmLink server =
                ShmLink.open("ok-server", ShmLink.Role.SERVER, tx, rx, ShmLink.Options.defaults(), sp[0], null);
             ShmLink client = ShmLink.open("ok-client", ShmLink.Role.CLIENT, o.tx(), o.rx(), ShmLink.Options.defaults(),
                     sp[1], null)) {
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    Traffic.exchange(server, 2000, 2000, 41, 42, 1514, 20_000);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Traffic.Result r = Traffic.exchange(client, 2000, 2000, 42, 41, 1514, 20_000);
            t.join(30_000);
            assertEquals(2000, r.received());
        }
    }

    @Test
    void completionSlotLargerThanTheRingStopsTheClient() throws Exception {
        QueueConfig tx = QueueConfig.create("h1-tx", 1 << 20, 1 << 16);
        QueueConfig rx = QueueConfig.create("h1-rx", 1 << 20, 1 << 16);
        try (PeerView peer = PeerView.of(rx); ShmLink link = openPair(tx, rx, ShmLink.Role.CLIENT)[0];
             PacketBatch b = new PacketBatch(8, 2048)) {
            MemorySegment ring = peer.rxPipe().segment();
            publish(ring, 0, 70_000, 16); // a slot that claims more than the 64 KiB ring
            var e = assertThrows(LinkFailedException.class, () -> link.receive(b));
            assertTrue(e.getMessage().contains("RX queue completion pipe")
                    && e.getMessage().contains("does not end at the ring start"), e.getMessage());
            assertFalse(link.isOpen());
            var again = assertThrows(LinkFailedException.class, () -> link.receive(b));
            assertTrue(again.getMessage().contains("stopped after a protocol error"), again.getMessage());
            assertThrows(LinkFailedException.class, () -> link.transmit(b));
            assertTrue(link.awaitReleased(5, TimeUnit.SECONDS));
        }
        assertHealthyPairStillWorks();
    }

    @Test
    void completionOfTheWrongShapeStopsTheClient() throws Exception {
        QueueConfig tx = QueueConfig.create("h2-tx", 1 << 20, 1 << 16);
        QueueConfig rx = QueueConfig.create("h2-rx", 1 << 20, 1 << 16);
        try (PeerView peer = PeerView.of(rx); ShmLink link = openPair(tx, rx, ShmLink.Role.CLIENT)[0];
             PacketBatch b = new PacketBatch(8, 2048)) {
            publish(peer.rxPipe().segment(), 0, 13, 24); // 13 bytes: not 8 + 28*n
            var e = assertThrows(LinkFailedException.class, () -> link.receive(b));
            assertTrue(e.getMessage().contains("not 8 + 28*n"), e.getMessage());
        }
    }

    @Test
    void completionPointingOutsideTheDataRegionStopsTheClient() throws Exception {
        QueueConfig tx = QueueConfig.create("h3-tx", 1 << 20, 1 << 16);
        QueueConfig rx = QueueConfig.create("h3-rx", 1 << 20, 1 << 16);
        try (PeerView peer = PeerView.of(rx); ShmLink link = openPair(tx, rx, ShmLink.Role.CLIENT)[0];
             PacketBatch b = new PacketBatch(8, 2048)) {
            MemorySegment ring = peer.rxPipe().segment();
            long p = 8; // payload of the slot at 0
            ring.set(U32, p, 100);               // packet size
            ring.set(U32, p + 4, 0);
            ring.set(U64, p + 8, 1L << 40);      // buffer offset: far outside the 1 MiB region
            ring.set(U32, p + 16, 100);
            ring.set(U64, p + 20, 0);
            ring.set(U64, p + 28, 0);            // id 0 was posted by the client
            publish(ring, 0, 36, PipeLayout.slotSize(36));
            var e = assertThrows(LinkFailedException.class, () -> link.receive(b));
            assertTrue(e.getMessage().contains("outside that buffer"), e.getMessage());
        }
    }

    @Test
    void packetPointingOutsideTheDataRegionStopsTheServer() throws Exception {
        QueueConfig tx = QueueConfig.create("h4-tx", 1 << 20, 1 << 16);
        QueueConfig rx = QueueConfig.create("h4-rx", 1 << 20, 1 << 16);
        try (PeerView peer = PeerView.of(tx); ShmLink link = openPair(tx, rx, ShmLink.Role.SERVER)[0];
             PacketBatch b = new PacketBatch(8, 2048)) {
            MemorySegment ring = peer.txPipe().segment();
            long p = 8;
            ring.set(U64, p, 7);                 // id
            ring.set(U32, p + 8, 1000);          // size
            ring.set(U32, p + 12, 0);
            ring.set(U64, p + 16, (1 << 20) - 10); // buffer runs 990 bytes past the region's end
            ring.set(U32, p + 24, 1000);
            publish(ring, 0, 28, PipeLayout.slotSize(28));
            var e = assertThrows(LinkFailedException.class, () -> link.receive(b));
            assertTrue(e.getMessage().contains("lies outside the 1048576-byte data region"), e.getMessage());
            assertFalse(link.isOpen());
        }
    }

    @Test
    void unknownCompletionIdStopsTheClientTransmitter() throws Exception {
        QueueConfig tx = QueueConfig.create("h5-tx", 1 << 20, 1 << 16);
        QueueConfig rx = QueueConfig.create("h5-rx", 1 << 20, 1 << 16);
        try (PeerView peer = PeerView.of(tx); ShmLink link = openPair(tx, rx, ShmLink.Role.CLIENT)[0];
             PacketBatch b = new PacketBatch(8, 2048)) {
            MemorySegment ring = peer.rxPipe().segment();
            ring.set(U64, 8, 123456789L);
            publish(ring, 0, 8, 16);
            b.setLength(b.add(), 60);
            var e = assertThrows(LinkFailedException.class, () -> link.transmit(b));
            assertTrue(e.getMessage().contains("not in flight"), e.getMessage());
        }
    }

    @Test
    void freeHeaderThatJumpsPastTheRingStopsTheProducer() throws Exception {
        // A small packet pipe fills up quickly; then the producer must reclaim from the
        // consumer's free headers, and a bogus one is caught.
        QueueConfig tx = QueueConfig.create("h6-tx", 8 << 20, 4096);
        QueueConfig rx = QueueConfig.create("h6-rx", 1 << 20, 1 << 16);
        try (PeerView peer = PeerView.of(tx); ShmLink link = openPair(tx, rx, ShmLink.Role.CLIENT)[0];
             PacketBatch b = new PacketBatch(64, 2048)) {
            for (int i = 0; i < 64; i++) b.setLength(b.add(), 60);
            int sent = 0;
            for (int round = 0; round < 10; round++) sent += link.transmit(b);
            assertTrue(sent > 50 && sent < 640, "pipe should have filled: " + sent);
            peer.txPipe().segment().set(U64, 0, PipeLayout.SLOT_FREE | 0x10000); // "freed" 64 KiB of a 4 KiB ring
            var e = assertThrows(LinkFailedException.class, () -> link.transmit(b));
            assertTrue(e.getMessage().contains("runs past the ring end"), e.getMessage());
        }
    }
}
