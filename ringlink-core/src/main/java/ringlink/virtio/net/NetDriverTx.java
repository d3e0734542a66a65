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
 * <p>Zero copy: a batch whose memory the device can already reach (it lies in the driver's
 * registered memory) goes out with {@link #transmitInPlace}: each packet's header is written into
 * its headroom and the descriptor points at the batch itself. Such a batch is registered first
 * ({@link #registerInPlace()}); {@link #inFlight(int)} tells when the device has let go of all of
 * its packets, after which the caller may write it again.
 *
 * <p>Usage: {@code int next = transmit(batch, 0); if (queue.publish()) kick();}
 */
public final class NetDriverTx {
    private final VirtqueueDriver queue;
    private final int hdrSize;
    private final BufferPool buffers;
    /** Per chain id: the pool buffer it holds, or {@code -1 - k} for a packet of in-place batch k. */
    private final int[] bufOfId;
    private final int[] ids, lens;
    /** Most in-place batches one queue serves (vhost-net allows 64 memory regions in all). */
    public static final int MAX_IN_PLACE = 32;
    /**
     * Per registered in-place batch: how many of its packets the device still holds. Sized once,
     * so registering (on another thread, before the batch is published to the transmitting one)
     * never replaces the array under the transmitting thread.
     */
    private final int[] inPlacePending = new int[MAX_IN_PLACE];
    private int inPlaceBatches;
    private long droppedTooBig;

    /**
     * @param alloc      allocates {@code queue.size()} buffers of {@code bufferSize} bytes from the
     *                   caller's registered region
     * @param bufferSize bytes per transmit buffer: header plus the largest packet to send
     */
    public NetDriverTx(VirtqueueDriver queue, GuestAllocator alloc, int bufferSize, FeatureSet features) {
        this.queue = queue;
        this.hdrSize = NetHeader.size(features);
        if (bufferSize <= hdrSize)
                throw new IllegalArgumentException("buffer size " + bufferSize + " must exceed the header");
        int n = queue.size();
        this.buffers = new BufferPool(alloc, n, bufferSize);
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
        for (int k = 0; k < got; k++) {
            int b = bufOfId[ids[k]];
            if (b >= 0) buffers.give(b);
            else inPlacePending[-1 - b]--;
        }
        return got;
    }

    /**
     * Queues packets {@code [from, batch.count())} (reclaiming completed buffers first) until the
     * ring or the buffers run out.
     *
     * @return the index of the first packet not queued ({@code batch.count()} when all were)
     */
    public int transmit(PacketBatch batch, int from) {
        if (!buffers.hasFree() || queue.freeDescriptors() == 0) reclaim();
        int i = from;
        for (; i < batch.count(); i++) {
            int len = batch.length(i);
            if ((long) hdrSize + len > buffers.bufferSize) {
                droppedTooBig++;
                continue;
            }
            if (!buffers.hasFree()) break;
            int b = buffers.peek();
            long off = buffers.offset(b);
            VirtioNetHdr.encode(buffers.memory, off, hdrSize, batch, i, 0);
            MemorySegment.copy(batch.memory(), batch.dataOffset(i), buffers.memory, off + hdrSize, len);
            int id = queue.offer(buffers.deviceAddress(off), hdrSize + len, false);
            if (id < 0) break;
            buffers.take();
            bufOfId[id] = b;
        }
        return i;
    }

    /**
     * Registers a batch for {@link #transmitInPlace}; returns its handle. Callers serialise
     * registrations and publish the handle to the transmitting thread safely (e.g. a volatile).
     *
     * @throws IllegalStateException after {@link #MAX_IN_PLACE} registrations
     */
    public int registerInPlace() {
        if (inPlaceBatches == MAX_IN_PLACE)
                throw new IllegalStateException("at most " + MAX_IN_PLACE + " zero-copy batches per queue");
        return inPlaceBatches++;
    }

    /** Packets of in-place batch {@code k} the device has not completed yet (as of the last {@link #reclaim()}). */
    public int inFlight(int k) { return inPlacePending[k]; }

    /**
     * Zero copy: queues packets {@code [from, batch.count())} of a batch whose memory starts at
     * driver address {@code batchAddress} (registered with the device) without copying them. Each
     * packet's virtio-net header goes into the {@link #headerSize()} bytes before its data, which
     * its headroom must hold. Stops when the ring is full.
     *
     * @param k the batch's handle from {@link #registerInPlace()}
     * @return the index of the first packet not queued ({@code batch.count()} when all were)
     * @throws IllegalArgumentException if a packet's headroom cannot hold the header
     */
    public int transmitInPlace(PacketBatch batch, int from, long batchAddress, int k) {
        if (queue.freeDescriptors() == 0) reclaim();
        MemorySegment mem = batch.memory();
        int i = from;
        for (; i < batch.count(); i++) {
            if (batch.dataStart(i) < hdrSize) {
                throw new IllegalArgumentException("packet " + i + " has " + batch.dataStart(i)
                        + " bytes of headroom; the "
                        + hdrSize + "-byte virtio-net header goes there");
            }
            long hdr = batch.dataOffset(i) - hdrSize;
            VirtioNetHdr.encode(mem, hdr, hdrSize, batch, i, 0);
            int id = queue.offer(batchAddress + hdr, hdrSize + batch.length(i), false);
            if (id < 0) break;
            bufOfId[id] = -1 - k;
            inPlacePending[k]++;
        }
        return i;
    }
}
