package ringlink.memif;

/**
 * {@code memif_msg_t} (DPDK drivers/net/memif/memif.h, libmemif memif.h): every control message
 * is exactly 128 bytes, a 16-bit type and then the packed body of that type. Integers are
 * little-endian (both ends share one machine).
 */
public final class MemifMsgLayout {
    private MemifMsgLayout() {}

    /** sizeof(memif_msg_t): messages of any other length are refused (as DPDK does). */
    public static final int SIZE = 128;
    /** Offset of the message type (u16). */
    public static final long OFF_TYPE = 0;
    /** Where the union of message bodies starts (the struct is packed). */
    public static final long OFF_BODY = 2;

    // memif_msg_type_t
    /** Message types ({@code memif_msg_type_t}). */
    public static final int MEMIF_MSG_TYPE_NONE = 0, MEMIF_MSG_TYPE_ACK = 1, MEMIF_MSG_TYPE_HELLO = 2,
            MEMIF_MSG_TYPE_INIT = 3, MEMIF_MSG_TYPE_ADD_REGION = 4, MEMIF_MSG_TYPE_ADD_RING = 5,
            MEMIF_MSG_TYPE_CONNECT = 6, MEMIF_MSG_TYPE_CONNECTED = 7, MEMIF_MSG_TYPE_DISCONNECT = 8;

    /** The value every {@code memif_ring_t} starts with; a ring without it is refused. */
    public static final int MEMIF_COOKIE = 0x3E31F20;
    /** The protocol version we speak: major and minor. */
    public static final int MEMIF_VERSION_MAJOR = 2, MEMIF_VERSION_MINOR = 0;
    /** The protocol version as sent in HELLO and INIT: major in the high byte, minor in the low one. */
    public static final int MEMIF_VERSION = (MEMIF_VERSION_MAJOR << 8) | MEMIF_VERSION_MINOR;
    /** Bytes of a name field (NUL-padded). */
    public static final int MEMIF_NAME_SZ = 32;

    // memif_interface_mode_t
    /** Interface modes ({@code memif_interface_mode_t}). */
    public static final int MEMIF_INTERFACE_MODE_ETHERNET = 0, MEMIF_INTERFACE_MODE_IP = 1,
            MEMIF_INTERFACE_MODE_PUNT_INJECT = 2;

    /** A name for a message type, for errors and logs. */
    public static String typeName(int type) {
        return switch (type) {
            case MEMIF_MSG_TYPE_NONE -> "NONE";
            case MEMIF_MSG_TYPE_ACK -> "ACK";
            case MEMIF_MSG_TYPE_HELLO -> "HELLO";
            case MEMIF_MSG_TYPE_INIT -> "INIT";
            case MEMIF_MSG_TYPE_ADD_REGION -> "ADD_REGION";
            case MEMIF_MSG_TYPE_ADD_RING -> "ADD_RING";
            case MEMIF_MSG_TYPE_CONNECT -> "CONNECT";
            case MEMIF_MSG_TYPE_CONNECTED -> "CONNECTED";
            case MEMIF_MSG_TYPE_DISCONNECT -> "DISCONNECT";
            default -> "type " + type;
        };
    }
}
