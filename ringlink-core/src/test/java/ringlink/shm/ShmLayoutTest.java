package ringlink.shm;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Our layouts against gVisor's own encoders and pipes: shmpeer -layout prints the bytes gVisor
 * writes for each structure and pipe operation; we write the same with our classes and compare
 * byte for byte (the sharedmem analogue of HeaderLayoutTest: the reference is Go, not C).
 */
@Timeout(120)
class ShmLayoutTest {
    static final Map<String, String> GO = new HashMap<>();

    @BeforeAll
    static void runGo() throws Exception {
        GoPeer.build();
        Path log = PeerLogs.log("layout");
        Process p = GoPeer.start(log, "-layout");
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(log));
        for (String line : Files.readAllLines(log)) {
            String[] kv = line.split(" ");
            if (kv.length == 2) GO.put(kv[0], kv[1]);
        }
    }

    static String hex(MemorySegment s) {
        return HexFormat.of().formatHex(s.toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void completionsMatch() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(RxPacketLayout.completionSize(1));
            RxPacketLayout.U32.set(c, (long) RxPacketLayout.CONSUMED_PACKET_SIZE, 0x11223344);
            RxPacketLayout.U32.set(c, (long) RxPacketLayout.CONSUMED_PACKET_RESERVED, 0x55667788);
            long b = RxPacketLayout.consumedBuffer(0);
            RxPacketLayout.U64.set(c, b + RxPacketLayout.CONSUMED_OFFSET, 0x0102030405060708L);
            RxPacketLayout.U32.set(c, b + RxPacketLayout.CONSUMED_SIZE, 0x0a0b0c0d);
            RxPacketLayout.U64.set(c, b + RxPacketLayout.CONSUMED_USER_DATA, 0x2122232425262728L);
            RxPacketLayout.U64.set(c, b + RxPacketLayout.CONSUMED_ID, 0x1112131415161718L);
            assertEquals(GO.get("rxcompletion"), hex(c));

            MemorySegment t = a.allocate(TxPacketLayout.SIZEOF_COMPLETION);
            TxPacketLayout.U64.set(t, (long) TxPacketLayout.COMPLETION_ID, 0x0102030405060708L);
            assertEquals(GO.get("txcompletion"), hex(t));
        }
    }

    static void txPacket(PipeTx p, long id, int size, long... offsets) throws Exception {
        long d = p.push(TxPacketLayout.descriptorSize(offsets.length));
        assertTrue(d >= 0);
        MemorySegment r = p.ring();
        TxPacketLayout.U64.set(r, d + TxPacketLayout.PACKET_ID, id);
        TxPacketLayout.U32.set(r, d + TxPacketLayout.PACKET_SIZE, size);
        TxPacketLayout.U32.set(r, d + TxPacketLayout.PACKET_RESERVED, 0);
        for (int k = 0; k < offsets.length; k++) {
            long bd = d + TxPacketLayout.bufferDescriptor(k);
            TxPacketLayout.U64.set(r, bd + TxPacketLayout.BUFFER_OFFSET, offsets[k]);
            TxPacketLayout.U32.set(r, bd + TxPacketLayout.BUFFER_SIZE, 0x800);
        }
        p.flush();
    }

    @Test
    void txPacketPipeMatchesQueueTxAndPipeRx() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ring = a.allocate(128, 8);
            PipeTx p = new PipeTx(ring, "tx");
            txPacket(p, 7, 3000, 0x1000, 0x2000);
            assertEquals(GO.get("txpipe1"), hex(ring));
            txPacket(p, 8, 100, 0x3000);
            assertEquals(GO.get("txpipe2"), hex(ring));
            PipeRx rx = new PipeRx(ring, "rx");
            assertTrue(rx.pull() >= 0);
            assertTrue(rx.pull() >= 0);
            rx.flush();
            assertEquals(GO.get("txpipe3"), hex(ring));
        }
    }

    @Test
    void postedBuffersMatchQueueRx() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ring = a.allocate(128, 8);
            PipeTx p = new PipeTx(ring, "post");
            long[][] bufs = {{0x4000, 5, 9}, {0x4800, 6, 10}};
            for (long[] b : bufs) {
                long d = p.push(RxPacketLayout.SIZEOF_POSTED_BUFFER);
                RxPacketLayout.U64.set(ring, d + RxPacketLayout.POSTED_OFFSET, b[0]);
                RxPacketLayout.U32.set(ring, d + RxPacketLayout.POSTED_SIZE, 0x800);
                RxPacketLayout.U32.set(ring, d + RxPacketLayout.POSTED_REMAINING_IN_GROUP, 0);
                RxPacketLayout.U64.set(ring, d + RxPacketLayout.POSTED_USER_DATA, b[2]);
                RxPacketLayout.U64.set(ring, d + RxPacketLayout.POSTED_ID, b[1]);
            }
            p.flush();
            assertEquals(GO.get("posted"), hex(ring));
        }
    }

    @Test
    void wrappingSlotMatchesPipeTx() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ring = a.allocate(128, 8);
            PipeTx p = new PipeTx(ring, "wrap");
            for (int i = 0; i < 3; i++) {
                long at = p.push(40);
                if (at >= 0) ring.asSlice(at, 40).fill((byte) (i + 1));
                p.flush();
            }
            assertEquals(GO.get("wrap1"), hex(ring));
        }
    }
}
