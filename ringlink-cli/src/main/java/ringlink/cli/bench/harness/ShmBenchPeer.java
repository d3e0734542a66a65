package ringlink.cli.bench.harness;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;
import ringlink.shm.ShmLink;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;

/**
 * The Java side of {@link ShmBench} in its own JVM (the Java twin of the Go peer's bench mode):
 * {@code --role server|client --sock PATH --bench send|recv [--size B] [--seconds T] [--warmup T]}.
 * The sender sends fixed-size packets as fast as it can; the receiver copies each out (as any
 * consumer must) and prints {@code RESULT ... pps=... gbps=...} over the window after the warm-up.
 */
public final class ShmBenchPeer {
    private ShmBenchPeer() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) throw new IllegalArgumentException("bad argument " + args[i]);
            a.put(args[i].substring(2), args[i + 1]);
        }
        String role = a.getOrDefault("role", "client");
        int size = Integer.parseInt(a.getOrDefault("size", "64"));
        String spec = "shm:" + a.get("sock") + "?role=" + role + "&mtu=" + (9014 - 14) + "&buffer=2048";
        try (Link link = Links.open(spec)) {
            bench((ShmLink) link, a.getOrDefault("bench", "recv"), size,
                    Double.parseDouble(a.getOrDefault("seconds", "2")),
                    Double.parseDouble(a.getOrDefault("warmup", "2")));
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    static void bench(ShmLink link, String mode, int size, double seconds, double warmup) throws IOException {
        try (PacketBatch b = new PacketBatch(256, Math.max(size, link.maxReceiveSize()) + 64);
                PollSet ps = new PollSet(1)) {
            if (mode.equals("send")) {
                for (int i = 0; i < b.capacity(); i++) {
                    int j = b.add();
                    for (int k = 0; k < size; k++)
                            b.memory().set(ValueLayout.JAVA_BYTE, b.dataOffset(j) + k, (byte) (k * 31 + i));
                    b.setLength(j, size);
                }
                int idle = 0;
                while (link.isOpen()) {
                    int from = 0;
                    try {
                        while (from < b.count()) {
                            int n = link.transmit(b, from, b.count());
                            // Spin a little, then give the core away: the machine may have fewer
                            // cores than busy threads (Go's sender spins with runtime.Gosched).
                            if (n == 0 && (++idle & 63) == 0) Thread.yield();
                            else if (n == 0) Thread.onSpinWait();
                            from += n;
                        }
                    } catch (LinkClosedException e) {
                        return; // the receiver finished
                    }
                }
                return;
            }
            ps.add(link.readyFd(), PollfdLayout.POLLIN);
            long packets = 0, bytes = 0, start = 0, limit = (long) (seconds * 1e9);
            long first = 0, warm = (long) (warmup * 1e9);
            boolean measuring = false;
            while (true) {
                b.clear();
                int n = link.receive(b);
                if (n == 0) {
                    if (link.prepareToWait()) {
                        ps.poll(5);
                        link.finishWait();
                    }
                    continue;
                }
                if (!measuring) {
                    // Until the JIT has compiled the hot paths (and the peer's), nothing counts.
                    long now = System.nanoTime();
                    if (first == 0) first = now;
                    if (now - first < warm) continue;
                    measuring = true;
                    start = now;
                    continue;
                }
                packets += n;
                bytes += b.totalBytes();
                if ((packets & 0x3ff) < n && System.nanoTime() - start >= limit) break;
            }
            double el = (System.nanoTime() - start) / 1e9;
            System.out.printf("RESULT impl=java packets=%d bytes=%d seconds=%.3f pps=%.0f gbps=%.3f%n", packets, bytes,
                    el,
                    packets / el, bytes * 8 / el / 1e9);
            System.out.flush();
        }
    }
}
