package ringlink.bench.memif;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import ringlink.memif.MemifConfig;
import ringlink.memif.MemifInterface;
import ringlink.memif.MemifLink;
import ringlink.packet.PacketBatch;
import ringlink.vhostuser.Testpmd;

/**
 * memif throughput: Ringlink ↔ testpmd beside testpmd ↔ testpmd, same sizes, same run.
 * <ul>
 * <li><b>rx</b>: testpmd (memif client, CPU 0) {@code txonly} → our server link (CPU 1), we count
 *     what we receive; reference: testpmd (memif server, CPU 1) {@code rxonly}, its RX counter.</li>
 * <li><b>tx</b>: our server link (CPU 1) transmits as fast as the ring takes it → testpmd (client,
 *     CPU 0) {@code rxonly}, its RX counter; reference: testpmd server {@code txonly} → the same.</li>
 * </ul>
 * Prints "dir size ours-Mpps dpdk-Mpps ratio" rows. Usage:
 * {@code MemifBench [seconds=5] [warmup=4000] [sizes=64,1500] [dirs=rx,tx]} (bench/memif.sh).
 */
public final class MemifBench {
    private MemifBench() {}

    static long warmupMillis = 4000;
    static final String TAG = System.getProperty("rlmif.tag", "rlmifb");

    public static void main(String[] args) throws Exception {
        double seconds = 5;
        List<Integer> sizes = List.of(64, 1500);
        List<String> dirs = List.of("rx", "tx");
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "seconds" -> seconds = Double.parseDouble(kv[1]);
                case "sizes" -> sizes = java.util.Arrays.stream(kv[1].split(",")).map(Integer::valueOf).toList();
                case "dirs" -> dirs = List.of(kv[1].split(","));
                case "warmup" -> warmupMillis = Long.parseLong(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + a
                        + " (seconds=N warmup=MS sizes=64,1500 dirs=rx,tx)");
            }
        }
        List<String> rows = new ArrayList<>();
        for (String dir : dirs) {
            for (int size : sizes) {
                boolean rx = dir.equals("rx");
                double ours = rx ? oursRx(size, seconds) : oursTx(size, seconds);
                double dpdk = dpdkPair(rx, size, seconds);
                String row = String.format(Locale.ROOT, "%-4s %5d %10.3f %10.3f %7.2f", dir, size, ours, dpdk,
                        dpdk > 0 ? ours / dpdk : Double.NaN);
                rows.add(row);
                System.out.println(row);
            }
        }
        System.out.println();
        System.out.println("dir   size  ours Mpps  DPDK Mpps   ratio");
        rows.forEach(System.out::println);
    }

    static String client(Path sock) {
        return "net_memif0,role=client,socket=" + sock + ",socket-abstract=no";
    }

    /** testpmd client txonly → our server; Mpps we receive. */
    static double oursRx(int size, double seconds) throws Exception {
        Path sock = Path.of("/tmp/" + TAG + "-rx.sock");
        try (MemifInterface mif = MemifInterface.open(MemifConfig.defaults(sock.toString()).withServer(true));
             Testpmd pmd = Testpmd.start(TAG + "-c", "0@0,1@0", client(sock), 30_000, "--forward-mode=txonly",
                     "--txpkts=" + size)) {
            if (!mif.awaitConnected(20, java.util.concurrent.TimeUnit.SECONDS))
                    throw new IllegalStateException("testpmd did not connect: " + mif.lastError());
            MemifLink link = mif.link(0);
            AtomicLong count = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            Thread t = new Thread(() -> {
                try (PacketBatch b = new PacketBatch(64, 2048)) {
                    long c = 0;
                    while (!stop.get()) {
                        b.clear();
                        int got = link.receive(b);
                        c += got;
                        if (got == 0) Thread.onSpinWait();
                        count.setOpaque(c);
                    }
                } catch (Exception e) {
                    e.printStackTrace();
                }
            }, TAG + "-rx");
            t.start();
            pmd.command("start", 5000);
            Thread.sleep(warmupMillis);
            long c0 = count.getOpaque(), t0 = System.nanoTime();
            Thread.sleep((long) (seconds * 1000));
            long c1 = count.getOpaque(), t1 = System.nanoTime();
            pmd.command("stop", 5000);
            stop.set(true);
            t.join(5000);
            return (c1 - c0) / ((t1 - t0) / 1e9) / 1e6;
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    /** Our server → testpmd client rxonly; Mpps testpmd receives. */
    static double oursTx(int size, double seconds) throws Exception {
        Path sock = Path.of("/tmp/" + TAG + "-tx.sock");
        try (MemifInterface mif = MemifInterface.open(MemifConfig.defaults(sock.toString()).withServer(true));
             Testpmd pmd = Testpmd.start(TAG + "-c", "0@0,1@0", client(sock), 30_000, "--forward-mode=rxonly")) {
            if (!mif.awaitConnected(20, java.util.concurrent.TimeUnit.SECONDS))
                    throw new IllegalStateException("testpmd did not connect: " + mif.lastError());
            MemifLink link = mif.link(0);
            AtomicBoolean stop = new AtomicBoolean();
            pmd.command("start", 5000);
            Thread t = new Thread(() -> {
                try (PacketBatch b = new PacketBatch(32, 2048)) {
                    for (int k = 0; k < 32; k++) {
                        int i = b.add();
                        b.memory().asSlice(b.dataOffset(i), size).fill((byte) 0x5a);
                        b.memory().asSlice(b.dataOffset(i), 6).fill((byte) 0xff);
                        b.setLength(i, size);
                    }
                    while (!stop.get()) {
                        if (link.transmit(b) == 0) Thread.onSpinWait();
                    }
                } catch (Exception e) {
                    e.printStackTrace();
                }
            }, TAG + "-tx");
            t.start();
            Thread.sleep(warmupMillis);
            long c0 = pmd.rxPackets(), t0 = System.nanoTime();
            Thread.sleep((long) (seconds * 1000));
            long c1 = pmd.rxPackets(), t1 = System.nanoTime();
            stop.set(true);
            t.join(5000);
            pmd.command("stop", 5000);
            return (c1 - c0) / ((t1 - t0) / 1e9) / 1e6;
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    /**
     * testpmd server (CPU 1) ↔ testpmd client (CPU 0): rx = client txonly → server rxonly; tx = server txonly → client
     * rxonly.
     */
    static double dpdkPair(boolean rx, int size, double seconds) throws Exception {
        Path sock = Path.of("/tmp/" + TAG + "-ref.sock");
        Files.deleteIfExists(sock);
        try (Testpmd server = Testpmd.start(TAG + "-s", "0@1,1@1",
                "net_memif0,role=server,socket=" + sock + ",socket-abstract=no", 30_000,
                "--forward-mode=" + (rx ? "rxonly" : "txonly"), "--txpkts=" + size);
             Testpmd cli = Testpmd.start(TAG + "-c", "0@0,1@0", client(sock), 30_000,
                     "--forward-mode=" + (rx ? "txonly" : "rxonly"), "--txpkts=" + size)) {
            Testpmd counter = rx ? server : cli;
            server.command("start", 5000);
            cli.command("start", 5000);
            Thread.sleep(warmupMillis);
            long c0 = counter.rxPackets(), t0 = System.nanoTime();
            Thread.sleep((long) (seconds * 1000));
            long c1 = counter.rxPackets(), t1 = System.nanoTime();
            server.command("stop", 5000);
            cli.command("stop", 5000);
            return (c1 - c0) / ((t1 - t0) / 1e9) / 1e6;
        } finally {
            Files.deleteIfExists(sock);
        }
    }
}
