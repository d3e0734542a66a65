package ringlink.sw;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import ringlink.link.Layer;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.PacketBatch;

/**
 * The switch's per-packet cost on one thread, without the transports' cost dominating:
 * a batch of 32 frames A→B goes through {@code Poller.forward} (learning, lookup, one run, one
 * transmit into an in-memory pair), and the pair is drained by moving its consumer index (its
 * {@code receive} copies). Reported in packets per second ({@code @OperationsPerInvocation}).
 * With {@code vlan=true} the egress port is a trunk: every packet is tagged and untagged around
 * the transmit.
 *
 * <pre>
 * ./mvnw -q -o test-compile dependency:build-classpath -Dmdep.outputFile=cp.txt
 * java --enable-native-access=ALL-UNNAMED -cp target/test-classes:target/classes:$(cat cp.txt) \
 *     org.openjdk.jmh.Main SwitchForwardBench
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class SwitchForwardBench {
    static final int BATCH = 32;
    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    @Param({"64", "1500"})
    int size;

    @Param({"false", "true"})
    boolean vlan;

    PairLink[] a, b;
    Switch sw;
    Poller poller;
    Port in;
    PacketBatch sink;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        a = PairLink.create("bench-a", 4096, 2048 + 64, Layer.L2, 1500, Offloads.ALL);
        b = PairLink.create("bench-b", 4096, 2048 + 64, Layer.L2, 1500, Offloads.ALL);
        Switch.Builder sb = Switch.builder().threads(1).batchSize(BATCH).vlanAware(vlan);
        sw = (vlan ? sb.port(a[0], PortVlan.access(10)).port(b[0], PortVlan.trunk(-1, 10)) : sb.port(a[0]).port(b[0]))
                .build();
        poller = sw.unstartedPoller();
        in = sw.portState(0);
        sink = new PacketBatch(256, 2048 + 64);
        // B is learned (as if it had sent a frame from port 1): the batch is switched, not flooded.
        sw.table.learn(MacTable.key(0x02_00_00_00_00_0bL, vlan ? 10 : 0), 1, sw.nowMs());
        PacketBatch rx = poller.receiveBatch();
        rx.clear();
        for (int k = 0; k < BATCH; k++) {
            int i = rx.add();
            MemorySegment m = rx.memory();
            long off = rx.dataOffset(i);
            m.asSlice(off, size).fill((byte) 0);
            m.set(BE32, off, 0x0200_0000);
            m.set(BE16, off + 4, (short) 0x000b);
            m.set(BE32, off + 6, 0x0200_0000);
            m.set(BE16, off + 10, (short) 0x000a);
            m.set(BE16, off + 12, (short) 0x0800);
            rx.setLength(i, size);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void forwardBatch() throws Exception {
        poller.forward(in, BATCH);
        sink.clear();
        b[1].receive(sink);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        sw.close();
        poller.free();
        a[1].free();
        b[1].free();
        sink.close();
    }
}
