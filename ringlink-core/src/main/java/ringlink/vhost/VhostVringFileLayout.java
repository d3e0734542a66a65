package ringlink.vhost;

/**
 * {@code struct vhost_vring_file} (linux/vhost_types.h): a queue index and a file descriptor
 * (kick/call/err eventfd, or the backend socket for VHOST_NET_SET_BACKEND; −1 unsets).
 * <pre>
 * struct vhost_vring_file { unsigned int index; int fd; };
 * </pre>
 */
final class VhostVringFileLayout {
    private VhostVringFileLayout() {}

    static final long SIZE = 8;
    static final long OFF_INDEX = 0;
    static final long OFF_FD = 4;
}
