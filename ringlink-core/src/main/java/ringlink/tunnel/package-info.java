/**
 * VXLAN and Geneve L2 tunnel ports over UDP: {@link ringlink.tunnel.TunnelLink} (flooding, learning,
 * flow-hash source ports, TSO as {@code UDP_SEGMENT}, GRO on receive) and
 * {@link ringlink.tunnel.RemoteFdb} ({@code vxlan:}, {@code geneve:} specs).
 */
package ringlink.tunnel;
