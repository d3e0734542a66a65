package ringlink.xdp;

/**
 * The variants of {@code union bpf_attr} (linux/bpf.h) that the XDP program loader uses, as
 * offsets into one zeroed buffer of {@link #SIZE} bytes (the kernel accepts a shorter attr than
 * its own as long as what is passed is zero beyond the fields used).
 */
public final class BpfAttrLayout {
    private BpfAttrLayout() {}

    /** Bytes passed to bpf(2): covers every field used below. */
    public static final long SIZE = 128;
    /** Bytes of a map or program name, NUL included. */
    public static final int BPF_OBJ_NAME_LEN = 16;

    // BPF_MAP_CREATE
    /**
     * BPF_MAP_CREATE: offsets of {@code map_type}, {@code key_size}, {@code value_size}, {@code max_entries},
     * {@code map_flags} and {@code map_name}.
     */
    public static final long OFF_MAP_TYPE = 0, OFF_KEY_SIZE = 4, OFF_VALUE_SIZE = 8, OFF_MAX_ENTRIES = 12,
            OFF_MAP_FLAGS = 16, OFF_MAP_NAME = 28;
    // BPF_MAP_*_ELEM
    /** BPF_MAP_*_ELEM: offsets of {@code map_fd}, {@code key} and {@code value} (pointers) and {@code flags}. */
    public static final long OFF_ELEM_MAP_FD = 0, OFF_ELEM_KEY = 8, OFF_ELEM_VALUE = 16, OFF_ELEM_FLAGS = 24;
    // BPF_PROG_LOAD
    /**
     * BPF_PROG_LOAD: offsets of {@code prog_type}, {@code insn_cnt}, {@code insns}, {@code license}, {@code log_level},
     * {@code log_size}, {@code log_buf}, {@code kern_version}, {@code prog_flags}, {@code prog_name},
     * {@code prog_ifindex} and {@code expected_attach_type}.
     */
    public static final long OFF_PROG_TYPE = 0, OFF_INSN_CNT = 4, OFF_INSNS = 8, OFF_LICENSE = 16,
            OFF_LOG_LEVEL = 24, OFF_LOG_SIZE = 28, OFF_LOG_BUF = 32, OFF_KERN_VERSION = 40, OFF_PROG_FLAGS = 44,
            OFF_PROG_NAME = 48, OFF_PROG_IFINDEX = 64, OFF_EXPECTED_ATTACH_TYPE = 68;
    // BPF_OBJ_PIN / BPF_OBJ_GET
    /** BPF_OBJ_PIN / BPF_OBJ_GET: offsets of {@code pathname} (a pointer), {@code bpf_fd} and {@code file_flags}. */
    public static final long OFF_PATHNAME = 0, OFF_BPF_FD = 8, OFF_FILE_FLAGS = 12;
    // BPF_LINK_CREATE
    /** BPF_LINK_CREATE: offsets of {@code prog_fd}, {@code target_ifindex}, {@code attach_type} and {@code flags}. */
    public static final long OFF_LINK_PROG_FD = 0, OFF_LINK_TARGET_IFINDEX = 4, OFF_LINK_ATTACH_TYPE = 8,
            OFF_LINK_FLAGS = 12;

    /** enum bpf_map_type / bpf_prog_type / bpf_attach_type values used here. */
    public static final int BPF_MAP_TYPE_XSKMAP = 17, BPF_PROG_TYPE_XDP = 6, BPF_XDP = 37;
    /** BPF_MAP_UPDATE_ELEM flags. */
    public static final int BPF_ANY = 0;
    /** src_reg of ld_imm64 whose imm is a map fd. */
    public static final int BPF_PSEUDO_MAP_FD = 1;
    /** Helper number of bpf_redirect_map. */
    public static final int BPF_FUNC_redirect_map = 51;
    /** XDP actions. */
    public static final int XDP_ABORTED = 0, XDP_DROP = 1, XDP_PASS = 2, XDP_TX = 3, XDP_REDIRECT = 4;
    /** XDP_FLAGS_* (linux/if_link.h) for BPF_LINK_CREATE with BPF_XDP. */
    public static final int XDP_FLAGS_UPDATE_IF_NOEXIST = 1, XDP_FLAGS_SKB_MODE = 1 << 1, XDP_FLAGS_DRV_MODE = 1 << 2;
    /** offsetof(struct xdp_md, rx_queue_index). */
    public static final int XDP_MD_RX_QUEUE_INDEX = 16;
}
