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

    /**
     * One attack's setup: a TX and an RX queue named after {@code tag} (1 MiB data, 64 KiB pipes),
     * our link in {@code role} on them, the hostile peer's view of one of the two queues, a batch.
     */
    record Attack(PeerView peer, ShmLink link, PacketBatch batch) implements AutoCloseable {
        static Attack on(String tag, ShmLink.Role role, boolean peerViewsTx) throws Exception {
            QueueConfig tx = QueueConfig.create(tag + "-tx", 1 << 20, 1 << 16);
            QueueConfig rx = QueueConfig.create(tag + "-rx", 1 << 20, 1 << 16);
            PeerView peer = PeerView.of(peerViewsTx ? tx : rx);
            return new Attack(peer, openPair(tx, rx, role)[0], new PacketBatch(8, 2048));
        }

        /** {@code call} fails the link with a message containing {@code text}. */
        LinkFailedException fails(org.junit.jupiter.api.function.Executable call, String text) {
            var e = assertThrows(LinkFailedException.class, call);
            assertTrue(e.getMessage().contains(text), e.getMessage());
            return e;
        }

        @Override
        public void close() {
            batch.close();
            link.close();
            peer.close();
        }
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
        try (Attack a = Attack.on("h1", ShmLink.Role.CLIENT, false)) {
            ShmLink link = a.link();
            PacketBatch b = a.batch();
            publish(a.peer().rxPipe().segment(), 0, 70_000, 16); // a slot that claims more than the 64 KiB ring
            var e = a.fails(() -> link.receive(b), "does not end at the ring start");
            assertTrue(e.getMessage().contains("RX queue completion pipe"), e.getMessage());
            assertFalse(link.isOpen());
            a.fails(() -> link.receive(b), "stopped after a protocol error");
            assertThrows(LinkFailedException.class, () -> link.transmit(b));
            assertTrue(link.awaitReleased(5, TimeUnit.SECONDS));
        }
        assertHealthyPairStillWorks();
    }

    @Test
    void completionOfTheWrongShapeStopsTheClient() throws Exception {
        try (Attack a = Attack.on("h2", ShmLink.Role.CLIENT, false)) {
            publish(a.peer().rxPipe().segment(), 0, 13, 24); // 13 bytes: not 8 + 28*n
            a.fails(() -> a.link().receive(a.batch()), "not 8 + 28*n");
        }
    }

    @Test
    void completionPointingOutsideTheDataRegionStopsTheClient() throws Exception {
        try (Attack a = Attack.on("h3", ShmLink.Role.CLIENT, false)) {
            MemorySegment ring = a.peer().rxPipe().segment();
            long p = 8; // payload of the slot at 0
            ring.set(U32, p, 100);               // packet size
            ring.set(U32, p + 4, 0);
            ring.set(U64, p + 8, 1L << 40);      // buffer offset: far outside the 1 MiB region
            ring.set(U32, p + 16, 100);
            ring.set(U64, p + 20, 0);
            ring.set(U64, p + 28, 0);            // id 0 was posted by the client
            publish(ring, 0, 36, PipeLayout.slotSize(36));
            a.fails(() -> a.link().receive(a.batch()), "outside that buffer");
        }
    }

    @Test
    void packetPointingOutsideTheDataRegionStopsTheServer() throws Exception {
        try (Attack a = Attack.on("h4", ShmLink.Role.SERVER, true)) {
            MemorySegment ring = a.peer().txPipe().segment();
            long p = 8;
            ring.set(U64, p, 7);                 // id
            ring.set(U32, p + 8, 1000);          // size
            ring.set(U32, p + 12, 0);
            ring.set(U64, p + 16, (1 << 20) - 10); // buffer runs 990 bytes past the region's end
            ring.set(U32, p + 24, 1000);
            publish(ring, 0, 28, PipeLayout.slotSize(28));
            a.fails(() -> a.link().receive(a.batch()), "lies outside the 1048576-byte data region");
            assertFalse(a.link().isOpen());
        }
    }

    @Test
    void unknownCompletionIdStopsTheClientTransmitter() throws Exception {
        try (Attack a = Attack.on("h5", ShmLink.Role.CLIENT, true)) {
            MemorySegment ring = a.peer().rxPipe().segment();
            ring.set(U64, 8, 123456789L);
            publish(ring, 0, 8, 16);
            a.batch().setLength(a.batch().add(), 60);
            a.fails(() -> a.link().transmit(a.batch()), "not in flight");
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
