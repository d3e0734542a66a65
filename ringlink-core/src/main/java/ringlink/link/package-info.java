/**
 * The one API over every transport: {@link ringlink.link.Link} (non-blocking receive and transmit
 * of {@link ringlink.packet.PacketBatch}es), {@link ringlink.link.LinkSpec} ({@code scheme:target?k=v}),
 * {@link ringlink.link.Links#open(String)} (a link from a spec, through the
 * {@link ringlink.link.LinkProvider} services), {@link ringlink.link.Offloads}, counters and the
 * exceptions ({@link ringlink.link.LinkClosedException}, {@link ringlink.link.LinkFailedException}).
 * {@link ringlink.link.PairLink} is an in-memory pair and the reference implementation of the
 * contract.
 */
package ringlink.link;
