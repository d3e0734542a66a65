package ringlink.sys;

import java.lang.foreign.MemorySegment;

/**
 * The bpf(2) system call (no libbpf): the caller builds {@code union bpf_attr} in a segment.
 * Commands are named as in linux/bpf.h.
 */
public final class Bpf {
    private Bpf() {}

    /** __NR_bpf on x86-64. */
    static final long SYS_BPF = 321;

    public static final int BPF_MAP_CREATE = 0, BPF_MAP_LOOKUP_ELEM = 1, BPF_MAP_UPDATE_ELEM = 2,
            BPF_MAP_DELETE_ELEM = 3, BPF_PROG_LOAD = 5, BPF_OBJ_PIN = 6, BPF_OBJ_GET = 7,
            BPF_PROG_GET_FD_BY_ID = 13, BPF_MAP_GET_FD_BY_ID = 14, BPF_OBJ_GET_INFO_BY_FD = 15,
            BPF_LINK_CREATE = 28, BPF_LINK_UPDATE = 29, BPF_LINK_DETACH = 34;

    /**
     * bpf(cmd, attr, attr.byteSize()). Returns the non-negative result (an fd for commands that
     * create objects: wrap it with {@link Fd#adopt}). EINTR and EAGAIN (which BPF_PROG_LOAD may
     * return transiently) are retried a bounded number of times.
     */
    public static long call(int cmd, MemorySegment attr, String what) throws SysException {
        if (!attr.isNative()) throw new IllegalArgumentException("bpf_attr must be native memory");
        for (int attempt = 0; ; attempt++) {
            long r = LibC.syscall(SYS_BPF, cmd, attr.address(), attr.byteSize());
            if (r >= 0) return r;
            int e = LibC.errno();
            if ((e == Errno.EINTR || e == Errno.EAGAIN) && attempt < 5) continue;
            throw new SysException("bpf(" + what + ")", e, null);
        }
    }
}
