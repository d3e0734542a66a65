package ringlink.vhostuser;

/**
 * {@code QueueRegionSplit} (vhost-user.rst "Inflight I/O tracking", split virtqueues; DPDK's
 * rte_vhost.h calls it {@code struct rte_vhost_inflight_info_split} and {@code last_batch_head}
 * {@code last_inflight_io}): one queue's region of the inflight buffer, a header followed by
 * {@code desc_num} {@link DescStateSplitLayout} entries.
 * <pre>
 * typedef struct QueueRegionSplit { uint64_t features; uint16_t version; uint16_t desc_num;
 *     uint16_t last_batch_head; uint16_t used_idx; DescStateSplit desc[]; } QueueRegionSplit;
 * </pre>
 */
final class QueueRegionSplitLayout {
    private QueueRegionSplitLayout() {}

    /** The header, before {@code desc}. */
    static final long SIZE = 16;
    static final long OFF_FEATURES = 0;
    static final long OFF_VERSION = 8;
    static final long OFF_DESC_NUM = 10;
    static final long OFF_LAST_BATCH_HEAD = 12;
    static final long OFF_USED_IDX = 14;
    static final long OFF_DESC = 16;

    /** The {@code version} a back-end writes into a region it initialises (the spec's only one). */
    static final int VERSION = 1;
}
