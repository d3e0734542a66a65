package ringlink.virtio.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.virtio.DescriptorChain;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.VirtioFeature;
import ringlink.virtio.VirtqueueDevice;
import ringlink.virtio.VirtqueueException;

/**
 * Device side of a virtio-net receive queue: delivers packets of a {@link PacketBatch} into the
 * buffers the guest made available, each as virtio-net header + packet bytes.
 *
 * <p>With MRG_RXBUF a packet may span several chains ({@code num_buffers} in the first one's
 * header says how many); without it each packet needs one chain big enough for header and packet,
 * and a packet that does not fit is dropped (counted in {@link #droppedTooBig()}) while the chain
 * is kept for the next packet. If the ring runs out of buffers in the middle of a mergeable packet
 * the chains already taken are given back ({@link VirtqueueDevice#unpop}) and delivery stops there.
 *
 * <p>A receive chain without a device-writable byte throws {@link VirtqueueException} with
 * {@code NO_WRITABLE_BUFFER} (the driver broke the protocol; stop using the queue, as for any
 * ring error). A mergeable packet that would need more than {@link #MAX_PACKET_CHAINS} chains or
 * descriptors is dropped ({@link #droppedTooBig()}) and its buffers given back.
 *
 * <p>Copies use {@link MemorySegment#copy}; nothing is allocated per packet. Call
 * {@link VirtqueueDevice#publish()} after {@link #deliver} to make the batch visible and learn
 * whether to interrupt the guest.
 */
public final class NetDeviceRx {
    private final VirtqueueDevice queue;
    private final boolean mergeable;
    private final int hdrSize;
    private final MemorySegment hdr;
    private DescriptorChain[] chains = new DescriptorChain[4];
    private final int[] written;
    private long droppedTooBig;

    /**
     * Most chains one mergeable packet may span, and most descriptors they may walk together
     * (the last chain may take it to twice that): Linux vhost-net's UIO_MAXIOV per packet. A
     * packet the guest's buffers cannot hold within it is dropped ({@link #droppedTooBig()}).
     */
    public static final int MAX_PACKET_CHAINS = ringlink.virtio.VirtqueueDevice.MAX_CHAIN_ELEMENTS;

    /** An RX helper for {@code queue} with the virtio-net features negotiated for it. */
    public NetDeviceRx(VirtqueueDevice queue, FeatureSet features) {
        this.queue = queue;
        this.mergeable = features.has(VirtioFeature.NET_MRG_RXBUF);
        this.hdrSize = NetHeader.size(features);
        this.hdr = Arena.ofAuto().allocate(16, 8);
        for (int i = 0; i < chains.length; i++) chains[i] = new DescriptorChain();
        this.written = new int[Math.min(queue.size(), MAX_PACKET_CHAINS)];
    }

    /** Header bytes in front of every packet on this queue. */
    public int headerSize() { return hdrSize; }

    /** Packets dropped because a (non-mergeable) guest buffer was too small for them. */
    public long droppedTooBig() { return droppedTooBig; }

    /**
     * Delivers packets {@code [from, batch.count())}; stops early when the guest has no buffers.
     *
     * @return the index of the first packet not handled (== {@code batch.count()} when all were
     *         delivered or dropped as too big)
     */
    public int deliver(PacketBatch batch, int from) {
        int i = from;
        for (; i < batch.count(); i++) {
            if (!(mergeable ? deliverMergeable(batch, i) : deliverOne(batch, i))) break;
        }
        return i;
    }

    private boolean deliverOne(PacketBatch batch, int i) {
        DescriptorChain c = chains[0];
        int len = batch.length(i);
        while (true) {
            if (!queue.pop(c)) return false;
            noWritable(c);
            if (c.writableBytes() >= (long) hdrSize + len) break;
            // Too small for this packet: drop the packet, keep the buffer for the next one.
            queue.unpop(c);
            droppedTooBig++;
            return true;
        }
        int w = c.readableCount(); // first writable segment
        if (c.length(w) >= hdrSize) {
            VirtioNetHdr.encode(c.memory(w), c.offset(w), hdrSize, batch, i, 1);
        } else {
            VirtioNetHdr.encode(hdr, 0, hdrSize, batch, i, 1);
            c.write(0, hdr, 0, hdrSize);
        }
        c.write(hdrSize, batch.memory(), batch.dataOffset(i), len);
        queue.push(c, hdrSize + len);
        return true;
    }

    private boolean deliverMergeable(PacketBatch batch, int i) {
        long total = (long) hdrSize + batch.length(i);
        long placed = 0;
        int n = 0;
        int elems = 0;
        while (placed < total) {
            if (n == written.length || elems >= MAX_PACKET_CHAINS) {
                // More buffers than a packet may span: drop it, give the buffers back.
                for (int k = n - 1; k >= 0; k--) queue.unpop(chains[k]);
                droppedTooBig++;
                return true;
            }
            if (n == chains.length) growChains();
            DescriptorChain c = chains[n];
            if (!queue.pop(c)) {
                // Out of buffers half way: give back what we took, newest first.
                for (int k = n - 1; k >= 0; k--) queue.unpop(chains[k]);
                return false;
            }
            noWritable(c);
            long w = Math.min(c.writableBytes(), total - placed);
            written[n++] = (int) w;
            elems += c.elementCount();
            placed += w;
        }
        VirtioNetHdr.encode(hdr, 0, hdrSize, batch, i, n);
        // Header then data, scattered over the chains in order.
        long src = batch.dataOffset(i);
        long hdrLeft = hdrSize;
        long dataLeft = batch.length(i);
        for (int k = 0; k < n; k++) {
            DescriptorChain c = chains[k];
            long at = 0;
            if (hdrLeft > 0) {
                long h = c.write(0, hdr, hdrSize - hdrLeft, hdrLeft);
                hdrLeft -= h;
                at = h;
            }
            long room = written[k] - at;
            if (room > 0 && dataLeft > 0) {
                long d = c.write(at, batch.memory(), src, Math.min(room, dataLeft));
                src += d;
                dataLeft -= d;
            }
            queue.push(c, written[k]);
        }
        return true;
    }

    private static void noWritable(DescriptorChain c) {
        if (c.writableBytes() == 0) {
            throw new VirtqueueException(VirtqueueException.Reason.NO_WRITABLE_BUFFER,
                    "receive chain " + c.id() + " has no device-writable byte");
        }
    }

    private void growChains() {
        int old = chains.length;
        chains = Arrays.copyOf(chains, Math.min(old * 2, written.length));
        for (int k = old; k < chains.length; k++) chains[k] = new DescriptorChain();
    }
}
