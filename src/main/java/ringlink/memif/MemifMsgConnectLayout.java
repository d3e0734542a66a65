package ringlink.memif;

/** {@code memif_msg_connect_t} (client to server, last of the set-up): the client's interface name. */
public final class MemifMsgConnectLayout {
    private MemifMsgConnectLayout() {}

    public static final long OFF_IF_NAME = 0;
    public static final long SIZE = 32;
}
