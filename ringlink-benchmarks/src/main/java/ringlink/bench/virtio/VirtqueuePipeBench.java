package ringlink.bench.virtio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;
import ringlink.virtio.*;

/**
 * Driver and device on two threads over one ring (the real deployment shape, cross-core cache
 * traffic included): the driver copies the payload in and offers, the device pops, copies it out
 * and pushes, the driver collects; both sides busy-poll with notifications off, batches of 32.
 * The {@code chains} counter sums both threads' chains, so a side's rate is half of it (compare
 * that with a DPDK vhost backend's Mpps per core). Needs two otherwise idle cores to mean much.
 */
@State(Scope.Group)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class VirtqueuePipeBench {
    static final int BATCH = 32;
    static final int SIZE = 256;

    @Param({"split", "packed"})
    public String ring;

    @Param({"64", "1500"})
    public int payload;

    private Arena arena;
    private VirtqueueDriver driver;
    private VirtqueueDevice device;
    private MemorySegment bufMem;
    private long bufGpa;

    /** Chains handled by the thread, reported as a rate. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Chains {
        public long chains;

        @Setup(Level.Iteration)
        public void reset() { chains = 0; }
    }

    @State(Scope.Thread)
    public static class DriverLocal {
        final int[] ids = new int[SIZE];
        final int[] lens = new int[SIZE];
        final MemorySegment src = Arena.ofAuto().allocate(2048, 64);
        int slot;
    }

    @State(Scope.Thread)
    public static class DeviceLocal {
        final DescriptorChain[] chains = new DescriptorChain[BATCH];
        final MemorySegment sink = Arena.ofAuto().allocate(2048, 64);

        public DeviceLocal() {
            for (int i = 0; i < BATCH; i++) chains[i] = new DescriptorChain();
        }
    }

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(16L << 20, 4096);
        GuestMemory.Region region = GuestMemory.Region.of(0x1_0000_0000L, seg);
        GuestMemory mem = GuestMemory.of(region);
        GuestAllocator alloc = new GuestAllocator(region);
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.EVENT_IDX);
        if (ring.equals("packed")) f = f.with(VirtioFeature.RING_PACKED);
        driver = Virtqueues.driver(mem, alloc, f, SIZE, 0);
        device = Virtqueues.device(mem, f, SIZE, driver.descAddress(), driver.driverAreaAddress(),
                driver.deviceAreaAddress(),
                ring.equals("packed") ? Virtqueues.FRESH_PACKED_BASE : 0);
        bufGpa = alloc.allocate(2048L * SIZE, 64);
        bufMem = mem.slice(bufGpa, 2048L * SIZE);
        driver.disableNotifications();
        device.disableNotifications();
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    @Group("pipe")
    @GroupThreads(1)
    public void driver(DriverLocal l, Chains c) {
        for (int i = 0; i < BATCH && driver.freeDescriptors() > 0; i++) {
            // The device completes in order here, so a rotating slot is never still in flight.
            long off = 2048L * l.slot;
            l.slot = (l.slot + 1) % SIZE;
            MemorySegment.copy(l.src, 0, bufMem, off, payload);
            driver.offer(bufGpa + off, payload, false);
        }
        driver.publish();
        c.chains += driver.collect(l.ids, l.lens, SIZE);
    }

    @Benchmark
    @Group("pipe")
    @GroupThreads(1)
    public void device(DeviceLocal l, Chains c) {
        int n = device.pop(l.chains, BATCH);
        for (int i = 0; i < n; i++) {
            DescriptorChain ch = l.chains[i];
            MemorySegment.copy(ch.memory(0), ch.offset(0), l.sink, 0, ch.length(0));
            device.push(ch, 0);
        }
        device.publish();
        c.chains += n;
    }
}
