package ringlink.vhostuser;

/**
 * {@code VhostUserHeader} (vhost-user.rst "Message Specification"; QEMU hw/virtio/vhost-user.c):
 * the 12-byte header every message starts with, followed by {@code size} bytes of payload.
 * <pre>
 * typedef struct VhostUserHeader { uint32_t request; uint32_t flags; uint32_t size; }
 *     __attribute__((packed)) VhostUserHeader;
 * </pre>
 */
final class VhostUserHeaderLayout {
    private VhostUserHeaderLayout() {}

    static final long SIZE = 12;
    static final long OFF_REQUEST = 0;
    static final long OFF_FLAGS = 4;
    static final long OFF_SIZE = 8;
}
