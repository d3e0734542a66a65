/**
 * vhost-user over a Unix socket: the back-end ({@link ringlink.vhostuser.BackendLink}, the virtio-net
 * device for QEMU and DPDK virtio-user) and the front-end ({@link ringlink.vhostuser.FrontendLink},
 * the driver for DPDK {@code net_vhost}), with the message codec, reconnect and inflight tracking
 * ({@code vhost-user:PATH}).
 */
package ringlink.vhostuser;
