package ringlink.cli.demo;

import static ringlink.cli.demo.DemoTools.*;

import java.time.Duration;
import java.util.Locale;
import ringlink.cli.bench.BenchCell;
import ringlink.cli.bench.PairTraffic;
import ringlink.link.Layer;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.PacketBatch;
import ringlink.sw.Switch;

/** The switch between in-memory links: needs nothing but Java. */
public final class InMemoryStep implements DemoStep {
    @Override public String name() { return "memory"; }
    @Override public String title() { return "The switch between in-memory links (no kernel)"; }
    @Override
    public String proves() { return "the switch learns and forwards batches between links (pure Java, FFM memory)"; }
    @Override public String unavailable(DemoContext c) { return null; }

    @Override
    public Outcome run(DemoContext c) throws Exception {
        PairLink[] a =
                PairLink.create("pair:demo-a", 1024, 2048 + PacketBatch.DEFAULT_HEADROOM, Layer.L2, 1500, Offloads.ALL);
        PairLink[] b =
                PairLink.create("pair:demo-b", 1024, 2048 + PacketBatch.DEFAULT_HEADROOM, Layer.L2, 1500, Offloads.ALL);
        c.cleanup().add("free the in-memory links", () -> {
            a[1].free();
            b[1].free();
        });
        Switch sw = Switch.builder().threads(1).port(a[0]).port(b[0]).log(m -> c.say("switch: " + m)).build();
        c.cleanup().add("stop the switch", sw::close);
        sw.start();
        try (PacketBatch hello = new PacketBatch(1, 2048)) {
            PairTraffic.frames(hello, 1, 64, 0xffff_ffff_ffffL, PairTraffic.MAC_B);
            b[1].transmit(hello);
        }
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (sw.lookup(PairTraffic.MAC_B, 0) < 0 && System.nanoTime() < deadline) Thread.sleep(1);
        c.say("learned " + String.format("%012x", PairTraffic.MAC_B)
                + " on port 1; sending 64-byte frames for 1 s ...");
        BenchCell.Measurement m = PairTraffic.measure(a[1], b[1], 64, Duration.ofSeconds(1));
        String rate = String.format(Locale.ROOT, "%.2f Mpps", m.pps() / 1e6);
        c.say("forwarded " + rate + " of 64-byte frames (" + switchSummary(sw) + ")");
        c.say("(the sender runs flat out, faster than the receiving link drains: the switch never blocks"
                + " on a full port, it drops and counts, which is what the drops are)");
        return new Outcome("ok", "-", rate, "");
    }
}
