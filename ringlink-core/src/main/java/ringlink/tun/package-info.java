/**
 * Kernel TUN and TAP devices: {@link ringlink.tun.TunLink} with virtio-net offloads (TSO/USO
 * superpackets, checksum offload), multi-queue, GRO on transmit; {@link ringlink.tun.TunConfig};
 * {@link ringlink.tun.LinkRelay}, a thread that forwards one link to another and finishes offloads
 * the destination lacks.
 */
package ringlink.tun;
