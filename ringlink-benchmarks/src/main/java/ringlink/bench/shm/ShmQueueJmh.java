package ringlink.bench.shm;

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
import ringlink.shm.QueueConfig;
import ringlink.shm.ShmHandshake;
import ringlink.shm.ShmLink;
import ringlink.sys.UnixSocket;

/**
 * CPU cost per packet of the sharedmem queues without scheduling noise: one thread transmits a
 * batch of 32 packets on one end and receives them on the other, for each direction (c2s: client
 * TX queue; s2c: server fills the client's posted buffers). Complements bench/shm.sh, which
 * measures two processes against gVisor.
 *
 * <pre>java -cp ... org.openjdk.jmh.Main ShmQueueJmh -f 1 -wi 3 -i 5</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--illegal-native-access=deny"})
public class ShmQueueJmh {
    static final int BATCH = 32;

    @Param({"64", "1500"})
    int size;

    ShmLink server, client;
    PacketBatch out, in;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        QueueConfig tx = QueueConfig.create("jmh-tx", QueueConfig.DEFAULT_DATA_SIZE, QueueConfig.DEFAULT_PIPE_SIZE);
        QueueConfig rx = QueueConfig.create("jmh-rx", QueueConfig.DEFAULT_DATA_SIZE, QueueConfig.DEFAULT_PIPE_SIZE);
        UnixSocket[] sp = UnixSocket.pair(UnixSocket.SOCK_STREAM);
        ShmHandshake.offer(sp[0], tx, rx, 1500);
        ShmHandshake.Offer o = ShmHandshake.receive(sp[1], 5000);
        server = ShmLink.open("jmh-server", ShmLink.Role.SERVER, tx, rx, ShmLink.Options.defaults(), sp[0], null);
        client = ShmLink.open("jmh-client", ShmLink.Role.CLIENT, o.tx(), o.rx(), ShmLink.Options.defaults(), sp[1],
                null);
        out = new PacketBatch(BATCH, 2048);
        in = new PacketBatch(BATCH, 2048);
        for (int i = 0; i < BATCH; i++) out.setLength(out.add(), size);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        client.close();
        server.close();
        out.close();
        in.close();
    }

    private int move(ShmLink from, ShmLink to) throws IOException {
        int sent = from.transmit(out);
        in.clear();
        int got = 0;
        while (got < sent) got += to.receive(in);
        return got;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int clientToServer() throws IOException {
        return move(client, server);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int serverToClient() throws IOException {
        return move(server, client);
    }
}
