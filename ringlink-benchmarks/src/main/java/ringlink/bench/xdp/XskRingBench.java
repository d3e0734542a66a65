package ringlink.bench.xdp;

import java.io.IOException;
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
import ringlink.packet.PacketBatch;
import ringlink.xdp.XdpLink;
import ringlink.xdp.XskSimulator;

/**
 * The Java side of the AF_XDP rings without the kernel: {@link XskSimulator} plays the kernel
 * (fill → RX, TX → completion) in the same thread, so the figure is an upper bound on what
 * {@link XdpLink#receive}/{@link XdpLink#transmit} cost per packet (ring indices, bounds checks,
 * the copy into/out of the caller's batch). Compare with the kernel's own copy-mode cost per
 * packet in bench/xdp.sh.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class XskRingBench {
    static final int BATCH = 64;

    @Param({"64", "1514"})
    int size;

    XskSimulator sim;
    XdpLink link;
    PacketBatch rxBatch, txBatch;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        sim = XskSimulator.create(4096, 2048, 2048);
        link = sim.link();
        rxBatch = new PacketBatch(BATCH, 2048);
        txBatch = new PacketBatch(BATCH, 2048);
        for (int i = 0; i < BATCH; i++) txBatch.setLength(txBatch.add(), size);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        sim.close();
        rxBatch.close();
        txBatch.close();
    }

    /** Per packet: one batch of 64 delivered by the "kernel" and received into a PacketBatch. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int receive() throws IOException {
        sim.deliver(BATCH, size);
        rxBatch.clear();
        return link.receive(rxBatch);
    }

    /** Per packet: one batch of 64 transmitted and completed by the "kernel". */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int transmit() throws IOException {
        int n = link.transmit(txBatch);
        sim.complete();
        return n;
    }
}
