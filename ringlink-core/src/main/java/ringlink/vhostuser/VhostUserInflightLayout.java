package ringlink.vhostuser;

/**
 * {@code VhostUserInflight} (vhost-user.rst "Inflight description"): the payload of
 * GET_INFLIGHT_FD (request: num_queues, queue_size; reply: all four) and SET_INFLIGHT_FD.
 * <pre>
 * struct VhostUserInflight { uint64_t mmap_size; uint64_t mmap_offset; uint16_t num_queues; uint16_t queue_size; };
 * </pre>
 */
final class VhostUserInflightLayout {
    private VhostUserInflightLayout() {}

    /** With the trailing padding C gives the struct (the spec's messages are this long). */
    static final long SIZE = 24;
    static final long OFF_MMAP_SIZE = 0;
    static final long OFF_MMAP_OFFSET = 8;
    static final long OFF_NUM_QUEUES = 16;
    static final long OFF_QUEUE_SIZE = 18;
}
