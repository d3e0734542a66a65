/**
 * AF_PACKET: {@link ringlink.afpacket.PacketLink}, a link over a packet socket bound to an existing
 * interface with TPACKET_V3 receive and transmit rings ({@code packet:IFACE}).
 */
package ringlink.afpacket;
