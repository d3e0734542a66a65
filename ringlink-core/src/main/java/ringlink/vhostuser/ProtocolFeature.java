package ringlink.vhostuser;

/** vhost-user protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
public final class ProtocolFeature {
    private ProtocolFeature() {}

    /** Bit numbers, as vhost-user.rst names them (SLAVE_* are BACKEND_* there now). */
    public static final int MQ = 0, LOG_SHMFD = 1, RARP = 2, REPLY_ACK = 3, MTU = 4, BACKEND_REQ = 5,
            CROSS_ENDIAN = 6, CRYPTO_SESSION = 7, PAGEFAULT = 8, CONFIG = 9, BACKEND_SEND_FD = 10,
            HOST_NOTIFIER = 11, INFLIGHT_SHMFD = 12, RESET_DEVICE = 13, INBAND_NOTIFICATIONS = 14,
            CONFIGURE_MEM_SLOTS = 15, STATUS = 16, XEN_MMAP = 17, SHARED_OBJECT = 18, DEVICE_STATE = 19;

    /** The mask of bit {@code b}. */
    public static long bit(int b) { return 1L << b; }

    /** VHOST_USER_F_PROTOCOL_FEATURES: bit 30 of the virtio feature word. */
    public static final long F_PROTOCOL_FEATURES = 1L << 30;

    private static final String[] NAMES = {"MQ", "LOG_SHMFD", "RARP", "REPLY_ACK", "MTU", "BACKEND_REQ",
        "CROSS_ENDIAN", "CRYPTO_SESSION", "PAGEFAULT", "CONFIG", "BACKEND_SEND_FD", "HOST_NOTIFIER",
        "INFLIGHT_SHMFD", "RESET_DEVICE", "INBAND_NOTIFICATIONS", "CONFIGURE_MEM_SLOTS", "STATUS", "XEN_MMAP",
        "SHARED_OBJECT", "DEVICE_STATE"};

    /** A readable list of the bits in {@code mask}. */
    public static String describe(long mask) {
        StringBuilder sb = new StringBuilder();
        for (int b = 0; b < 64; b++) {
            if ((mask & (1L << b)) == 0) continue;
            if (!sb.isEmpty()) sb.append('|');
            sb.append(b < NAMES.length ? NAMES[b] : "bit" + b);
        }
        return sb.isEmpty() ? "none" : sb.toString();
    }
}
