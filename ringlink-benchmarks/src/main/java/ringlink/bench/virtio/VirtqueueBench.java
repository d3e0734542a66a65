package ringlink.bench.virtio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;
import ringlink.packet.PacketBatch;
import ringlink.virtio.*;
import ringlink.virtio.net.NetDeviceTx;
import ringlink.virtio.net.NetDriverTx;

/**
 * Virtqueue round trips on one thread (so the figure is the CPU cost of both sides, without
 * cross-core cache traffic): per chain, driver offer (payload copied into its buffer) → device
 * pop (payload copied out) → device push → driver collect, in batches of 32 with one publish per
 * batch on each side. Reported per chain; a "side" costs about half of it.
 *
 * <p>{@code net} adds the virtio-net layer: driver TX (header encode + copy) → device TX
 * (header decode into a PacketBatch + copy).
 *
 * <p>Run: {@code java -cp target/test-classes:target/classes:<deps> org.openjdk.jmh.Main VirtqueueBench}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class VirtqueueBench {
    static final int BATCH = 32;

    @Param({"split", "packed"})
    public String ring;

    @Param({"64", "1500"})
    public int payload;

    @Param({"false", "true"})
    public boolean eventIdx;

    private Arena arena;
    private VirtqueueDriver driver;
    private VirtqueueDevice device;
    private MemorySegment bufMem;
    private long bufGpa;
    private MemorySegment src;
    private MemorySegment sink;
    private final DescriptorChain[] chains = new DescriptorChain[BATCH];
    private final int[] ids = new int[BATCH];
    private final int[] lens = new int[BATCH];
    private PacketBatch txBatch, rxBatch;
    private NetDriverTx netDriver;
    private NetDeviceTx netDevice;
    private VirtqueueDriver netQd;
    private VirtqueueDevice netQv;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(64L << 20, 4096);
        GuestMemory.Region region = GuestMemory.Region.of(0x1_0000_0000L, seg);
        GuestMemory mem = GuestMemory.of(region);
        GuestAllocator alloc = new GuestAllocator(region);
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1);
        if (eventIdx) f = f.with(VirtioFeature.EVENT_IDX);
        int size = 256;
        if (ring.equals("split")) {
            SplitRing r = SplitRing.allocate(mem, alloc, size);
            driver = new SplitQueueDriver(r, f);
            device = new SplitQueueDevice(r, mem, f);
            SplitRing r2 = SplitRing.allocate(mem, alloc, size);
            netQd = new SplitQueueDriver(r2, f);
            netQv = new SplitQueueDevice(r2, mem, f);
        } else {
            PackedRing r = PackedRing.allocate(mem, alloc, size);
            driver = new PackedQueueDriver(r, f);
            device = new PackedQueueDevice(r, mem, f);
            PackedRing r2 = PackedRing.allocate(mem, alloc, size);
            netQd = new PackedQueueDriver(r2, f);
            netQv = new PackedQueueDevice(r2, mem, f);
        }
        bufGpa = alloc.allocate(2048L * size, 64);
        bufMem = mem.slice(bufGpa, 2048L * size);
        src = arena.allocate(2048, 64);
        sink = arena.allocate(2048, 64);
        for (int i = 0; i < BATCH; i++) chains[i] = new DescriptorChain();
        device.disableNotifications();
        driver.disableNotifications();
        txBatch = new PacketBatch(BATCH, 2048);
        rxBatch = new PacketBatch(BATCH, 2048);
        for (int i = 0; i < BATCH; i++) txBatch.setLength(txBatch.add(), payload);
        netDriver = new NetDriverTx(netQd, alloc, 2048, f);
        netDevice = new NetDeviceTx(netQv, f);
        netQv.disableNotifications();
        netQd.disableNotifications();
    }

    @TearDown
    public void tearDown() {
        txBatch.close();
        rxBatch.close();
        arena.close();
    }

    /** Raw ring: one readable descriptor per chain, payload copied in by the driver and out by the device. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int roundTrip() {
        int slot = 0;
        for (int i = 0; i < BATCH; i++) {
            long off = 2048L * slot++;
            MemorySegment.copy(src, 0, bufMem, off, payload);
            driver.offer(bufGpa + off, payload, false);
        }
        driver.publish();
        int n = device.pop(chains, BATCH);
        for (int i = 0; i < n; i++) {
            DescriptorChain c = chains[i];
            MemorySegment.copy(c.memory(0), c.offset(0), sink, 0, c.length(0));
            device.push(c, 0);
        }
        device.publish();
        return driver.collect(ids, lens, BATCH);
    }

    /** virtio-net TX path: driver header+copy → device header decode+copy into a PacketBatch. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int netTx() {
        netDriver.transmit(txBatch, 0);
        netQd.publish();
        rxBatch.clear();
        netDevice.receive(rxBatch, BATCH);
        netQv.publish();
        return netDriver.reclaim();
    }
}
