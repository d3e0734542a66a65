package ringlink.bench.memif;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
import ringlink.memif.MemifConfig;
import ringlink.memif.MemifInPlaceBatch;
import ringlink.memif.MemifInterface;
import ringlink.memif.MemifLink;
import ringlink.packet.PacketBatch;

/**
 * CPU cost per packet of the memif data path without a second process or scheduling noise: our
 * client and our server in one JVM, one thread moving a batch of 32 frames through one ring and
 * taking it off the other end, per direction: {@code s2m} (client TX into its own buffers, server
 * RX copying out), {@code s2mInPlace} (the same, server RX lending in place: no payload copy),
 * {@code m2s} (server TX into the buffers the client posted, client RX copying out and reposting).
 * Each operation is one packet across both ends. Complements bench/memif.sh, which measures
 * against DPDK testpmd in another process.
 *
 * <pre>java -cp ... org.openjdk.jmh.Main MemifLinkJmh -f 1 -wi 3 -i 5 [-prof gc]</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--illegal-native-access=deny"})
public class MemifLinkJmh {
    static final int BATCH = 32;

    @Param({"64", "1500"})
    int size;

    Path sock;
    MemifInterface server, client;
    MemifLink srv, cli;
    PacketBatch out, in;
    MemifInPlaceBatch lent;

    @Setup(Level.Trial)
    public void setup() throws IOException, InterruptedException {
        sock = Files.createTempDirectory("rlmifjmh").resolve("jmh.sock");
        server = MemifInterface.open(MemifConfig.defaults(sock.toString()).withServer(true));
        client = MemifInterface.open(MemifConfig.defaults(sock.toString()));
        if (!client.awaitConnected(10, TimeUnit.SECONDS) || !server.awaitConnected(10, TimeUnit.SECONDS)) {
            throw new IOException("not connected: " + client.lastError() + " / " + server.lastError());
        }
        srv = server.link(0);
        cli = client.link(0);
        out = new PacketBatch(BATCH, 2048);
        in = new PacketBatch(BATCH, 2048);
        lent = new MemifInPlaceBatch(BATCH);
        for (int i = 0; i < BATCH; i++) out.setLength(out.add(), size);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        client.close();
        server.close();
        out.close();
        in.close();
        lent.close();
        Files.deleteIfExists(sock);
        Files.deleteIfExists(sock.getParent());
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int s2m() throws IOException {
        int n = cli.transmit(out);
        in.clear();
        return n + srv.receive(in);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int s2mInPlace() throws IOException {
        int n = cli.transmit(out);
        int k = srv.receiveInPlace(lent);
        srv.releaseInPlace(lent);
        return n + k;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int m2s() throws IOException {
        int n = srv.transmit(out);
        in.clear();
        return n + cli.receive(in);
    }
}
