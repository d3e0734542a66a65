package ringlink.virtio.net;

import java.lang.foreign.MemorySegment;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.GuestAllocator;
import ringlink.virtio.VirtqueueDriver;

/**
 * Driver side of a virtio-net transmit queue: copies packets of a {@link PacketBatch} with their
 * virtio-net header (from the packet's offload metadata) into transmit buffers of a registered
 * region and offers each as a one-descriptor chain; {@link #reclaim()} takes completed buffers
 * back.
 *
 * <p>Usage: {@code int next = transmit(batch, 0); if (queue.publish()) kick();}
 */
public final class NetDriverTx {
    private final VirtqueueDriver queue;
    private final int hdrSize;
    private final int bufferSize;
    private final long poolGpa;
    private final MemorySegment pool;
    private final int[] freeBufs;
    private int freeCount;
    private final int[] bufOfId;
    private final int[] ids, lens;
    private long droppedTooBig;

    /**
     * @param alloc      allocates {@code queue.size()} buffers of {@code bufferSize} bytes from the
     *                   caller's registered region
     * @param bufferSize bytes per transmit buffer: header plus the largest packet to send
     */
    public NetDriverTx(VirtqueueDriver queue, GuestAllocator alloc, int bufferSize, FeatureSet features) {
        this.queue = queue;
        this.hdrSize = NetHeader.size(features);
        if (bufferSize <= hdrSize) throw new IllegalArgumentException("buffer size " + bufferSize + " must exceed the header");
        this.bufferSize = bufferSize;
        int n = queue.size();
        this.pool = alloc.allocateSegment((long) n * bufferSize, 64);
        this.poolGpa = alloc.region().guestAddress() + (pool.address() - alloc.region().segment().address());
        this.freeBufs = new int[n];
        for (int i = 0; i < n; i++) freeBufs[i] = i;
        this.freeCount = n;
        this.bufOfId = new int[n];
        this.ids = new int[n];
        this.lens = new int[n];
    }

    public int headerSize() { return hdrSize; }

    /** Packets skipped because they do not fit a transmit buffer. */
    public long droppedTooBig() { return droppedTooBig; }

    /** Collects completed transmissions; returns how many buffers came back. */
    public int reclaim() {
        // ids has room for every chain that can be in flight, so one call collects them all.
        int got = queue.collect(ids, lens, ids.length);
        for (int k = 0; k < got; k++) freeBufs[freeCount++] = bufOfId[ids[k]];
        return got;
    }

    /**
     * Queues packets {@code [from, batch.count())} (reclaiming completed buffers first) until the
     * ring or the buffers run out.
     *
     * @return the index of the first packet not queued ({@code batch.count()} when all were)
     */
    public int transmit(PacketBatch batch, int from) {
        if (freeCount == 0 || queue.freeDescriptors() == 0) reclaim();
        int i = from;
        for (; i < batch.count(); i++) {
            int len = batch.length(i);
            if ((long) hdrSize + len > bufferSize) {
                droppedTooBig++;
                continue;
            }
            if (freeCount == 0) break;
            int b = freeBufs[freeCount - 1];
            long off = (long) b * bufferSize;
            VirtioNetHdr.encode(pool, off, hdrSize, batch, i, 0);
            MemorySegment.copy(batch.memory(), batch.dataOffset(i), pool, off + hdrSize, len);
            int id = queue.offer(poolGpa + off, hdrSize + len, false);
            if (id < 0) break;
            freeCount--;
            bufOfId[id] = b;
        }
        return i;
    }
}
