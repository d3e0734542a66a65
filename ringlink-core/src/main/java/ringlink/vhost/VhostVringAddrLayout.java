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

    public static final long SIZE = 40;
    public static final long OFF_INDEX = 0;
    public static final long OFF_FLAGS = 4;
    public static final long OFF_DESC_USER_ADDR = 8;
    public static final long OFF_USED_USER_ADDR = 16;
    public static final long OFF_AVAIL_USER_ADDR = 24;
    public static final long OFF_LOG_GUEST_ADDR = 32;

    /**
     * {@code flags} bit <em>number</em> (the mask is {@code 1 << VHOST_VRING_F_LOG}): log used-ring
     * writes at {@code log_guest_addr} (live migration; the vhost-user back-end honours it).
     */
    public static final int VHOST_VRING_F_LOG = 0;
}
