package ringlink.virtio.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.virtio.DescriptorChain;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.VirtqueueDevice;

/**
 * Device side of a virtio-net transmit queue: reads the guest's TX chains (virtio-net header +
 * packet, in any split over descriptors) into a {@link PacketBatch}, with the header's offload
 * fields as the packet's metadata, and returns each chain used with 0 bytes written.
 *
 * <p>A chain shorter than the header or with a packet bigger than a batch buffer is a malformed
 * packet, not a broken ring: it is dropped and counted ({@link #droppedMalformed()}), the chain is
 * returned, and the queue keeps going. Call {@link VirtqueueDevice#publish()} afterwards.
 */
public final class NetDeviceTx {
    private final VirtqueueDevice queue;
    private final int hdrSize;
    private final MemorySegment hdr;
    private final DescriptorChain chain = new DescriptorChain();
    private long droppedMalformed;

    public NetDeviceTx(VirtqueueDevice queue, FeatureSet features) {
        this.queue = queue;
        this.hdrSize = NetHeader.size(features);
        this.hdr = Arena.ofAuto().allocate(16, 8);
    }

    public int headerSize() { return hdrSize; }

    /** TX chains dropped as malformed (shorter than the header, or too big for a batch buffer). */
    public long droppedMalformed() { return droppedMalformed; }

    /**
     * Appends up to {@code max} packets from the ring to {@code batch} (fewer when the ring is
     * empty or the batch full).
     *
     * @return the number of packets appended
     */
    public int receive(PacketBatch batch, int max) {
        int got = 0;
        while (got < max && !batch.isFull() && queue.pop(chain)) {
            long len = chain.readableBytes() - hdrSize;
            int i = batch.add();
            if (len < 0 || len > batch.room(i)) {
                batch.setCount(batch.count() - 1);
                droppedMalformed++;
                queue.push(chain, 0);
                continue;
            }
            if (chain.length(0) >= hdrSize) {
                // Common case: the header is in the first descriptor; decode it in place.
                VirtioNetHdr.decode(chain.memory(0), chain.offset(0), batch, i);
            } else {
                chain.read(0, hdr, 0, hdrSize);
                VirtioNetHdr.decode(hdr, 0, batch, i);
            }
            chain.read(hdrSize, batch.memory(), batch.dataOffset(i), len);
            batch.setLength(i, (int) len);
            queue.push(chain, 0);
            got++;
        }
        return got;
    }
}
