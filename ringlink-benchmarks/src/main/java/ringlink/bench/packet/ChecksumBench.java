package ringlink.bench.packet;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;
import ringlink.packet.Checksum;

/**
 * Internet checksum throughput at 64 B, 1500 B and 64 KiB. The {@code bytes} auxiliary counter
 * reports bytes/s directly; {@code naive16} is a 16-bit-at-a-time loop run in the same JVM as the
 * baseline the wide implementation is compared with (a ratio, not an absolute figure).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class ChecksumBench {
    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    @Param({"64", "1500", "65536"})
    public int size;

    private Arena arena;
    private MemorySegment data;

    /** Bytes summed, reported as a rate by JMH. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Bytes {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() { bytes = 0; }
    }

    @Setup
    public void setup() {
        arena = Arena.ofConfined();
        data = arena.allocate(size, 64);
        SplittableRandom r = new SplittableRandom(size);
        for (long i = 0; i < size; i++) data.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt());
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public int wide(Bytes b) {
        b.bytes += size;
        return Checksum.checksum(data, 0, size);
    }

    @Benchmark
    public int naive16(Bytes b) {
        b.bytes += size;
        long s = 0;
        int n = size & ~1;
        for (int i = 0; i < n; i += 2) s += Short.toUnsignedInt(data.get(BE16, i));
        if ((size & 1) != 0) s += (data.get(ValueLayout.JAVA_BYTE, size - 1) & 0xff) << 8;
        return Checksum.finish(s);
    }
}
