package ringlink.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import ringlink.cli.support.Terminal;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.Links;
import ringlink.packet.CaptureWriter;
import ringlink.packet.PacketBatch;
import ringlink.packet.PcapngWriter;

/** {@code ringlink capture}: writes what a link receives to a pcapng file. */
@Command(name = "capture", mixinStandardHelpOptions = true,
        description = {"Writes what a link receives to a pcapng file (Wireshark, tshark, tcpdump -r).",
            "",
            "Stops after --count packets or --duration seconds, or on Ctrl-C; the file is complete in every case. "
                + "GSO superpackets are written whole, as tcpdump shows them on an interface with offloads. "
                + "To capture a switch port, use 'ringlink switch --capture FILE' (a mirror port)."},
        footer = {"", "Examples:",
            "  ringlink capture tap:rl0 -w rl0.pcapng --count 100",
            "  ringlink capture 'xdp:veth1?queue=0' -w veth1.pcapng --duration 10",
            "  ringlink capture 'packet:eth0?outgoing=true' -w eth0.pcapng --count 100   (any interface, both "
                    + "directions)"})
final class CaptureCommand implements Callable<Integer> {
    @Parameters(paramLabel = "SPEC", description = "The link to capture from (see 'ringlink links').")
    String spec;

    @Option(names = {"-w", "--write"}, paramLabel = "FILE", required = true, description = "The pcapng file to write.")
    Path file;

    @Option(names = {"-c", "--count"}, paramLabel = "N", description = "Stop after N packets (default: no limit).")
    long count = Long.MAX_VALUE;

    @Option(names = "--duration", paramLabel = "SECONDS", description = "Stop after this long (default: no limit).")
    Double duration;

    @Option(names = {"-s", "--snaplen"}, paramLabel = "BYTES",
            description = "Bytes kept of each packet (default: ${DEFAULT-VALUE}).")
    int snaplen = CaptureWriter.DEFAULT_SNAPLEN;

    PrintStream err = System.err;
    /** Set once the link is open (for tests). */
    final CountDownLatch opened = new CountDownLatch(1);
    private volatile boolean stop;

    @Override
    public Integer call() throws Exception {
        if (count <= 0) throw new IllegalArgumentException("--count must be positive");
        if (snaplen <= 0) throw new IllegalArgumentException("--snaplen must be positive");
        Link link = Links.open(spec);
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stop = true;
            try {
                finished.await(3, TimeUnit.SECONDS); // let the loop flush and close the file
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "ringlink-capture-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        Terminal term = new Terminal(err, Terminal.stdoutIsTty());
        long n = 0, bytes = 0;
        long t0 = System.nanoTime();
        long end = duration == null ? Long.MAX_VALUE : t0 + (long) (duration * 1e9);
        long epochNanos = System.currentTimeMillis() * 1_000_000L;
        String why = "count reached";
        try (PcapngWriter w = PcapngWriter.create(file);
             PacketBatch batch = new PacketBatch(64, link.maxReceiveSize() + PacketBatch.DEFAULT_HEADROOM)) {
            int iface = w.addInterface(link.layer() == Layer.L2 ? CaptureWriter.LINKTYPE_ETHERNET
                    : CaptureWriter.LINKTYPE_RAW,
                    snaplen, link.name());
            opened.countDown();
            long nextStatus = 0;
            while (n < count) {
                long now = System.nanoTime();
                if (stop) { why = "interrupted"; break; }
                if (now >= end) { why = "duration reached"; break; }
                if (now >= nextStatus) {
                    term.status(String.format(Locale.ROOT, "capture %s: %d packets, %d bytes, %.1f s", link.name(), n,
                            bytes, (now - t0) / 1e9));
                    nextStatus = now + 250_000_000L;
                }
                batch.clear();
                int got;
                try {
                    got = link.receive(batch);
                } catch (LinkClosedException e) {
                    why = "link closed";
                    break;
                }
                if (got == 0) {
                    // the stop flag and deadline are checked each 100 ms
                    link.awaitReadable(java.time.Duration.ofMillis(100));
                    continue;
                }
                long ts = epochNanos + (System.nanoTime() - t0);
                for (int i = 0; i < got && n < count; i++, n++) {
                    w.writePacket(iface, ts, batch.memory(), batch.dataOffset(i), batch.length(i));
                    bytes += batch.length(i);
                }
            }
        } finally {
            link.close();
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is what stopped us
            }
        }
        term.clear();
        err.printf(Locale.ROOT, "ringlink capture: %d packets (%d bytes) from %s written to %s (%s, %.1f s)%n",
                n, bytes, link.name(), file, why, (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
