package ringlink.memif;

/** {@code memif_msg_connected_t} (server to client, the answer to CONNECT): the server's interface name. */
public final class MemifMsgConnectedLayout {
    private MemifMsgConnectedLayout() {}

    public static final long OFF_IF_NAME = 0;
    public static final long SIZE = 32;
}
