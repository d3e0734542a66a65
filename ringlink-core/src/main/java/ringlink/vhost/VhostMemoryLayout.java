package ringlink.vhost;

/**
 * {@code struct vhost_memory} (linux/vhost_types.h): the argument of VHOST_SET_MEM_TABLE, a
 * header followed by {@code nregions} {@link VhostMemoryRegionLayout} entries.
 * <pre>
 * struct vhost_memory { __u32 nregions; __u32 padding; struct vhost_memory_region regions[0]; };
 * </pre>
 */
public final class VhostMemoryLayout {
    private VhostMemoryLayout() {}

    /** Size of the header (without regions). */
    public static final long SIZE = 8;
    /** Offset of {@code nregions} (u32): the number of regions that follow. */
    public static final long OFF_NREGIONS = 0;
    /** Offset of the u32 padding (0). */
    public static final long OFF_PADDING = 4;
    /** Offset of the first {@link VhostMemoryRegionLayout} entry. */
    public static final long OFF_REGIONS = 8;
}
