package dev.ringlink.examples.switchhook;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import ringlink.link.Links;
import ringlink.sw.DropReason;
import ringlink.sw.PacketFilter;
import ringlink.sw.PortStats;
import ringlink.sw.Switch;

/**
 * Embeds the Ringlink switch with a per-packet hook: a firewall rule that drops IPv4 TCP and UDP
 * to one destination port (default 23, telnet) on every port, before the switch learns or
 * forwards the frame. Every other frame is switched as usual (learning, flooding, offloads).
 *
 * <pre>
 * sudo java --enable-native-access=ALL-UNNAMED -cp ringlink-core.jar:switch-hook.jar \
 *     dev.ringlink.examples.switchhook.SwitchHook 23 tap:rlsw0 tap:rlsw1
 * </pre>
 */
public final class SwitchHook {
    private SwitchHook() {}

    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /**
     * Drops IPv4 TCP/UDP frames to {@code blockedPort}; counts them in {@code hits}. Reads the
     * headers in place; no allocation (LongAdder: the switch's threads call it at once).
     */
    static PacketFilter blockPort(int blockedPort, LongAdder hits) {
        return (port, batch, i) -> {
            MemorySegment m = batch.memory();
            long off = batch.dataOffset(i);
            int len = batch.length(i);
            if (len < 14 + 20 || (m.get(BE16, off + 12) & 0xffff) != 0x0800) return true; // not IPv4
            int ihl = (m.get(ValueLayout.JAVA_BYTE, off + 14) & 0x0f) * 4;
            int proto = m.get(ValueLayout.JAVA_BYTE, off + 14 + 9) & 0xff;
            boolean firstFragment = (m.get(BE16, off + 14 + 6) & 0x1fff) == 0;
            if ((proto != 6 && proto != 17) || !firstFragment || ihl < 20 || len < 14 + ihl + 4) return true;
            if ((m.get(BE16, off + 14 + ihl + 2) & 0xffff) != blockedPort) return true;
            hits.increment();
            return false;
        };
    }

    public static void main(String[] args) throws Exception {
        int blocked = args.length > 0 ? Integer.parseInt(args[0]) : 23;
        LongAdder hits = new LongAdder();
        Switch.Builder b = Switch.builder().threads(1).filter(blockPort(blocked, hits));
        for (int k = 1; k < args.length; k++) b.port(Links.open(args[k]));
        if (args.length < 3) {
            b.port(Links.open("tap:rlsw0"));
            b.port(Links.open("tap:rlsw1"));
        }
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(done::countDown));
        try (Switch sw = b.build()) { // the switch owns the ports and closes them
            sw.start();
            System.out.println("switching, dropping TCP/UDP to port " + blocked + " (Ctrl-C stops)");
            while (!done.await(5, TimeUnit.SECONDS)) {
                long filtered = 0;
                for (PortStats p : sw.stats().ports()) filtered += p.drops().getOrDefault(DropReason.FILTERED, 0L);
                System.out.println("blocked " + hits.sum() + " frames (FILTERED drops: " + filtered + ")");
            }
        }
    }
}
