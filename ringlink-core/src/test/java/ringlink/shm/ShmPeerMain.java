package ringlink.shm;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;

/**
 * The Java twin of src/test/go/shmpeer, run in a second JVM by the tests and the benchmark:
 * {@code --role server|client --sock PATH [--count N --expect N --txseed S --rxseed S --maxlen L]
 * [--bench send|recv --size B --seconds T] [--hang]}.
 */
public final class ShmPeerMain {
    private ShmPeerMain() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) throw new IllegalArgumentException("bad argument " + args[i]);
            String k = args[i].substring(2);
            if (k.equals("hang")) a.put(k, "true");
            else a.put(k, args[++i]);
        }
        String role = a.getOrDefault("role", "client");
        int maxLen = Integer.parseInt(a.getOrDefault("maxlen", "9014"));
        String spec = "shm:" + a.get("sock") + "?role=" + role + "&mtu=" + Math.max(68, maxLen - 14) + "&buffer="
                + a.getOrDefault("bufsize", "2048");
        try (Link link = Links.open(spec)) {
            ShmLink shm = (ShmLink) link;
            if (a.containsKey("hang")) {
                System.out.println("READY");
                System.out.flush();
                Thread.sleep(600_000); // until killed
                return;
            }
            String bench = a.get("bench");
            if (bench != null) {
                bench(shm, bench, Integer.parseInt(a.getOrDefault("size", "64")),
                        Double.parseDouble(a.getOrDefault("seconds", "2")),
                        Double.parseDouble(a.getOrDefault("warmup", "2")));
                return;
            }
            long count = Long.parseLong(a.getOrDefault("count", "1000"));
            long expect = Long.parseLong(a.getOrDefault("expect", "1000"));
            Traffic.Result r = Traffic.exchange(link, count, expect, Long.parseLong(a.getOrDefault("txseed", "2")),
                    Long.parseLong(a.getOrDefault("rxseed", "1")), maxLen, 170_000);
            System.out.println("OK role=" + role + " sent=" + r.sent() + " received=" + r.received());
            System.out.flush();
            shm.sayDone();
            for (int i = 0; i < 3000 && shm.isOpen() && !shm.peerDone(); i++) Thread.sleep(10);
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    /** Sends or receives fixed-size packets as fast as possible; the receiver prints the rate. */
    static void bench(ShmLink link, String mode, int size, double seconds, double warmup) throws IOException {
        try (PacketBatch b = new PacketBatch(256, Math.max(size, link.maxReceiveSize()) + 64);
                PollSet ps = new PollSet(1)) {
            if (mode.equals("send")) {
                for (int i = 0; i < b.capacity(); i++) {
                    int j = b.add();
                    java.lang.foreign.MemorySegment.copy(Traffic.REF, 0, b.memory(), b.dataOffset(j), size);
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
                    } catch (ringlink.link.LinkClosedException e) {
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
