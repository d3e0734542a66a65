package ringlink.vhostuser;

import ringlink.link.Offloads;

/**
 * What a vhost-user front-end asks for.
 *
 * @param queuePairs number of RX/TX queue pairs
 * @param packed     use packed rings (VIRTIO_F_RING_PACKED must be offered)
 * @param queueSize  descriptors per ring
 * @param offloads   offloads to negotiate (only those the back-end offers are used)
 * @param mrgRxbuf   negotiate MRG_RXBUF (2 KiB receive buffers; packets may span several)
 * @param inflight   ask the back-end for an inflight-tracking buffer (INFLIGHT_SHMFD) and hand it
 *                   to every later back-end, so a restarted one knows what was in flight
 */
public record FrontendConfig(int queuePairs, boolean packed, int queueSize, Offloads offloads, boolean mrgRxbuf,
                             boolean inflight) {
    /** Checks the values. */
    public FrontendConfig {
        if (queuePairs < 1 || queuePairs > 128)
                throw new IllegalArgumentException("queue pairs must be in [1, 128]: " + queuePairs);
        if (queueSize < 2 || queueSize > 32768 || Integer.bitCount(queueSize) != 1) {
            throw new IllegalArgumentException("queue size must be a power of two in [2, 32768]: " + queueSize);
        }
    }

    /** One split queue pair of 256 descriptors, no offloads, MRG_RXBUF. */
    public static FrontendConfig defaults() {
        return new FrontendConfig(1, false, 256, Offloads.NONE, true, false);
    }

    /** A copy with {@code packed} changed. */
    public FrontendConfig withPacked(boolean p) {
            return new FrontendConfig(queuePairs, p, queueSize, offloads, mrgRxbuf, inflight); }
    /** A copy with {@code queuePairs} changed. */
    public FrontendConfig withQueuePairs(int n) {
            return new FrontendConfig(n, packed, queueSize, offloads, mrgRxbuf, inflight); }
    /** A copy with {@code offloads} changed. */
    public FrontendConfig withOffloads(Offloads o) {
            return new FrontendConfig(queuePairs, packed, queueSize, o, mrgRxbuf, inflight); }
    /** A copy with {@code queueSize} changed. */
    public FrontendConfig withQueueSize(int n) {
            return new FrontendConfig(queuePairs, packed, n, offloads, mrgRxbuf, inflight); }
    /** A copy with {@code inflight} changed. */
    public FrontendConfig withInflight(boolean i) {
            return new FrontendConfig(queuePairs, packed, queueSize, offloads, mrgRxbuf, i); }
    /** A copy with {@code mrgRxbuf} changed. */
    public FrontendConfig withMrgRxbuf(boolean m) {
            return new FrontendConfig(queuePairs, packed, queueSize, offloads, m, inflight); }
}
