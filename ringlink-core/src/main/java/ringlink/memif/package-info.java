/**
 * memif, the shared-memory interface of FD.io VPP and DPDK {@code net_memif}:
 * {@link ringlink.memif.MemifInterface} (the control protocol, server or client role) and one
 * {@link ringlink.memif.MemifLink} per queue pair ({@code memif:SOCKET}). The {@code *Layout}
 * classes name the structures of {@code memif.h}.
 */
package ringlink.memif;
