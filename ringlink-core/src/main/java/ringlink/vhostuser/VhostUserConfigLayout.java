package ringlink.vhostuser;

/**
 * {@code VhostUserConfig} (vhost-user.rst "Device config space"): the payload of GET_CONFIG and
 * SET_CONFIG, a header and {@code size} bytes of the device's config space.
 * <pre>
 * struct VhostUserConfig { uint32_t offset; uint32_t size; uint32_t flags; uint8_t region[]; };
 * </pre>
 */
final class VhostUserConfigLayout {
    private VhostUserConfigLayout() {}

    /** The header, before {@code region}. */
    static final long SIZE = 12;
    static final long OFF_OFFSET = 0;
    static final long OFF_SIZE = 4;
    static final long OFF_FLAGS = 8;
    static final long OFF_REGION = 12;
}
