package ringlink.vhost;

/**
 * {@code struct vhost_vring_addr} (linux/vhost_types.h): where a queue's three parts are, as
 * addresses in this process (not guest-physical), for VHOST_SET_VRING_ADDR.
 * <pre>
 * struct vhost_vring_addr { unsigned int index; unsigned int flags;
 *     __u64 desc_user_addr; __u64 used_user_addr; __u64 avail_user_addr; __u64 log_guest_addr; };
 * </pre>
 */
public final class VhostVringAddrLayout {
    private VhostVringAddrLayout() {}

    /** sizeof(struct vhost_vring_addr). */
    public static final long SIZE = 40;
    /** Offset of {@code index} (u32): the queue. */
    public static final long OFF_INDEX = 0;
    /** Offset of {@code flags} (u32; bit {@link #VHOST_VRING_F_LOG}). */
    public static final long OFF_FLAGS = 4;
    /** Offset of {@code desc_user_addr} (u64): the descriptor table. */
    public static final long OFF_DESC_USER_ADDR = 8;
    /** Offset of {@code used_user_addr} (u64): the used ring. */
    public static final long OFF_USED_USER_ADDR = 16;
    /** Offset of {@code avail_user_addr} (u64): the available ring. */
    public static final long OFF_AVAIL_USER_ADDR = 24;
    /** Offset of {@code log_guest_addr} (u64): where used-ring writes are logged (guest-physical). */
    public static final long OFF_LOG_GUEST_ADDR = 32;

    /**
     * {@code flags} bit <em>number</em> (the mask is {@code 1 << VHOST_VRING_F_LOG}): log used-ring
     * writes at {@code log_guest_addr} (live migration; the vhost-user back-end honours it).
     */
    public static final int VHOST_VRING_F_LOG = 0;
}
