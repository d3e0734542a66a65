package ringlink.vhostuser;

/**
 * {@code VhostUserLog} (vhost-user.rst "Log description"): the payload of SET_LOG_BASE with
 * LOG_SHMFD, where the dirty log lies in the file sent with it.
 * <pre>
 * struct VhostUserLog { uint64_t mmap_size; uint64_t mmap_offset; };
 * </pre>
 */
final class VhostUserLogLayout {
    private VhostUserLogLayout() {}

    static final long SIZE = 16;
    static final long OFF_MMAP_SIZE = 0;
    static final long OFF_MMAP_OFFSET = 8;
}
