/**
 * Batched UDP datagrams as packets: {@link ringlink.udp.UdpLink} ({@code udp:ADDR:PORT}) with
 * {@code recvmmsg}/{@code sendmmsg}, {@code UDP_SEGMENT} on transmit and {@code UDP_GRO} on receive;
 * the peer table that names datagram endpoints in {@link ringlink.packet.PacketBatch}.
 */
package ringlink.udp;
