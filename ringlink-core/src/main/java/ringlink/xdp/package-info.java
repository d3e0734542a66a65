/**
 * AF_XDP: {@link ringlink.xdp.XdpLink} ({@code xdp:IFACE}) over a UMEM and its four rings, with an
 * XDP redirect program assembled in Java and loaded with {@code bpf(2)}
 * ({@link ringlink.xdp.XdpProgram}).
 */
package ringlink.xdp;
