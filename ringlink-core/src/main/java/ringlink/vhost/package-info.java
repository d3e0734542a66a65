/**
 * Kernel vhost-net: the ioctl control plane ({@link ringlink.vhost.VhostDevice}) and
 * {@link ringlink.vhost.VhostNetLink}, a link over a TAP backend served by the kernel through
 * virtio rings ({@code vhost-net:tap=NAME}).
 */
package ringlink.vhost;
