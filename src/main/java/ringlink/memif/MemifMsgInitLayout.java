package ringlink.memif;

/**
 * {@code memif_msg_init_t} (packed, client to server): the version the client chose, the
 * interface id it wants, the mode ({@code mode:8}, one byte), an optional secret (24 bytes,
 * NUL-padded) and the client's name.
 */
public final class MemifMsgInitLayout {
    private MemifMsgInitLayout() {}

    public static final long OFF_VERSION = 0, OFF_ID = 2, OFF_MODE = 6, OFF_SECRET = 7, OFF_NAME = 31;
    public static final int SECRET_SIZE = 24;
    public static final long SIZE = 63;
}
