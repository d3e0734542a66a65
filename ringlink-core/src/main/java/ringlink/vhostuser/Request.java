package ringlink.vhostuser;

/**
 * The front-end → back-end requests of the vhost-user protocol (QEMU docs/interop/vhost-user.rst,
 * "Front-end message types"), each with the payload size and descriptor count it must carry.
 * {@code MessageCodec.validate} enforces them, so a handler never sees a short payload or a
 * missing descriptor.
 */
public enum Request {
    GET_FEATURES(1, 0, 0, 0, true),
    SET_FEATURES(2, 8, 8, 0, false),
    SET_OWNER(3, 0, 0, 0, false),
    RESET_OWNER(4, 0, 0, 0, false),
    /** Memory regions description: 8-byte header + 32 bytes per region; one fd per region. */
    SET_MEM_TABLE(5, 8 + 32, 8 + 32 * MessageCodec.MAX_TABLE_REGIONS, -1, false),
    SET_LOG_BASE(6, 16, 16, -2, false),
    SET_LOG_FD(7, 0, 0, 1, false),
    SET_VRING_NUM(8, 8, 8, 0, false),
    SET_VRING_ADDR(9, 40, 40, 0, false),
    SET_VRING_BASE(10, 8, 8, 0, false),
    GET_VRING_BASE(11, 8, 8, 0, true),
    /** u64: queue index in bits 0-7, bit 8 = "no fd" (poll instead). */
    SET_VRING_KICK(12, 8, 8, -3, false),
    SET_VRING_CALL(13, 8, 8, -3, false),
    SET_VRING_ERR(14, 8, 8, -3, false),
    GET_PROTOCOL_FEATURES(15, 0, 0, 0, true),
    SET_PROTOCOL_FEATURES(16, 8, 8, 0, false),
    GET_QUEUE_NUM(17, 0, 0, 0, true),
    SET_VRING_ENABLE(18, 8, 8, 0, false),
    SEND_RARP(19, 8, 8, 0, false),
    NET_SET_MTU(20, 8, 8, 0, false),
    SET_BACKEND_REQ_FD(21, 0, 0, 1, false),
    /** struct vhost_iotlb_msg: 26 bytes of fields, 32 with the C padding. */
    IOTLB_MSG(22, 26, 32, 0, true),
    SET_VRING_ENDIAN(23, 8, 8, 0, false),
    /** Config space: offset, size, flags (12 bytes) + up to 256 bytes. */
    GET_CONFIG(24, 12, 12 + MessageCodec.MAX_CONFIG_SIZE, 0, true),
    SET_CONFIG(25, 12, 12 + MessageCodec.MAX_CONFIG_SIZE, 0, false),
    CREATE_CRYPTO_SESSION(26, 0, MessageCodec.MAX_PAYLOAD, 0, true),
    CLOSE_CRYPTO_SESSION(27, 8, 8, 0, false),
    POSTCOPY_ADVISE(28, 0, 0, 0, true),
    POSTCOPY_LISTEN(29, 0, 0, 0, false),
    POSTCOPY_END(30, 0, 0, 0, true),
    /** Inflight description: mmap size, mmap offset (u64), num queues, queue size (u16), padded to 24. */
    GET_INFLIGHT_FD(31, 20, 24, 0, true),
    SET_INFLIGHT_FD(32, 20, 24, 1, false),
    GPU_SET_SOCKET(33, 0, 0, 1, false),
    RESET_DEVICE(34, 0, 0, 0, false),
    VRING_KICK(35, 8, 8, 0, false),
    GET_MAX_MEM_SLOTS(36, 0, 0, 0, true),
    /** Single memory region description: 8 bytes padding + one 32-byte region, with its fd. */
    ADD_MEM_REG(37, 40, 40, 1, false),
    /** Like ADD_MEM_REG; older QEMUs attach the region's fd, which is accepted and closed. */
    REM_MEM_REG(38, 40, 40, -2, false),
    SET_STATUS(39, 8, 8, 0, false),
    GET_STATUS(40, 0, 0, 0, true),
    GET_SHARED_OBJECT(41, 16, 16, 0, true),
    SET_DEVICE_STATE_FD(42, 8, 8, 1, true),
    CHECK_DEVICE_STATE(43, 0, 0, 0, true);

    /** The request code on the wire. */
    public final int code;
    /** Smallest and largest payload accepted. */
    public final int minSize, maxSize;
    /**
     * Descriptors: n ≥ 0 exactly n; −1 one per memory region; −2 zero or one; −3 one unless the
     * payload's bit 8 ("invalid fd") is set, then none.
     */
    final int fds;
    /** True if the back-end always replies (not only for REPLY_ACK). */
    public final boolean hasReply;

    Request(int code, int minSize, int maxSize, int fds, boolean hasReply) {
        this.code = code;
        this.minSize = minSize;
        this.maxSize = maxSize;
        this.fds = fds;
        this.hasReply = hasReply;
    }

    private static final Request[] BY_CODE = new Request[64];
    static {
        for (Request r : values()) BY_CODE[r.code] = r;
    }

    /** The request with wire code {@code code}, or null if unknown. */
    public static Request of(int code) {
        return code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    /** Back-end → front-end requests (over the SET_BACKEND_REQ_FD channel). */
    public enum Backend {
        IOTLB_MSG(1, 26, 32),
        CONFIG_CHANGE_MSG(2, 0, 0),
        /** Vring area description: u64 index/flags, size, offset (24 bytes), with an fd. */
        VRING_HOST_NOTIFIER_MSG(3, 24, 24),
        VRING_CALL(4, 8, 8),
        VRING_ERR(5, 8, 8),
        SHARED_OBJECT_ADD(6, 16, 16),
        SHARED_OBJECT_REMOVE(7, 16, 16),
        SHARED_OBJECT_LOOKUP(8, 16, 16);

        public final int code, minSize, maxSize;

        Backend(int code, int minSize, int maxSize) {
            this.code = code;
            this.minSize = minSize;
            this.maxSize = maxSize;
        }

        public static Backend of(int code) {
            for (Backend b : values()) if (b.code == code) return b;
            return null;
        }
    }
}
