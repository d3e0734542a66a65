package ringlink.shm;

import java.util.HashMap;
import java.util.Map;
import ringlink.link.Link;
import ringlink.link.Links;

/**
 * The Java twin of src/test/go/shmpeer, run in a second JVM by the tests:
 * {@code --role server|client --sock PATH [--count N --expect N --txseed S --rxseed S --maxlen L]
 * [--hang]}. (The benchmark's bench mode is ringlink-cli's {@code ringlink.cli.bench.harness.ShmBenchPeer}.)
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
}
