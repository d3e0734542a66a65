package dev.ringlink.examples.xdpreflector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import ringlink.link.IdleStrategy;
import ringlink.link.Link;
import ringlink.link.LinkLoop;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;

/**
 * An AF_XDP reflector: every Ethernet frame arriving on queue 0 of an interface is sent back out
 * of it with its source and destination MAC addresses swapped (what DPDK's testpmd does in
 * {@code macswap} mode). The frames are changed in place in the loop's batch: no copy besides
 * the UMEM one, no allocation per packet.
 *
 * <pre>
 * sudo java --enable-native-access=ALL-UNNAMED -cp ringlink-core.jar:xdp-reflector.jar \
 *     dev.ringlink.examples.xdpreflector.XdpReflector 'xdp:veth1?mode=copy'
 * </pre>
 */
public final class XdpReflector {
    private XdpReflector() {}

    /** Swaps the MAC addresses of every frame in the batch and transmits it back on {@code link}. */
    static void reflect(Link link, PacketBatch batch) throws java.io.IOException {
        MemorySegment m = batch.memory();
        int n = batch.count();
        for (int i = 0; i < n; i++) {
            if (batch.length(i) < 14) continue; // too short to swap: sent back as it is
            long off = batch.dataOffset(i);
            int dst0 = m.get(ValueLayout.JAVA_INT_UNALIGNED, off);
            short dst1 = m.get(ValueLayout.JAVA_SHORT_UNALIGNED, off + 4);
            MemorySegment.copy(m, off + 6, m, off, 6);
            m.set(ValueLayout.JAVA_INT_UNALIGNED, off + 6, dst0);
            m.set(ValueLayout.JAVA_SHORT_UNALIGNED, off + 10, dst1);
        }
        int sent = link.transmit(batch);
        // A full TX ring: the rest is dropped (counted), as a reflector under overload should.
        if (sent < n) link.counters().txDropped(n - sent);
    }

    public static void main(String[] args) throws Exception {
        String spec = args.length > 0 ? args[0] : "xdp:veth1?mode=copy";
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(done::countDown));
        try (Link link = Links.open(spec);
             LinkLoop loop = LinkLoop.builder().name("xdp-reflector")
                     // AF_XDP is a poll-mode transport: spin hard, sleep only after 200 µs idle
                     .idleStrategy(IdleStrategy.spinThenSleep(Duration.ofNanos(200_000)))
                     .build()) {
            loop.register(link, XdpReflector::reflect).added().join();
            System.out.println("reflecting on " + spec + " (Ctrl-C stops)");
            while (!done.await(5, TimeUnit.SECONDS)) System.out.println(link.counters().snapshot());
        }
    }
}
