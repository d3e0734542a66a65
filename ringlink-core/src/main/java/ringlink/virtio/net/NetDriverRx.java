package ringlink.virtio.net;

import java.lang.foreign.MemorySegment;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.GuestAllocator;
import ringlink.virtio.VirtioFeature;
import ringlink.virtio.VirtqueueDriver;

/**
 * Driver side of a virtio-net receive queue (what vhost-net's user needs): keeps the ring filled
 * with receive buffers from a registered region and turns used buffers into packets of a
 * {@link PacketBatch}, header fields becoming packet metadata. With MRG_RXBUF a packet is
 * reassembled from {@code num_buffers} consecutive used buffers, also across calls.
 *
 * <p>The device writes the headers and lengths, so they are checked: a buffer shorter than the
 * header, a {@code num_buffers} of 0 or above the queue size, or a packet larger than a batch
 * buffer drops that packet ({@link #droppedMalformed()}) without failing the queue. (Lengths above
 * a buffer's size and unknown ids are caught by the queue itself and do fail it.)
 *
 * <p>Usage: {@code refill(); if (queue.publish()) kick(); ... receive(batch); refill(); ...}
 */
public final class NetDriverRx {
    private final VirtqueueDriver queue;
    private final boolean mergeable;
    private final int hdrSize;
    private final BufferPool buffers;
    /** The pool's memory (the device writes headers and data there). */
    private final MemorySegment pool;
    private final int[] bufOfId;
    private final int[] ids, lens;
    // A mergeable packet being reassembled: its batch slot and buffers still to come.
    private int partialSlot = -1;
    private int partialLeft;
    private boolean partialDrop;
    private long droppedMalformed;

    /**
     * @param alloc      allocates {@code queue.size()} buffers of {@code bufferSize} bytes from the
     *                   caller's registered region
     * @param bufferSize bytes per receive buffer; without MRG_RXBUF it must hold the header and the
     *                   largest packet expected
     */
    public NetDriverRx(VirtqueueDriver queue, GuestAllocator alloc, int bufferSize, FeatureSet features) {
        this.queue = queue;
        this.mergeable = features.has(VirtioFeature.NET_MRG_RXBUF);
        this.hdrSize = NetHeader.size(features);
        if (bufferSize <= hdrSize)
                throw new IllegalArgumentException("buffer size " + bufferSize + " must exceed the header");
        int n = queue.size();
        this.buffers = new BufferPool(alloc, n, bufferSize);
        this.pool = buffers.memory;
        this.bufOfId = new int[n];
        this.ids = new int[n];
        this.lens = new int[n];
    }

    public int headerSize() { return hdrSize; }

    /** Packets dropped because of a malformed header or length from the device. */
    public long droppedMalformed() { return droppedMalformed; }

    /** Offers every free buffer; returns how many. Publish (and kick) afterwards. */
    public int refill() {
        int n = 0;
        while (buffers.hasFree()) {
            int b = buffers.peek();
            int id = queue.offer(buffers.deviceAddress(buffers.offset(b)), buffers.bufferSize, true);
            if (id < 0) break;
            buffers.take();
            bufOfId[id] = b;
            n++;
        }
        return n;
    }

    /**
     * Collects used buffers into packets appended to {@code batch} (at most what fits).
     *
     * @return packets appended
     */
    public int receive(PacketBatch batch) {
        int added = 0;
        while (true) {
            // Each collected buffer either continues the packet being reassembled or starts a new
            // one needing a batch slot: collecting no more than that never drops a packet.
            int limit = Math.min(ids.length, (partialSlot >= 0 ? partialLeft : 0) + batch.capacity() - batch.count());
            if (limit <= 0) break;
            int got = queue.collect(ids, lens, limit);
            if (got == 0) break;
            for (int k = 0; k < got; k++) {
                int b = bufOfId[ids[k]];
                added += take(batch, b, lens[k]);
                buffers.give(b);
            }
        }
        return added;
    }

    /** Handles one used buffer; returns 1 if it completed a packet. */
    private int take(PacketBatch batch, int b, int len) {
        long off = buffers.offset(b);
        if (partialSlot >= 0) {
            // Continuation buffer of a mergeable packet: all data, no header.
            if (!partialDrop) {
                int cur = batch.length(partialSlot);
                if ((long) cur + len > batch.room(partialSlot)) {
                    partialDrop = true;
                } else {
                    MemorySegment.copy(pool, off, batch.memory(), batch.dataOffset(partialSlot) + cur, len);
                    batch.setLength(partialSlot, cur + len);
                }
            }
            if (--partialLeft > 0) return 0;
            int slot = partialSlot;
            partialSlot = -1;
            if (partialDrop) {
                batch.setCount(slot); // the slot was the last one added
                droppedMalformed++;
                return 0;
            }
            return kept(batch, slot);
        }
        if (len < hdrSize || batch.isFull()) {
            droppedMalformed++;
            return 0;
        }
        int numBuffers = mergeable ? VirtioNetHdr.numBuffers(pool, off) : 1;
        if (numBuffers < 1 || numBuffers > queue.size()) {
            droppedMalformed++;
            return 0;
        }
        int i = batch.add();
        VirtioNetHdr.decode(pool, off, batch, i);
        int data = len - hdrSize;
        boolean drop = data > batch.room(i);
        if (!drop) {
            MemorySegment.copy(pool, off + hdrSize, batch.memory(), batch.dataOffset(i), data);
            batch.setLength(i, data);
        }
        if (numBuffers > 1) {
            partialSlot = i;
            partialLeft = numBuffers - 1;
            partialDrop = drop;
            return 0;
        }
        if (drop) {
            batch.setCount(i);
            droppedMalformed++;
            return 0;
        }
        return kept(batch, i);
    }

    /** A check of each complete packet's metadata (the link's {@code OffloadValidator}). */
    public interface Check {
        /** True to keep packet {@code i}; false drops it (the check counts it). */
        boolean keep(PacketBatch batch, int i);
    }

    private Check check;

    /** Sets the check every complete packet passes before it counts as received (null: none). */
    public void setCheck(Check c) {
        check = c;
    }

    /** 1 if the complete packet in {@code slot} (the last one added) stays, else 0 with it removed. */
    private int kept(PacketBatch batch, int slot) {
        Check c = check;
        if (c == null || c.keep(batch, slot)) return 1;
        batch.setCount(slot);
        return 0;
    }
}
