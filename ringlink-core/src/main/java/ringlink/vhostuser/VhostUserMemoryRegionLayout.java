package ringlink.vhostuser;

import ringlink.vhost.VhostMemoryRegionLayout;

/**
 * {@code VhostUserMemoryRegion} (vhost-user.rst "Memory region description", QEMU
 * hw/virtio/vhost-user.c): one region of SET_MEM_TABLE and of ADD/REM_MEM_REG. It is the kernel's
 * {@code struct vhost_memory_region} ({@link VhostMemoryRegionLayout}) with {@code flags_padding}
 * turned into {@code mmap_offset}, the offset of the region in the file sent with it.
 * <pre>
 * struct VhostUserMemoryRegion { uint64_t guest_phys_addr; uint64_t memory_size; uint64_t userspace_addr;
 *     uint64_t mmap_offset; };
 * </pre>
 */
final class VhostUserMemoryRegionLayout {
    private VhostUserMemoryRegionLayout() {}

    static final long SIZE = VhostMemoryRegionLayout.SIZE;
    static final long OFF_GUEST_PHYS_ADDR = VhostMemoryRegionLayout.OFF_GUEST_PHYS_ADDR;
    static final long OFF_MEMORY_SIZE = VhostMemoryRegionLayout.OFF_MEMORY_SIZE;
    static final long OFF_USERSPACE_ADDR = VhostMemoryRegionLayout.OFF_USERSPACE_ADDR;
    static final long OFF_MMAP_OFFSET = VhostMemoryRegionLayout.OFF_FLAGS_PADDING;
}
