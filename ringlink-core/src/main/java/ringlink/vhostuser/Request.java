package ringlink.vhostuser;

/**
 * The front-end → back-end requests of the vhost-user protocol (QEMU docs/interop/vhost-user.rst,
 * "Front-end message types"), each with the payload size and descriptor count it must carry.
 * {@code MessageCodec.validate} enforces them, so a handler never sees a short payload or a
 * missing descriptor.
 */
public enum Request {
    /** Asks for the back-end's virtio feature bits (reply: u64). */
    GET_FEATURES(1, 0, 0, 0, true),
    /** Acks the virtio features the front-end uses (u64). */
    SET_FEATURES(2, 8, 8, 0, false),
    /** Claims the back-end for this front-end (the first request of a session). */
    SET_OWNER(3, 0, 0, 0, false),
    /** Releases ownership (deprecated by the protocol; no payload). */
    RESET_OWNER(4, 0, 0, 0, false),
    /** Memory regions description: 8-byte header + 32 bytes per region; one fd per region. */
    SET_MEM_TABLE(5, 8 + 32, 8 + 32 * MessageCodec.MAX_TABLE_REGIONS, -1, false),
    /** Sets up the dirty-page log for live migration: size and offset (u64 each), with the log's fd if one is sent. */
    SET_LOG_BASE(6, 16, 16, -2, false),
    /** Passes the dirty-log file descriptor for live migration (one fd). */
    SET_LOG_FD(7, 0, 0, 1, false),
    /** Sets a ring's size (vring state: index and number of entries). */
    SET_VRING_NUM(8, 8, 8, 0, false),
    /** Sets a ring's descriptor, used and available addresses and its log address (struct vhost_vring_addr). */
    SET_VRING_ADDR(9, 40, 40, 0, false),
    /** Sets the index a ring starts from (vring state: index and next available index). */
    SET_VRING_BASE(10, 8, 8, 0, false),
    /** Stops a ring and asks for its next available index (vring state reply). */
    GET_VRING_BASE(11, 8, 8, 0, true),
    /** u64: queue index in bits 0-7, bit 8 = "no fd" (poll instead). */
    SET_VRING_KICK(12, 8, 8, -3, false),
    /** Passes the eventfd the back-end signals when it used buffers (u64 like SET_VRING_KICK). */
    SET_VRING_CALL(13, 8, 8, -3, false),
    /** Passes the eventfd the back-end signals on a ring error (u64 like SET_VRING_KICK). */
    SET_VRING_ERR(14, 8, 8, -3, false),
    /** Asks for the back-end's protocol feature bits (reply: u64). */
    GET_PROTOCOL_FEATURES(15, 0, 0, 0, true),
    /** Acks the protocol features the front-end uses (u64). */
    SET_PROTOCOL_FEATURES(16, 8, 8, 0, false),
    /** Asks for the most queues the back-end supports (reply: u64). */
    GET_QUEUE_NUM(17, 0, 0, 0, true),
    /** Enables or disables a ring (vring state: index and 1/0). */
    SET_VRING_ENABLE(18, 8, 8, 0, false),
    /** Asks the back-end to announce a MAC address with a RARP packet (the MAC in a u64) after migration. */
    SEND_RARP(19, 8, 8, 0, false),
    /** Tells a net back-end the MTU the guest uses (u64). */
    NET_SET_MTU(20, 8, 8, 0, false),
    /** Passes the socket for back-end → front-end requests ({@link Backend}; one fd). */
    SET_BACKEND_REQ_FD(21, 0, 0, 1, false),
    /** struct vhost_iotlb_msg: 26 bytes of fields, 32 with the C padding. */
    IOTLB_MSG(22, 26, 32, 0, true),
    /** Sets a ring's endianness for legacy devices (vring state). */
    SET_VRING_ENDIAN(23, 8, 8, 0, false),
    /** Config space: offset, size, flags (12 bytes) + up to 256 bytes. */
    GET_CONFIG(24, 12, 12 + MessageCodec.MAX_CONFIG_SIZE, 0, true),
    /** Writes the device's config space (same layout as GET_CONFIG). */
    SET_CONFIG(25, 12, 12 + MessageCodec.MAX_CONFIG_SIZE, 0, false),
    /** Creates a crypto device session (crypto back-ends only). */
    CREATE_CRYPTO_SESSION(26, 0, MessageCodec.MAX_PAYLOAD, 0, true),
    /** Closes a crypto device session (session id, u64). */
    CLOSE_CRYPTO_SESSION(27, 8, 8, 0, false),
    /** Postcopy migration: asks the back-end for its userfaultfd (reply with the fd). */
    POSTCOPY_ADVISE(28, 0, 0, 0, true),
    /** Postcopy migration: the back-end should start listening for faults. */
    POSTCOPY_LISTEN(29, 0, 0, 0, false),
    /** Postcopy migration ended; the back-end stops fault handling and acknowledges. */
    POSTCOPY_END(30, 0, 0, 0, true),
    /** Inflight description: mmap size, mmap offset (u64), num queues, queue size (u16), padded to 24. */
    GET_INFLIGHT_FD(31, 20, 24, 0, true),
    /** Passes the shared inflight-I/O buffer back (same layout as GET_INFLIGHT_FD, with the buffer's fd). */
    SET_INFLIGHT_FD(32, 20, 24, 1, false),
    /** Passes a socket for the vhost-user-gpu protocol (one fd). */
    GPU_SET_SOCKET(33, 0, 0, 1, false),
    /** Resets the device to its initial state (every ring disabled). */
    RESET_DEVICE(34, 0, 0, 0, false),
    /** Kicks a ring in-band (with in-band notifications, instead of the kick eventfd; vring state). */
    VRING_KICK(35, 8, 8, 0, false),
    /** Asks for the most memory regions ADD_MEM_REG may add (reply: u64). */
    GET_MAX_MEM_SLOTS(36, 0, 0, 0, true),
    /** Single memory region description: 8 bytes padding + one 32-byte region, with its fd. */
    ADD_MEM_REG(37, 40, 40, 1, false),
    /** Like ADD_MEM_REG; older QEMUs attach the region's fd, which is accepted and closed. */
    REM_MEM_REG(38, 40, 40, -2, false),
    /** Sets the virtio device status byte (u64). */
    SET_STATUS(39, 8, 8, 0, false),
    /** Asks for the virtio device status byte (reply: u64). */
    GET_STATUS(40, 0, 0, 0, true),
    /** Asks for the shared object with a UUID (16 bytes; reply with its fd). */
    GET_SHARED_OBJECT(41, 16, 16, 0, true),
    /** Starts a device state transfer for migration: direction and phase (u32 each), with a pipe's fd. */
    SET_DEVICE_STATE_FD(42, 8, 8, 1, true),
    /** Asks whether the last device state transfer succeeded (reply: u64). */
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
        /** An IOTLB miss or access failure, for a front-end with an IOMMU (struct vhost_iotlb_msg). */
        IOTLB_MSG(1, 26, 32),
        /** The device's config space changed; the front-end should re-read it. */
        CONFIG_CHANGE_MSG(2, 0, 0),
        /** Vring area description: u64 index/flags, size, offset (24 bytes), with an fd. */
        VRING_HOST_NOTIFIER_MSG(3, 24, 24),
        /** An in-band call: a ring has used buffers (instead of the call eventfd; vring state). */
        VRING_CALL(4, 8, 8),
        /** An in-band error notification for a ring (instead of the error eventfd; vring state). */
        VRING_ERR(5, 8, 8),
        /** Tells the front-end of a shared object the back-end exports (a 16-byte UUID). */
        SHARED_OBJECT_ADD(6, 16, 16),
        /** Tells the front-end a shared object is gone (a 16-byte UUID). */
        SHARED_OBJECT_REMOVE(7, 16, 16),
        /** Asks the front-end for a shared object's fd by UUID (16 bytes). */
        SHARED_OBJECT_LOOKUP(8, 16, 16);

        /** The request code on the wire, and the smallest and largest payload accepted. */
        public final int code, minSize, maxSize;

        Backend(int code, int minSize, int maxSize) {
            this.code = code;
            this.minSize = minSize;
            this.maxSize = maxSize;
        }

        /** The request with wire code {@code code}, or null if unknown. */
        public static Backend of(int code) {
            for (Backend b : values()) if (b.code == code) return b;
            return null;
        }
    }
}
