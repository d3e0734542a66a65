/**
 * Packets in memory: the shared {@link ringlink.packet.PacketBatch} with its virtio-net offload
 * metadata, header accessors, the Internet checksum, software GSO/GRO and capture files.
 *
 * <ul>
 *   <li>Header classes ({@link ringlink.packet.Ethernet}, {@link ringlink.packet.Arp},
 *       {@link ringlink.packet.Ipv4}, {@link ringlink.packet.Ipv6}, {@link ringlink.packet.Tcp},
 *       {@link ringlink.packet.Udp}, {@link ringlink.packet.Icmp}, {@link ringlink.packet.Icmpv6})
 *       are static accessors taking {@code (MemorySegment, offset)}, so parsing allocates
 *       nothing; {@link ringlink.packet.PacketHeaders} is the reusable, bound-checked parse of a
 *       whole packet.</li>
 *   <li>{@link ringlink.packet.Checksum}: RFC 1071 sums with 8-byte loads, pseudo-headers, RFC 1624
 *       updates, completing {@code NEEDS_CSUM} packets.</li>
 *   <li>{@link ringlink.packet.Gso} validates superpackets (from the kernel or a guest) and
 *       segments them; {@link ringlink.packet.Gro} coalesces flows into superpackets.</li>
 *   <li>{@link ringlink.packet.PcapngWriter} and {@link ringlink.packet.PcapWriter} write
 *       captures Wireshark reads.</li>
 * </ul>
 *
 * <p>Packets are hostile input. Whatever a length field or offload metadata claims, the checking
 * entry points ({@code PacketHeaders.parse}, the {@code validate} methods, {@code Gso},
 * {@code Gro}, {@code Checksum.complete}) never read or write outside the packet; inconsistent
 * input raises {@link ringlink.packet.MalformedPacketException}, which callers handle by dropping
 * that packet. The raw accessors trust the offset they are given (use them after a check).
 */
package ringlink.packet;
