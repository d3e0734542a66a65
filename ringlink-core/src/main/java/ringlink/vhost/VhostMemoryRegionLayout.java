package ringlink.vhost;

/**
 * {@code struct vhost_memory_region} (linux/vhost_types.h): one region of the memory table,
 * guest-physical range to the user address where this process has it mapped.
 * <pre>
 * struct vhost_memory_region { __u64 guest_phys_addr; __u64 memory_size; __u64 userspace_addr; __u64 flags_padding; };
 * </pre>
 */
public final class VhostMemoryRegionLayout {
    private VhostMemoryRegionLayout() {}

    /** sizeof(struct vhost_memory_region). */
    public static final long SIZE = 32;
    /** Offset of {@code guest_phys_addr} (u64): where the region starts in guest-physical space. */
    public static final long OFF_GUEST_PHYS_ADDR = 0;
    /** Offset of {@code memory_size} (u64, bytes). */
    public static final long OFF_MEMORY_SIZE = 8;
    /** Offset of {@code userspace_addr} (u64): where this process has the region mapped. */
    public static final long OFF_USERSPACE_ADDR = 16;
    /** Offset of {@code flags_padding} (u64, 0). */
    public static final long OFF_FLAGS_PADDING = 24;
}
