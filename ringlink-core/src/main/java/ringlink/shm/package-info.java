/**
 * Shared-memory queues wire-compatible with gVisor's {@code sharedmem} link:
 * {@link ringlink.shm.ShmLink} ({@code shm:/PATH.sock}), the handshake that passes the queues over
 * a Unix socket, and the {@code *Layout} classes of the queue format.
 */
package ringlink.shm;
