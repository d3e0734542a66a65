package ringlink.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import ringlink.cli.bench.PairTraffic;
import ringlink.cli.support.Json;
import ringlink.cli.support.Shell;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;
import ringlink.testing.Env;

/**
 * {@code ringlink switch --control --metrics} driven by the stock {@code ovs-appctl}, by
 * {@code ringlink ctl}, by raw misbehaving clients, and scraped and checked by {@code promtool}.
 */
@Timeout(120)
class SwitchControlTest {
    /** Not the common pool: with two cores it has one thread, and the switch's call() takes it. */
    static final java.util.concurrent.ExecutorService THREADS =
            java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    @TempDir
    Path dir;
    Path sock;
    SwitchCommand cmd;
    CompletableFuture<Integer> done;
    Link a, b;
    final ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();

    @BeforeEach
    void start() throws Exception {
        a = Links.open("pair:rlctl-a");
        b = Links.open("pair:rlctl-b");
        sock = dir.resolve("run/sw.ctl");
        cmd = new SwitchCommand();
        cmd.out = new PrintStream(out, true);
        cmd.err = new PrintStream(err, true);
        done = CompletableFuture.supplyAsync(() -> new CommandLine(cmd).execute("--threads", "2", "--duration", "110",
                "--control", sock.toString(), "--metrics", "127.0.0.1:0", "pair:rlctl-a", "pair:rlctl-b"), THREADS);
        assertTrue(cmd.running.await(20, TimeUnit.SECONDS), "switch did not start: " + out + err);
    }

    @AfterEach
    void stop() throws Exception {
        cmd.stopper.run();
        a.close();
        b.close();
        done.get(30, TimeUnit.SECONDS);
        assertFalse(Files.exists(sock), "the socket file is removed at exit");
    }

    ringlink.sw.Switch Switch() {
        return cmd.current.get();
    }

    record Result(int rc, String out, String err) {}

    /** Reads replies one after another from a connection (several may arrive in one read). */
    static final class Replies {
        final SocketChannel ch;
        final Json.Framer f = new Json.Framer(1 << 20);
        final byte[] buf = new byte[4096];
        int off, len;

        Replies(SocketChannel ch) {
            this.ch = ch;
        }

        Map<?, ?> next() throws java.io.IOException {
            while (true) {
                if (off == len) {
                    len = ch.read(ByteBuffer.wrap(buf));
                    off = 0;
                    if (len < 0) return null;
                }
                off += f.feed(buf, off, len - off);
                if (f.complete()) return (Map<?, ?>) Json.parse(f.take());
            }
        }
    }

