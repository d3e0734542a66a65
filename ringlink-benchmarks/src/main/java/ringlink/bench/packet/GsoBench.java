package ringlink.bench.packet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;
import ringlink.packet.Framing;
import ringlink.packet.Gro;
import ringlink.packet.Gso;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;

/**
 * Software TSO of a 64 KiB TCP/IPv4 superpacket into MSS-1448 segments (with checksums), and the
 * reverse: GRO of those segments back into one superpacket. The {@code bytes} counter is the
 * superpacket's payload per second.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class GsoBench {
    static final int MSS = 1448;
    static final int HDR = 20 + 20;
    static final int PAYLOAD = 65535 - HDR;

    private PacketBatch superpacket;
    private PacketBatch segments;
    private PacketBatch merged;
    private final Gso gso = new Gso();
    private final Gro gro = new Gro(Framing.IP, true, false, 64);

    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Bytes {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() { bytes = 0; }
    }

    @Setup
    public void setup() {
        superpacket = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
        segments = new PacketBatch(64, 2048);
        merged = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
        int i = superpacket.add();
        ByteBuffer b = ByteBuffer.allocate(HDR + PAYLOAD);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (HDR + PAYLOAD)).putShort((short) 1).putShort((short) 0x4000)
                .put((byte) 64).put((byte) 6).putShort((short) 0).putInt(0x0a000001).putInt(0x0a000002);
        b.putShort((short) 40000).putShort((short) 5201).putInt(1).putInt(1).put((byte) 0x50).put((byte) 0x18)
                .putShort((short) 512).putShort((short) 0).putShort((short) 0);
        for (int k = 0; k < PAYLOAD; k++) b.put((byte) k);
        MemorySegment.copy(MemorySegment.ofArray(b.array()), 0, superpacket.memory(), superpacket.dataOffset(i),
                HDR + PAYLOAD);
        superpacket.setLength(i, HDR + PAYLOAD);
        superpacket.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, HDR, MSS, 20, 16);
        gso.segment(superpacket, 0, Framing.IP, segments);
        // Sanity: the reverse direction must produce one superpacket, or the GRO figure is meaningless.
        if (gro.coalesce(segments, merged) != 1) throw new IllegalStateException("GRO did not coalesce the segments");
        if (merged.memory().get(ValueLayout.JAVA_BYTE, merged.dataOffset(0)) != 0x45) throw new IllegalStateException();
    }

    @TearDown
    public void tearDown() {
        superpacket.close();
        segments.close();
        merged.close();
    }

    @Benchmark
    public int tso64k(Bytes b) {
        segments.clear();
        b.bytes += PAYLOAD;
        return gso.segment(superpacket, 0, Framing.IP, segments);
    }

    @Benchmark
    public int gro64k(Bytes b) {
        merged.clear();
        b.bytes += PAYLOAD;
        return gro.coalesce(segments, merged);
    }
}
