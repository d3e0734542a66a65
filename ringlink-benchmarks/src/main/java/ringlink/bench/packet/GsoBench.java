package ringlink.bench.packet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;
import ringlink.packet.Framing;
import ringlink.packet.Gro;
import ringlink.packet.Gso;
import ringlink.packet.OffloadFallback;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;

/**
 * Software TSO of a 64 KiB TCP superpacket (IPv4 or IPv6, {@link #ip}) into MSS-1448 segments
 * with checksums, and the reverse: GRO of those segments back into one superpacket.
 *
 * <ul>
 *   <li>{@code tso64k}: {@link Gso#segment} into a 64-slot batch (the headers' checksums from
 *       the superpacket's sums, per segment only the payload summed);</li>
 *   <li>{@code tso64kBaseline}: the segmentation as it was before (IPv4 header, pseudo-header
 *       and the whole transport segment summed per segment, {@link GsoBaseline}), run in the
 *       same JVM so the two compare as a ratio;</li>
 *   <li>{@code fallback64k}: the switch's and the relay's path, {@link OffloadFallback#fix}
 *       into a 32-slot scratch batch handed to a sink per round (the switch's one transmit per
 *       round), i.e. what a superpacket costs a port that needs it segmented, before the link;</li>
 *   <li>{@code gro64k} (IPv4 only): the reverse.</li>
 * </ul>
 * Counters: {@code bytes} = payload bytes/s, {@code segments} = segments/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class GsoBench {
    static final int MSS = 1448;

    /** IP version of the superpacket. */
    @Param({"4", "6"})
    public int ip;

    private int hdr;
    private int payload;
    private int count;
    private PacketBatch superpacket;
    private PacketBatch segments;
    private PacketBatch scratch;
    private PacketBatch merged;
    private final Gso gso = new Gso();
    private final GsoBaseline baseline = new GsoBaseline();
    private final OffloadFallback fallback = new OffloadFallback(Framing.IP);
    private final Gro gro = new Gro(Framing.IP, true, false, 64);
    private long sunk;
    private final OffloadFallback.Sink<RuntimeException> sink = (b, from, to) -> {
        sunk += to - from;
        return true;
    };

    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Counts {
        public long bytes;
        public long segments;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
            segments = 0;
        }
    }

    @Setup
    public void setup() {
        hdr = (ip == 4 ? 20 : 40) + 20;
        payload = 65535 - (ip == 4 ? hdr : 20); // IPv4 total length / IPv6 payload length <= 65535
        count = (payload + MSS - 1) / MSS;
        superpacket = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
        segments = new PacketBatch(64, 2048);
        scratch = new PacketBatch(32, 2048);
        merged = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
        int i = superpacket.add();
        ByteBuffer b = ByteBuffer.allocate(hdr + payload);
        if (ip == 4) {
            b.put((byte) 0x45).put((byte) 0).putShort((short) (hdr + payload)).putShort((short) 1)
                    .putShort((short) 0x4000)
                    .put((byte) 64).put((byte) 6).putShort((short) 0).putInt(0x0a000001).putInt(0x0a000002);
        } else {
            b.putInt(0x60000000).putShort((short) (20 + payload)).put((byte) 6).put((byte) 64)
                    .putLong(0xfd00000000000000L).putLong(1).putLong(0xfd00000000000000L).putLong(2);
        }
        b.putShort((short) 40000).putShort((short) 5201).putInt(1).putInt(1).put((byte) 0x50).put((byte) 0x18)
                .putShort((short) 512).putShort((short) 0).putShort((short) 0);
        for (int k = 0; k < payload; k++) b.put((byte) k);
        MemorySegment.copy(MemorySegment.ofArray(b.array()), 0, superpacket.memory(), superpacket.dataOffset(i),
                hdr + payload);
        superpacket.setLength(i, hdr + payload);
        superpacket.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, ip == 4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6,
                hdr, MSS, hdr - 20, 16);
        if (gso.segment(superpacket, 0, Framing.IP, segments) != count)
                throw new IllegalStateException("segment count");
        // Both segmentations must agree byte for byte, or the ratio compares different work.
        try (PacketBatch other = new PacketBatch(64, 2048)) {
            baseline.segment(superpacket, 0, Framing.IP, other);
            for (int k = 0; k < count; k++) {
                if (segments.data(k).mismatch(other.data(k)) != -1)
                        throw new IllegalStateException("segment " + k + " differs from the baseline's");
            }
        }
        // Sanity: the reverse direction must produce one superpacket, or the GRO figure is meaningless.
        if (ip == 4) {
            if (gro.coalesce(segments, merged) != 1)
                    throw new IllegalStateException("GRO did not coalesce the segments");
            if (merged.memory().get(ValueLayout.JAVA_BYTE, merged.dataOffset(0)) != 0x45)
                    throw new IllegalStateException();
        }
    }

    /** Segments one superpacket becomes (for harnesses that time the methods themselves, {@link GsoAb}). */
    public int segmentsPerSuperpacket() {
        return count;
    }

    @TearDown
    public void tearDown() {
        superpacket.close();
        segments.close();
        scratch.close();
        merged.close();
    }

    @Benchmark
    public int tso64k(Counts c) {
        segments.clear();
        c.bytes += payload;
        c.segments += count;
        return gso.segment(superpacket, 0, Framing.IP, segments);
    }

    @Benchmark
    public int tso64kBaseline(Counts c) {
        segments.clear();
        c.bytes += payload;
        c.segments += count;
        return baseline.segment(superpacket, 0, Framing.IP, segments);
    }

    @Benchmark
    public long fallback64k(Counts c) {
        c.bytes += payload;
        c.segments += count;
        fallback.fix(superpacket, 0, scratch, sink);
        return sunk;
    }

    @Benchmark
    public int gro64k(Counts c) {
        if (ip != 4) return 0;
        merged.clear();
        c.bytes += payload;
        return gro.coalesce(segments, merged);
    }
}