    static Result exec(String... command) throws Exception {
        Process p = new ProcessBuilder(command).start();
        p.getOutputStream().close();
        var o = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()), THREADS);
        var e = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()), THREADS);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out: " + String.join(" ", command));
        return new Result(p.exitValue(), o.get(), e.get());
    }

    static String readAll(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    Result appctl(String... args) throws Exception {
        Path appctl = Env.requireProgram("ovs-appctl", "openvswitch-common");
        String[] c = new String[args.length + 3];
        c[0] = appctl.toString();
        c[1] = "-t";
        c[2] = sock.toString();
        System.arraycopy(args, 0, c, 3, args.length);
        return exec(c);
    }

    Result ctl(String... args) {
        CtlCommand c = new CtlCommand();
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        c.out = new PrintStream(o, true);
        c.err = new PrintStream(e, true);
        String[] all = new String[args.length + 2];
        all[0] = "-t";
        all[1] = sock.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        int rc = new CommandLine(c).setStopAtPositional(true).execute(all);
        return new Result(rc, o.toString(), e.toString());
    }

    void trafficAtoB(int n) throws Exception {
        try (PacketBatch tx = new PacketBatch(n, 2048); PacketBatch rx = new PacketBatch(64, 70000)) {
            PairTraffic.frames(tx, n, 100, 0xffff_ffff_ffffL, PairTraffic.MAC_A);
            assertEquals(n, a.transmit(tx));
            int got = 0;
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (got < n && System.nanoTime() < deadline) {
                rx.clear();
                got += b.receive(rx);
                Thread.sleep(1);
            }
            assertEquals(n, got);
        }
    }

    @Test
    void ovsAppctlRunsEveryCommandAndSeesErrors() throws Exception {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock.getParent())));
        Result r = appctl("list-commands");
        assertEquals(0, r.rc(), r.toString());
        for (String c : List.of("fdb/show", "fdb/flush", "port/add", "port/del", "port/show", "port/set", "stats/show",
                "tunnel/show", "version")) {
            assertTrue(r.out().contains("  " + c), c + " missing:\n" + r.out());
        }
        r = appctl("version");
        assertEquals(0, r.rc(), r.toString());
        assertTrue(r.out().startsWith("ringlink "), r.out());

        trafficAtoB(8);
        r = appctl("fdb/show");
        assertEquals(0, r.rc(), r.toString());
        assertEquals(" port  VLAN  MAC                Age", r.out().lines().findFirst().orElseThrow());
        assertTrue(r.out().matches("(?s).*\\n    0     0  02:72:6c:00:00:0a +\\d+\\n.*"), r.out());
        r = appctl("fdb/show", "--json");
        List<?> fdb = (List<?>) Json.parse(r.out());
        assertEquals(1, fdb.size());
        assertEquals("02:72:6c:00:00:0a", ((Map<?, ?>) fdb.getFirst()).get("mac"));
        r = appctl("fdb/flush");
        assertEquals("table successfully flushed\n", r.out());
        assertEquals(1, appctl("fdb/show").out().lines().count());

        // A port added and removed through ovs-appctl; traffic reaches it in between.
        r = appctl("port/add", "pair:rlctl-c");
        assertEquals(0, r.rc(), r.toString());
        assertTrue(r.out().startsWith("port 2: pair:rlctl-c"), r.out());
        try (Link c = Links.open("pair:rlctl-c"); PacketBatch rx = new PacketBatch(64, 70000)) {
            trafficAtoB(4);
            int got = 0;
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (got < 4 && System.nanoTime() < deadline) {
                rx.clear();
                got += c.receive(rx);
                Thread.sleep(1);
            }
            assertEquals(4, got, "the flood reaches the added port");
            r = appctl("port/show", "pair:rlctl-c");
            assertTrue(r.out().matches("(?s)port 2: pair:rlctl-c\\[\\d] \\(pair\\) up\n.*"), r.out());
            r = appctl("port/del", "2");
            assertEquals(0, r.rc(), r.toString());
            assertFalse(Switch().hasPort(2));
        }

        // A vxlan port (unprivileged UDP, a kernel-chosen local port): tunnel/show lists its static entry.
        assertEquals("no tunnel ports\n", appctl("tunnel/show").out());
        r = appctl("port/add", "vxlan:127.0.0.1?vni=5&port=0&fdb=02:00:00:00:00:99@127.0.0.2");
        assertEquals(0, r.rc(), r.toString());
        String vx = r.out().substring("port ".length(), r.out().indexOf(':'));
        r = appctl("tunnel/show", vx);
        assertEquals(0, r.rc(), r.toString());
        assertTrue(r.out().contains("(vxlan, vni 5)")
                && r.out().matches("(?s).*02:00:00:00:00:99  127\\.0\\.0\\.2:4789 +static.*"), r.out());
        List<?> tj = (List<?>) Json.parse(appctl("tunnel/show", "--json").out());
        Map<?, ?> e = (Map<?, ?>) ((List<?>) ((Map<?, ?>) tj.getFirst()).get("fdb")).getFirst();
        assertEquals(Map.of("mac", "02:00:00:00:00:99", "address", "127.0.0.2", "static", true),
                Map.of("mac", e.get("mac"),
                "address", e.get("address"), "static", e.get("static")));
        r = appctl("tunnel/show", "0");
        assertEquals(2, r.rc(), "port 0 is no tunnel");
        assertTrue(r.err().contains("not a tunnel"), r.err());
        assertEquals(0, appctl("port/del", vx).rc());

        // Errors: the stock client prints the message and exits 2.
        r = appctl("no/such");
        assertEquals(2, r.rc(), r.toString());
        assertTrue(r.err().contains("\"no/such\" is not a valid command"), r.err());
        r = appctl("port/del", "nope");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("no such port: nope"), r.err());
        r = appctl("port/add", "nosuchscheme:x");
        assertEquals(2, r.rc());
        r = appctl("port/set", "0", "mac-limit=0");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("mac-limit 0 not in"), r.err());
        r = appctl("port/set", "0", "mac-limit=many");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("not a number"), r.err());
        r = appctl("port/set", "0", "vlan=10");
        assertEquals(2, r.rc(), "not VLAN-aware");
        assertTrue(r.err().contains("VLAN-aware"), r.err());
        r = appctl("fdb/show", "extra");
        assertEquals(2, r.rc());
        r = appctl("stats/show");
        assertEquals(0, r.rc(), r.toString());
        assertTrue(r.out().startsWith("ports: 2 (2 up)"), r.out());
    }

    /** Sends {@code n} broadcast frames into port a from {@code n} different source addresses. */
    void sourcesOnA(int n, int first) throws Exception {
        try (PacketBatch tx = new PacketBatch(1, 2048)) {
            for (int k = 0; k < n; k++) {
                tx.clear();
                PairTraffic.frames(tx, 1, 100, 0xffff_ffff_ffffL, 0x02_00_00_77_00_00L + first + k);
                assertEquals(1, a.transmit(tx));
            }
        }
    }

    long fdbOn(int port) throws Exception {
        return ((List<?>) Json.parse(appctl("fdb/show", "--json").out())).stream()
                .filter(e -> ((Number) ((Map<?, ?>) e).get("port")).intValue() == port).count();
    }

    void awaitFdbOn(int port, long n) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (fdbOn(port) != n && System.nanoTime() < deadline) Thread.sleep(20);
        assertEquals(n, fdbOn(port), appctl("fdb/show").out());
    }

    @Test
    void ovsAppctlSetsAPortsMacLimitAtRunTime() throws Exception {
        Map<?, ?> p0 = (Map<?, ?>) ((List<?>) Json.parse(appctl("port/show", "--json", "0").out())).getFirst();
        assertEquals((long) ringlink.sw.Switch.DEFAULT_MAC_LIMIT, p0.get("mac_limit"));
        sourcesOnA(5, 0);
        awaitFdbOn(0, 5);
        // Lowered below what the port holds: its addresses are forgotten, it relearns up to 2.
        Result r = appctl("port/set", "0", "mac-limit=2");
        assertEquals(0, r.rc(), r.toString());
        assertTrue(r.out().contains("mac-limit 2"), r.out());
        assertEquals(2, Switch().macLimit(0));
        assertEquals(0, fdbOn(0), "lowering below the addresses held forgets them");
        sourcesOnA(5, 10);
        awaitFdbOn(0, 2);
        p0 = (Map<?, ?>) ((List<?>) Json.parse(appctl("port/show", "--json", "0").out())).getFirst();
        assertEquals(2L, p0.get("mac_limit"));
        assertEquals(2L, p0.get("macs"));
        assertEquals(3L, p0.get("unlearned"), "the three sources past the limit are counted");
        assertTrue(appctl("port/show", "0").out().contains("addresses 2 of mac-limit 2, not learned at the limit 3"),
                appctl("port/show", "0").out());
        // Raised again: the port learns at once, without forgetting what it holds.
        r = appctl("port/set", "pair:rlctl-a", "mac-limit=100");
        assertEquals(0, r.rc(), r.toString());
        sourcesOnA(3, 20);
        awaitFdbOn(0, 5);
        // port/add with port.maclimit in the spec.
        r = appctl("port/add", "pair:rlctl-m?port.maclimit=7");
        assertEquals(0, r.rc(), r.toString());
        assertTrue(r.out().startsWith("port 2: "), r.out());
        assertEquals(7, Switch().macLimit(2));
        r = appctl("port/add", "pair:rlctl-n?port.allow=02:00:00:00:00:01");
        assertEquals(2, r.rc(), r.toString());
        assertTrue(r.err().contains("port.allow"), r.err());
    }

    @Test
    void portAddOpensEveryQueueOfAMultiQueueSpec() throws Exception {
        Env.requireTun();
        int before = 0;
        for (var p : Switch().pollerStats()) before += p.ports();
        String tap = "rlctlq0";
        Result r = appctl("port/add", "tap:" + tap + "?queues=4&up=false");
        try {
            assertEquals(0, r.rc(), r.toString());
            assertTrue(r.out().contains("4 queues"), r.out());
            int idx = Switch().indexOf("tap:" + tap);
            assertTrue(idx >= 0, "the port is named after the device: " + r.out());
            assertEquals(4, Switch().device(idx).queueCount());
            Map<?, ?> p =
                    (Map<?, ?>) ((List<?>) Json.parse(appctl("port/show", "--json", "tap:" + tap).out())).getFirst();
            assertEquals(4L, p.get("queues"));
            assertEquals("tap", p.get("transport"));
            assertEquals("tap:" + tap + "?queues=4&up=false", p.get("spec"));
            // Every receive queue went to a polling thread, not only queue 0.
            int after = 0;
            for (var ps : Switch().pollerStats()) after += ps.ports();
            assertEquals(before + 4, after, "receive queues polled");
            assertEquals(4, Switch().stats().ports().stream().filter(ps -> ps.name().equals("tap:" + tap)).findFirst()
                    .orElseThrow().queues().size());
            assertTrue(appctl("port/show", "tap:" + tap).out().contains("queues 4"));
        } finally {
            r = appctl("port/del", "tap:" + tap);
            assertEquals(0, r.rc(), r.toString());
        }
        assertFalse(Shell.run(10, "ip", "link", "show", tap).ok(), "the device is gone with the port");
    }

    @Test
    void portAddServesEveryQueuePairOfAVhostUserPort() throws Exception {
        Path vs = dir.resolve("rlctl-vu.sock");
        Result r = appctl("port/add", "vhost-user:" + vs + "?queues=2");
        assertEquals(0, r.rc(), r.toString());
        assertTrue(r.out().contains("2 queues"), r.out());
        assertTrue(r.out().startsWith("port 2: "), r.out());
        String name = Switch().device(2).name();
        // Our own front-end with two queue pairs: a frame sent on each queue crosses the switch.
        try (ringlink.link.LinkDevice fe = Links.openDevice("vhost-user:" + vs + "?role=frontend&queues=2");
             PacketBatch tx = new PacketBatch(1, 2048); PacketBatch rx = new PacketBatch(64, 70000)) {
            assertEquals(2, fe.queueCount());
            for (int q = 0; q < 2; q++) {
                int got = 0;
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (got == 0 && System.nanoTime() < deadline) {
                    PairTraffic.frames(tx, 1, 100, 0xffff_ffff_ffffL, 0x02_00_00_78_00_00L + q);
                    fe.queue(q).transmit(tx);
                    Thread.sleep(20);
                    rx.clear();
                    got = b.receive(rx);
                }
                assertTrue(got > 0, "a frame from queue " + q + " reached port b");
            }
            var ps = Switch().stats().ports().stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
            assertEquals(2, ps.queues().size());
            for (var q : ps.queues())
                    assertTrue(q.forwarded().rxPackets() > 0, "queue " + q.queue() + " received: " + ps.queues());
        } finally {
            r = appctl("port/del", name);
            assertEquals(0, r.rc(), r.toString());
        }
    }

    @Test
    void ringlinkCtlAndTheJsonViews() throws Exception {
        trafficAtoB(8);
        Result r = ctl("port/show", "--json");
        assertEquals(0, r.rc(), r.toString());
        List<?> ports = (List<?>) Json.parse(r.out());
        assertEquals(2, ports.size());
        Map<?, ?> p0 = (Map<?, ?>) ports.getFirst();
        assertEquals("pair", p0.get("transport"));
        assertEquals("up", p0.get("state"));
        assertEquals(8L, ((Map<?, ?>) p0.get("link")).get("rx_packets"));
        assertEquals(0L, ((Map<?, ?>) p0.get("drops")).get("backpressure"));
        r = ctl("stats/show", "--json");
        Map<?, ?> s = (Map<?, ?>) Json.parse(r.out());
        assertEquals(2L, s.get("ports"));
        assertEquals(1L, s.get("macs"));
        assertFalse(((List<?>) s.get("pollers")).isEmpty());
        r = ctl("port/del", "nope");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("no such port"), r.err());
        CtlCommand c = new CtlCommand();
        c.err = new PrintStream(new ByteArrayOutputStream());
        assertEquals(1, new CommandLine(c).setStopAtPositional(true)
                .execute("-t", dir.resolve("absent.ctl").toString(), "version"), "unreachable: 1");
    }

    @Test
    void badClientsAreBoundedAndDoNotBlockOthers() throws Exception {
        // A client that sends half a request and stalls, one over the size limit, one with
        // garbage: each is dealt with alone while ovs-appctl keeps getting answers.
        try (SocketChannel stall = SocketChannel.open(UnixDomainSocketAddress.of(sock));
             SocketChannel big = SocketChannel.open(UnixDomainSocketAddress.of(sock));
             SocketChannel junk = SocketChannel.open(UnixDomainSocketAddress.of(sock));
             SocketChannel deep = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
            stall.write(ByteBuffer.wrap("{\"method\":\"version\",\"par".getBytes()));
            assertEquals(0, appctl("version").rc());
            byte[] huge = new byte[ControlServer.MAX_MESSAGE + 10];
            java.util.Arrays.fill(huge, (byte) ' ');
            huge[0] = '{';
            huge[1] = '"';
            try {
                big.write(ByteBuffer.wrap(huge));
            } catch (java.io.IOException closedWhileWriting) {
                // the server may close before taking it all
            }
            Map<?, ?> reply = CtlCommand.read(big);
            assertTrue(String.valueOf(reply.get("error")).contains("longer than"), String.valueOf(reply));
            junk.write(ByteBuffer.wrap("[1,2]".getBytes()));
            reply = CtlCommand.read(junk);
            assertTrue(String.valueOf(reply.get("error")).contains("JSON object"), String.valueOf(reply));
            deep.write(ByteBuffer.wrap(("{\"a\":" + "[".repeat(100)).getBytes()));
            reply = CtlCommand.read(deep);
            assertTrue(String.valueOf(reply.get("error")).contains("nested"), String.valueOf(reply));
            // Well-formed JSON that is not a valid request: an error reply, the connection stays.
            try (SocketChannel odd = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
                odd.write(ByteBuffer.wrap(("{\"method\":\"version\",\"params\":[1],\"id\":7}"
                        + "{\"method\":\"version\",\"params\":[],\"id\":8}").getBytes()));
                Replies replies = new Replies(odd);
                reply = replies.next();
                assertEquals(7L, reply.get("id"));
                assertTrue(String.valueOf(reply.get("error")).contains("strings"), String.valueOf(reply));
                reply = replies.next();
                assertEquals(8L, reply.get("id"));
                assertNull(reply.get("error"));
                assertTrue(String.valueOf(reply.get("result")).startsWith("ringlink"));
            }
            assertEquals(0, appctl("version").rc(), "still answering with a stalled client connected");
        }
        // More connections than the limit: the extra ones are closed at once, the server lives on.
        List<SocketChannel> many = new java.util.ArrayList<>();
        try {
            for (int k = 0; k < ControlServer.MAX_CONNECTIONS + 4; k++)
                    many.add(SocketChannel.open(UnixDomainSocketAddress.of(sock)));
        } finally {
            for (SocketChannel c : many) c.close();
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        Result r;
        do {
            r = appctl("version");
        } while (r.rc() != 0 && System.nanoTime() < deadline);
        assertEquals(0, r.rc(), r.toString());
    }

    @Test
    void metricsPassPromtoolAndAgreeWithPortShow() throws Exception {
        Path promtool = Env.requireProgram("promtool", "prometheus");
        trafficAtoB(16);
        var addr = cmd.metricsAddress.get();
        String body = HttpClient.newHttpClient()
                .send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + addr.getPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Path f = dir.resolve("metrics.txt");
        Files.writeString(f, body);
        Result r = exec("sh", "-c", promtool + " check metrics < " + f);
        assertEquals(0, r.rc(), "promtool:\n" + r.out() + r.err() + "\n" + body);
        List<?> ports = (List<?>) Json.parse(ctl("port/show", "--json").out());
        for (Object o : ports) {
            Map<?, ?> p = (Map<?, ?>) o;
            String labels = "{port=\"" + p.get("name") + "\",index=\"" + p.get("index") + "\",transport=\"pair\"}";
            Map<?, ?> link = (Map<?, ?>) p.get("link");
            assertTrue(body.contains("ringlink_port_rx_packets_total" + labels + " " + link.get("rx_packets") + "\n"),
                    labels + "\n" + body);
            assertTrue(body.contains("ringlink_port_tx_packets_total" + labels + " " + link.get("tx_packets") + "\n"),
                    labels + "\n" + body);
            assertTrue(body.contains("ringlink_port_up" + labels + " 1\n"), body);
            // Every per-port figure of the list, against port/show's.
            Map<String, Object> want = new java.util.LinkedHashMap<>();
            want.put("ringlink_port_rx_bytes_total" + labels, link.get("rx_bytes"));
            want.put("ringlink_port_tx_bytes_total" + labels, link.get("tx_bytes"));
            want.put("ringlink_port_segmented_total" + labels, p.get("segmented"));
            want.put("ringlink_port_checksums_finished_total" + labels, p.get("checksummed"));
            want.put("ringlink_port_mac_entries" + labels, p.get("macs"));
            want.put("ringlink_port_mac_limit" + labels, p.get("mac_limit"));
            String l = labels.substring(0, labels.length() - 1);
            want.put("ringlink_port_switch_superpackets_total" + l + ",direction=\"in\"}", p.get("superpackets_in"));
            want.put("ringlink_port_switch_superpackets_total" + l + ",direction=\"out\"}", p.get("superpackets_out"));
            for (var d : ((Map<?, ?>) p.get("drops")).entrySet()) {
                want.put("ringlink_port_drops_total" + l + ",reason=\"" + d.getKey() + "\"}", d.getValue());
            }
            for (var w : want.entrySet()) {
                assertTrue(body.contains(w.getKey() + " " + w.getValue() + "\n"),
                        w.getKey() + " " + w.getValue() + "\n" + body);
            }
        }
        assertTrue(body.contains(
                "ringlink_port_rx_packets_total{port=\"pair:rlctl-a[0]\",index=\"0\",transport=\"pair\"} 16\n")
                || body.contains("ringlink_port_rx_packets_total{port=\"pair:rlctl-a[1]\",index=\"0\",transport=\"pair"
                        + "\"} 16\n"), body);
        assertTrue(body.contains("ringlink_mac_table_entries 1\n"), body);
        assertTrue(body.contains("ringlink_poller_busy_ratio{poller=\"ringlink-switch-0\"}"), body);
    }
}
