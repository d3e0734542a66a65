package ringlink.xdp;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A tiny encoder for eBPF instructions ({@code struct bpf_insn}: u8 code, u8 dst:4/src:4,
 * s16 off, s32 imm; little endian), enough to write small programs such as the XSK redirect
 * without clang or libbpf. Instructions are appended in order; {@link #toSegment} gives the
 * array BPF_PROG_LOAD wants.
 */
public final class BpfAssembler {
    // instruction classes
    static final int BPF_LD = 0x00, BPF_LDX = 0x01, BPF_ST = 0x02, BPF_STX = 0x03, BPF_ALU = 0x04,
            BPF_JMP = 0x05, BPF_ALU64 = 0x07;
    // size
    static final int BPF_W = 0x00, BPF_H = 0x08, BPF_B = 0x10, BPF_DW = 0x18;
    // mode
    static final int BPF_IMM = 0x00, BPF_MEM = 0x60;
    // ALU/JMP ops and source
    static final int BPF_K = 0x00, BPF_X = 0x08, BPF_MOV = 0xb0, BPF_ADD = 0x00, BPF_JEQ = 0x10,
            BPF_CALL = 0x80, BPF_EXIT = 0x90;

    /** Registers r0..r10. */
    public static final int R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R10 = 10;

    /** Bytes of one BPF instruction ({@code struct bpf_insn}). */
    public static final int INSN_SIZE = 8;

    private long[] insns = new long[16];
    private int n;

    private BpfAssembler emit(int code, int dst, int src, int off, int imm) {
        if (dst < 0 || dst > 10 || src < 0 || src > 10) throw new IllegalArgumentException("bad register");
        if (n == insns.length) insns = Arrays.copyOf(insns, n * 2);
        // little-endian struct bpf_insn packed into one long: byte 0 code, byte 1 regs, 2-3 off, 4-7 imm
        insns[n++] = (code & 0xffL) | ((long) ((src << 4) | dst) << 8) | ((off & 0xffffL) << 16)
                | ((imm & 0xffffffffL) << 32);
        return this;
    }

    /** {@code dst = *(u32 *)(src + off)}. */
    public BpfAssembler ldxW(int dst, int src, int off) { return emit(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0); }

    /** {@code dst = *(u64 *)(src + off)}. */
    public BpfAssembler ldxDW(int dst, int src, int off) { return emit(BPF_LDX | BPF_MEM | BPF_DW, dst, src, off, 0); }

    /** {@code dst = imm} (64-bit register, sign-extended 32-bit immediate). */
    public BpfAssembler mov64Imm(int dst, int imm) { return emit(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }

    /** {@code dst = src} (64-bit). */
    public BpfAssembler mov64Reg(int dst, int src) { return emit(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }

    /** {@code dst = map} for the map with file descriptor {@code mapFd} (two instruction slots). */
    public BpfAssembler ldMapFd(int dst, int mapFd) {
        emit(BPF_LD | BPF_DW | BPF_IMM, dst, BpfAttrLayout.BPF_PSEUDO_MAP_FD, 0, mapFd);
        return emit(0, 0, 0, 0, 0);
    }

    /** {@code r0 = helper(r1..r5)}. */
    public BpfAssembler call(int helper) { return emit(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }

    /** {@code return r0}. */
    public BpfAssembler exit() { return emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

    /** Number of instruction slots so far. */
    public int count() { return n; }

    /** The raw 64-bit encoding of slot {@code i} (for tests). */
    public long insn(int i) {
        java.util.Objects.checkIndex(i, n);
        return insns[i];
    }

    /** The instructions as a native array of {@code struct bpf_insn}. */
    public MemorySegment toSegment(SegmentAllocator alloc) {
        MemorySegment s = alloc.allocate((long) n * INSN_SIZE, 8);
        for (int i = 0; i < n; i++) s.set(ValueLayout.JAVA_LONG, (long) i * INSN_SIZE, insns[i]);
        return s;
    }

    /**
     * The AF_XDP redirect program: {@code return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);}
     * Frames for a queue with a socket in {@code xsks} go to that socket, everything else
     * continues up the kernel stack (so ARP and ping keep working).
     */
    public static BpfAssembler xskRedirect(int xskMapFd) {
        return new BpfAssembler()
                .ldxW(R2, R1, BpfAttrLayout.XDP_MD_RX_QUEUE_INDEX)
                .ldMapFd(R1, xskMapFd)
                .mov64Imm(R3, BpfAttrLayout.XDP_PASS)
                .call(BpfAttrLayout.BPF_FUNC_redirect_map)
                .exit();
    }
}
