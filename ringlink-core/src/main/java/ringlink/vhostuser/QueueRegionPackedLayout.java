package ringlink.vhostuser;

/**
 * {@code QueueRegionPacked} (vhost-user.rst "Inflight I/O tracking", packed virtqueues; DPDK's
 * {@code struct rte_vhost_inflight_info_packed}): one queue's region of the inflight buffer, a
 * 32-byte header followed by {@code desc_num} {@link DescStatePackedLayout} entries.
 * <pre>
 * typedef struct QueueRegionPacked { uint64_t features; uint16_t version; uint16_t desc_num;
 *     uint16_t free_head; uint16_t old_free_head; uint16_t used_idx; uint16_t old_used_idx;
 *     uint8_t used_wrap_counter; uint8_t old_used_wrap_counter; uint8_t padding[7];
 *     DescStatePacked desc[]; } QueueRegionPacked;
 * </pre>
 */
final class QueueRegionPackedLayout {
    private QueueRegionPackedLayout() {}

    /** The header, before {@code desc}. */
    static final long SIZE = 32;
    static final long OFF_FEATURES = 0;
    static final long OFF_VERSION = 8;
    static final long OFF_DESC_NUM = 10;
    static final long OFF_FREE_HEAD = 12;
    static final long OFF_OLD_FREE_HEAD = 14;
    static final long OFF_USED_IDX = 16;
    static final long OFF_OLD_USED_IDX = 18;
    static final long OFF_USED_WRAP_COUNTER = 20;
    static final long OFF_OLD_USED_WRAP_COUNTER = 21;
    static final long OFF_PADDING = 22;
    static final long OFF_DESC = 32;
}
