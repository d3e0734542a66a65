package ringlink.vhostuser;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import ringlink.link.Link;
import ringlink.packet.PacketBatch;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;

/**
 * A tiny IPv4 host on a link: answers ARP requests for its address and ICMP echo requests to it.
 * For the QEMU test (the guest pings us) and for manual experiments.
 */
final class Responder implements AutoCloseable {
    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfByte B = ValueLayout.JAVA_BYTE;

    final AtomicLong arpReplies = new AtomicLong(), echoReplies = new AtomicLong(), seen = new AtomicLong();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Thread thread;
    volatile Throwable error;

    Responder(Link link, byte[] mac, int ip) {
        thread = new Thread(() -> {
            try (PacketBatch in = new PacketBatch(32, PacketBatch.SUPERPACKET_BUFFER);
                 PacketBatch out = new PacketBatch(32, 2048)) {
                while (!stop.get()) {
                    in.clear();
                    int n = link.receive(in);
                    if (n == 0) {
                        if (link.prepareToWait()) {
                            PollSet.pollOne(link.readyFd(), PollfdLayout.POLLIN, 50);
                            link.finishWait();
                        }
                        continue;
                    }
                    seen.addAndGet(n);
                    out.clear();
                    for (int i = 0; i < n; i++) answer(in, i, out, mac, ip);
                    int done = 0;
                    long end = System.currentTimeMillis() + 1000;
                    while (done < out.count() && System.currentTimeMillis() < end)
                            done += link.transmit(out, done, out.count());
                }
            } catch (Throwable t) {
                if (!stop.get()) error = t;
            }
        }, "rlvu-responder");
        thread.setDaemon(true);
        thread.start();
    }

    private void answer(PacketBatch in, int i, PacketBatch out, byte[] mac, int ip) {
        MemorySegment s = in.memory();
        long p = in.dataOffset(i);
        int len = in.length(i);
        if (len < 14) return;
        int type = Short.toUnsignedInt(s.get(BE16, p + 12));
        if (type == 0x0806 && len >= 42) {
            if (Short.toUnsignedInt(s.get(BE16, p + 20)) != 1 || s.get(BE32, p + 38) != ip) return;
            int o = out.add();
            MemorySegment d = out.memory();
            long q = out.dataOffset(o);
            MemorySegment.copy(s, p + 6, d, q, 6);                 // to: the asker
            MemorySegment.copy(MemorySegment.ofArray(mac), 0, d, q + 6, 6);
            d.set(BE16, q + 12, (short) 0x0806);
            d.set(BE16, q + 14, (short) 1);                        // htype ethernet
            d.set(BE16, q + 16, (short) 0x0800);
            d.set(B, q + 18, (byte) 6);
            d.set(B, q + 19, (byte) 4);
            d.set(BE16, q + 20, (short) 2);                        // reply
            MemorySegment.copy(MemorySegment.ofArray(mac), 0, d, q + 22, 6);
            d.set(BE32, q + 28, ip);
            MemorySegment.copy(s, p + 22, d, q + 32, 10);          // target = the asker's sha+spa
            out.setLength(o, 42);
            arpReplies.incrementAndGet();
        } else if (type == 0x0800 && len >= 34) {
            int ihl = (s.get(B, p + 14) & 0x0f) * 4;
            if (ihl < 20 || len < 14 + ihl + 8) return;
            if (s.get(B, p + 23) != 1 || s.get(BE32, p + 30) != ip) return; // ICMP to us
            if (s.get(B, p + 14 + ihl) != 8) return;                          // echo request
            int totLen = Short.toUnsignedInt(s.get(BE16, p + 16));
            if (totLen < ihl + 8 || 14 + totLen > len || 14 + totLen > out.bufferSize() - out.headroom()) return;
            int o = out.add();
            MemorySegment d = out.memory();
            long q = out.dataOffset(o);
            MemorySegment.copy(s, p, d, q, 14 + totLen);
            MemorySegment.copy(s, p + 6, d, q, 6);
            MemorySegment.copy(MemorySegment.ofArray(mac), 0, d, q + 6, 6);
            int src = s.get(BE32, p + 26);
            d.set(BE32, q + 26, ip);
            d.set(BE32, q + 30, src);
            d.set(BE16, q + 24, (short) 0);
            d.set(BE16, q + 24, (short) checksum(d, q + 14, ihl));
            long icmp = q + 14 + ihl;
            d.set(B, icmp, (byte) 0);
            d.set(BE16, icmp + 2, (short) 0);
            d.set(BE16, icmp + 2, (short) checksum(d, icmp, totLen - ihl));
            out.setLength(o, 14 + totLen);
            echoReplies.incrementAndGet();
        }
    }

    static int checksum(MemorySegment s, long off, int len) {
        long sum = 0;
        int k = 0;
        for (; k + 1 < len; k += 2) sum += Short.toUnsignedInt(s.get(BE16, off + k));
        if (k < len) sum += (s.get(B, off + k) & 0xff) << 8;
        while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
        return (int) (~sum & 0xffff);
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        thread.join(5000);
    }
}
