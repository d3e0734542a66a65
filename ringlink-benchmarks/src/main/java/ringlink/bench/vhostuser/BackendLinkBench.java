package ringlink.bench.vhostuser;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;
import ringlink.packet.PacketBatch;
import ringlink.vhostuser.BackendConfig;
import ringlink.vhostuser.BackendLink;
import ringlink.vhostuser.FrontendConfig;
import ringlink.vhostuser.FrontendLink;
import ringlink.vhostuser.VhostUserBackend;
import ringlink.vhostuser.VhostUserFrontend;

/**
 * The back-end's data path per packet, on one thread and without a peer process: our own
 * front-end (the driver side, in-process over a Unix socket for the setup only) puts a batch of
 * 32 packets on a ring, our back-end's {@link BackendLink} takes them ({@code rx}: the guest's TX
 * queue, {@link BackendLink#receive}) or fills the guest's RX queue ({@code tx}:
 * {@link BackendLink#transmit}) and the front-end takes them back. One operation is one batch;
 * divide by 32 for a packet. Both sides' cost is in the figure, so it is a relative measure of
 * a device-side change (run it before and after, with {@code -prof gc} to see allocation), not
 * a figure to compare with DPDK.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class BackendLinkBench {
    static final int BATCH = 32;

    @Param({"split", "packed"})
    public String ring;

    @Param({"64", "1500"})
    public int size;

    private Path sock;
    private VhostUserBackend be;
    private VhostUserFrontend fe;
    private BackendLink bl;
    private FrontendLink fl;
    private PacketBatch out, in;

    @Setup
    public void setup() throws Exception {
        sock = Path.of("/tmp/rlvp-jmh-" + ring + size + "-" + ProcessHandle.current().pid() + ".sock");
        Files.deleteIfExists(sock);
        be = VhostUserBackend.listen(sock, BackendConfig.defaults());
        fe = VhostUserFrontend.connect(sock, FrontendConfig.defaults().withPacked(ring.equals("packed")));
        if (!be.awaitReady(1, 10_000)) throw new IllegalStateException("rings not started: " + be.lastError());
        bl = be.link(0);
        fl = fe.link(0);
        out = new PacketBatch(BATCH, 2048);
        in = new PacketBatch(BATCH, 2048);
        for (int k = 0; k < BATCH; k++) {
            int i = out.add();
            out.memory().asSlice(out.dataOffset(i), size).fill((byte) 0x5a);
            out.setLength(i, size);
        }
    }

    @TearDown
    public void tearDown() throws Exception {
        fe.close();
        be.close();
        out.close();
        in.close();
        Files.deleteIfExists(sock);
    }

    /** Front-end transmits a batch, the back-end receives it: the rx direction of VhostUserBench. */
    @Benchmark
    public int rx() throws Exception {
        int sent = fl.transmit(out);
        int got = 0;
        while (got < sent) {
            in.clear();
            got += bl.receive(in);
        }
        return got;
    }

    /** The back-end transmits a batch, the front-end receives (and refills): the tx direction. */
    @Benchmark
    public int tx() throws Exception {
        int sent = bl.transmit(out);
        int got = 0;
        while (got < sent) {
            in.clear();
            got += fl.receive(in);
        }
        return got;
    }
}
