package ringlink.vhostuser;

/**
 * {@code DescStatePacked} (vhost-user.rst; DPDK's {@code struct rte_vhost_inflight_desc_packed}):
 * one entry of a packed ring's inflight region: list links and chain bookkeeping, then a copy of
 * the ring descriptor (id, flags, len, addr).
 * <pre>
 * typedef struct DescStatePacked { uint8_t inflight; uint8_t padding; uint16_t next; uint16_t last;
 *     uint16_t num; uint64_t counter; uint16_t id; uint16_t flags; uint32_t len; uint64_t addr; } DescStatePacked;
 * </pre>
 */
final class DescStatePackedLayout {
    private DescStatePackedLayout() {}

    static final long SIZE = 32;
    static final long OFF_INFLIGHT = 0;
    static final long OFF_PADDING = 1;
    static final long OFF_NEXT = 2;
    static final long OFF_LAST = 4;
    static final long OFF_NUM = 6;
    static final long OFF_COUNTER = 8;
    static final long OFF_ID = 16;
    static final long OFF_FLAGS = 18;
    static final long OFF_LEN = 20;
    static final long OFF_ADDR = 24;
}
