package ringlink.tun;

import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assertions;

/** Runs an iperf3 client in one namespace against a one-shot server in another. */
final class Iperf {
    private Iperf() {}

    /** Result of one run: receiver's bits per second and the JSON. */
    record Result(double bitsPerSecond, String json) {
        double gbps() { return bitsPerSecond / 1e9; }
    }

    /**
     * Runs {@code iperf3 -c server -t seconds [extra...]} from {@code client}, the server side
     * ({@code iperf3 -s -1}) in {@code serverNs}. Fails the test if either side reports an error.
     */
    static Result run(Netns client, Netns serverNs, String server, int seconds, String... extra) throws Exception {
        Process srv = new ProcessBuilder(serverNs.prefixed("iperf3", "-s", "-1", "-p", "5201", "--forceflush"))
                .redirectErrorStream(true).start();
        try {
            // the server prints "Server listening" once bound; the client needs it to be there
            waitForListening(srv);
            java.util.List<String> c = new java.util.ArrayList<>(java.util.List.of("iperf3", "-c", server, "-p", "5201",
                    "-t", Integer.toString(seconds), "-J", "--connect-timeout", "3000"));
            c.addAll(java.util.List.of(extra));
            Process p = new ProcessBuilder(client.prefixed(c.toArray(String[]::new))).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(seconds + 20L, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                Assertions.fail("iperf3 client did not finish");
            }
            String json = new String(out);
            Assertions.assertEquals(0, p.exitValue(), "iperf3 failed: " + json);
            Assertions.assertFalse(json.contains("\"error\""), "iperf3 reported an error: " + json);
            return new Result(receiverBps(json), json);
        } finally {
            srv.destroy();
            if (!srv.waitFor(5, TimeUnit.SECONDS)) srv.destroyForcibly();
        }
    }

    private static void waitForListening(Process srv) throws Exception {
        var in = srv.getInputStream();
        StringBuilder sb = new StringBuilder();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            while (in.available() > 0) sb.append((char) in.read());
            if (sb.indexOf("listening") >= 0) return;
            if (!srv.isAlive()) Assertions.fail("iperf3 server exited: " + sb);
            Thread.sleep(20);
        }
        Assertions.fail("iperf3 server not listening after 10 s: " + sb);
    }

    /** sum_received (TCP) or sum (UDP) bits_per_second of the end section. */
    static double receiverBps(String json) {
        for (String key : new String[] {"\"sum_received\"", "\"sum\""}) {
            int k = json.lastIndexOf(key);
            if (k < 0) continue;
            Matcher m = Pattern.compile("\"bits_per_second\"\\s*:\\s*([0-9.eE+]+)").matcher(json.substring(k));
            if (m.find()) return Double.parseDouble(m.group(1));
        }
        return 0;
    }
}
