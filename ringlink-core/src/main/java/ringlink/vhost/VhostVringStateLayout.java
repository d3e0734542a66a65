package ringlink.vhost;

/**
 * {@code struct vhost_vring_state} (linux/vhost_types.h): a queue index and a number (queue size
 * for VHOST_SET_VRING_NUM, the next available index for VHOST_SET/GET_VRING_BASE).
 * <pre>
 * struct vhost_vring_state { unsigned int index; unsigned int num; };
 * </pre>
 */
public final class VhostVringStateLayout {
    private VhostVringStateLayout() {}

    /** sizeof(struct vhost_vring_state). */
    public static final long SIZE = 8;
    /** Offset of {@code index} (u32): the queue. */
    public static final long OFF_INDEX = 0;
    /** Offset of {@code num} (u32). */
    public static final long OFF_NUM = 4;
}
