package ringlink.vhostuser;

/**
 * {@code VhostUserMemRegMsg} (vhost-user.rst "Single memory region description"): the payload
 * of ADD_MEM_REG and REM_MEM_REG, one {@link VhostUserMemoryRegionLayout} after 8 bytes of
 * padding.
 * <pre>
 * struct VhostUserMemRegMsg { uint64_t padding; struct VhostUserMemoryRegion region; };
 * </pre>
 */
final class VhostUserMemRegMsgLayout {
    private VhostUserMemRegMsgLayout() {}

    static final long SIZE = 40;
    static final long OFF_PADDING = 0;
    static final long OFF_REGION = 8;
}
