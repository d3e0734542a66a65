package ringlink.sw;

import ringlink.packet.PacketBatch;

/**
 * A per-packet hook of the switch ({@link Switch.Builder#filter}): sees every frame that arrives
 * on a port, before the switch learns its source or looks up its destination, and decides whether
 * it is forwarded. A firewall rule, an ACL, a small NAT (rewriting addresses in place) or a
 * counter fit here.
 *
 * <p>The frame is packet {@code index} of {@code batch}: {@code batch.memory()} from
 * {@code batch.dataOffset(index)}, {@code batch.length(index)} bytes (at least an Ethernet
 * header), exactly as it arrived (an 802.1Q tag still in place when the switch is VLAN-aware).
 * The filter may change its bytes in place, keeping its length; a NAT that changes addresses
 * must fix the checksums itself (or leave a partial checksum: see the batch's offload metadata).
 *
 * <p><b>Threads.</b> Called on the switch's polling threads, by several at once when the switch
 * runs more than one: it must be thread-safe, must not block (a blocked filter stalls every port of
 * its thread), should not allocate per packet, and must not keep the batch. A filter that throws
 * drops that frame (counted as {@link DropReason#FILTERED}); the port stays up.
 */
@FunctionalInterface
public interface PacketFilter {
    /**
     * True to forward the frame, false to drop it (counted on port {@code port} as
     * {@link DropReason#FILTERED}). {@code port} is the arrival port's index (its position in the
     * builder, or the index {@link Switch#addPort} returned).
     */
    boolean accept(int port, PacketBatch batch, int index);
}
