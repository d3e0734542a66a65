package ringlink.vhostuser;

/**
 * {@code DescStateSplit} (vhost-user.rst; DPDK's {@code struct rte_vhost_inflight_desc_split}):
 * the inflight state of one descriptor head of a split ring.
 * <pre>
 * typedef struct DescStateSplit { uint8_t inflight; uint8_t padding[5]; uint16_t next;
 *     uint64_t counter; } DescStateSplit;
 * </pre>
 */
final class DescStateSplitLayout {
    private DescStateSplitLayout() {}

    static final long SIZE = 16;
    static final long OFF_INFLIGHT = 0;
    static final long OFF_PADDING = 1;
    static final long OFF_NEXT = 6;
    static final long OFF_COUNTER = 8;
}
