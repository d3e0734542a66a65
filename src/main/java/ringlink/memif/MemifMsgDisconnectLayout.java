package ringlink.memif;

/** {@code memif_msg_disconnect_t} (either way): an error code and a reason (96 bytes, NUL-padded). */
public final class MemifMsgDisconnectLayout {
    private MemifMsgDisconnectLayout() {}

    public static final long OFF_CODE = 0, OFF_STRING = 4;
    public static final int STRING_SIZE = 96;
    public static final long SIZE = 100;
}
