package ringlink.memif;

/**
 * {@code memif_msg_add_region_t} (packed, client to server, the region's file descriptor rides
 * along with SCM_RIGHTS): region index (regions are numbered 0, 1, ... in order) and size.
 */
public final class MemifMsgAddRegionLayout {
    private MemifMsgAddRegionLayout() {}

    public static final long OFF_INDEX = 0, OFF_SIZE = 2;
    public static final long SIZE = 10;
}
