package ringlink.xdp;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import ringlink.sys.Errno;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.Pointers;
import ringlink.sys.Rlimit;
import ringlink.sys.SysException;
import ringlink.sys.Sockets;

/**
 * The packet memory an AF_XDP socket shares with the kernel: {@code frames} frames of
 * {@code frameSize} bytes in one page-aligned anonymous mapping.
 *
 * <p>Frame sizes 2048 and 4096 use the kernel's aligned mode (the kernel finds a frame's start by
 * masking an address). Any other size in [2048, 4096] needs unaligned-chunk mode; frames are
 * then packed so that none crosses a page boundary (the kernel rejects TX descriptors that span
 * two pages it cannot prove contiguous).
 *
 * <p>The UMEM outlives the sockets that use it: close every socket first.
 */
public final class Umem implements AutoCloseable {
    /** Smallest and largest chunk size the kernel accepts without huge pages. */
    public static final int MIN_FRAME = 2048, MAX_FRAME = 4096;
    /** XDP_PACKET_HEADROOM: the kernel reserves this in front of received data in every frame. */
    public static final int XDP_PACKET_HEADROOM = 256;
    static final int PAGE = 4096;

    private final Mapping mapping;
    private final MemorySegment mem;
    private final int frames;
    private final int frameSize;
    private final int headroom;
    private final boolean unaligned;
    private final int perPage;
    private final long addrMask;

    private Umem(Mapping mapping, int frames, int frameSize, int headroom, boolean unaligned) {
        this.mapping = mapping;
        this.mem = mapping.segment();
        this.frames = frames;
        this.frameSize = frameSize;
        this.headroom = headroom;
        this.unaligned = unaligned;
        this.perPage = PAGE / frameSize;
        this.addrMask = unaligned ? XdpDescLayout.XSK_UNALIGNED_BUF_ADDR_MASK : ~((long) frameSize - 1);
    }

    /**
     * Checks a configuration without touching the kernel; throws {@link IllegalArgumentException}
     * with the rule that was broken.
     */
    public static void validate(int frames, int frameSize, int headroom, boolean unaligned) {
        if (frameSize < MIN_FRAME || frameSize > MAX_FRAME) {
            throw new IllegalArgumentException("frame size " + frameSize + " must be in [" + MIN_FRAME + ", "
                    + MAX_FRAME + "]");
        }
        if (!unaligned && Integer.bitCount(frameSize) != 1) {
            throw new IllegalArgumentException("frame size " + frameSize
                    + " is not a power of two: use 2048 or 4096, or unaligned=true (unaligned-chunk mode)");
        }
        if (frames < 2 || frames > (1 << 20))
                throw new IllegalArgumentException("frames " + frames + " must be in [2, 1048576]");
        if (headroom < 0 || headroom + XDP_PACKET_HEADROOM + 128 > frameSize) {
            throw new IllegalArgumentException("headroom " + headroom + " leaves no room for a packet in a " + frameSize
                    + "-byte frame");
        }
    }

    /** Bytes of the mapping for this configuration. */
    public static long bytes(int frames, int frameSize) {
        int perPage = PAGE / frameSize;
        return ((long) (frames + perPage - 1) / perPage) * PAGE;
    }

    /** Maps the memory (not yet registered with any socket). */
    public static Umem create(int frames, int frameSize, int headroom, boolean unaligned) throws SysException {
        validate(frames, frameSize, headroom, unaligned);
        Mapping m = Mapping.anonymous(bytes(frames, frameSize), "XDP UMEM");
        return new Umem(m, frames, frameSize, headroom, unaligned);
    }

    /**
     * XDP_UMEM_REG on {@code xsk}. Translates the memlock failure into an actionable message.
     */
    void register(Fd xsk) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment reg = a.allocate(XdpUmemRegLayout.LAYOUT);
            Pointers.store(reg, XdpUmemRegLayout.OFF_ADDR, mapping.segment());
            reg.set(ValueLayout.JAVA_LONG, XdpUmemRegLayout.OFF_LEN, mapping.length());
            reg.set(ValueLayout.JAVA_INT, XdpUmemRegLayout.OFF_CHUNK_SIZE, frameSize);
            reg.set(ValueLayout.JAVA_INT, XdpUmemRegLayout.OFF_HEADROOM, headroom);
            reg.set(ValueLayout.JAVA_INT, XdpUmemRegLayout.OFF_FLAGS,
                    unaligned ? XdpUmemRegLayout.XDP_UMEM_UNALIGNED_CHUNK_FLAG : 0);
            Sockets.setsockopt(xsk, Sockets.SOL_XDP, XdpMmapOffsetsLayout.XDP_UMEM_REG, reg, "XDP_UMEM_REG");
        } catch (SysException e) {
            if (e.is(Errno.ENOBUFS) || e.is(Errno.ENOMEM) || e.is(Errno.EPERM)) {
                throw new XdpException(memlockAdvice(mapping.length(), e), e);
            }
            throw new XdpException("cannot register the UMEM (" + frames + " x " + frameSize + " bytes"
                    + (unaligned ? ", unaligned" : "") + "): " + e.getMessage(), e);
        }
    }

    /**
     * What to do when the kernel refuses to pin the UMEM. Without CAP_IPC_LOCK the kernel charges
     * the UMEM's pages to the user's RLIMIT_MEMLOCK (it answers ENOBUFS past the limit); BPF maps
     * and programs are charged to the memory cgroup instead and do not count.
     */
    static String memlockAdvice(long bytes, SysException e) {
        String lim;
        try {
            Rlimit.Limit l = Rlimit.get(Rlimit.RLIMIT_MEMLOCK);
            lim = l.unlimited() ? "unlimited" : (l.cur() / 1024) + " KiB (hard "
                    + (l.max() == Rlimit.INFINITY ? "unlimited" : (l.max() / 1024) + " KiB") + ")";
        } catch (SysException x) {
            lim = "unknown";
        }
        return "cannot register a UMEM of " + (bytes / 1024) + " KiB: " + e.getMessage()
                + ". Without CAP_IPC_LOCK the UMEM is charged to RLIMIT_MEMLOCK, which is " + lim
                + " and shared by every UMEM of this user. Either use fewer/smaller frames (frames=N, frame=2048), "
                + "raise the limit before starting Java (`ulimit -l <KiB>`, systemd LimitMEMLOCK=, docker --ulimit "
                        + "memlock=-1; "
                + "above the hard limit this needs CAP_SYS_RESOURCE), or grant the process CAP_IPC_LOCK "
                + "(e.g. setcap cap_ipc_lock,cap_net_admin,cap_net_raw,cap_bpf+ep on the java binary).";
    }

    /** The address (offset in the UMEM) of frame {@code i}'s first byte. */
    public long frameAddr(int i) {
        return (long) (i / perPage) * PAGE + (long) (i % perPage) * frameSize;
    }

    /** The frame base of a descriptor address (drops the data offset the kernel added). */
    long frameBase(long addr) {
        return addr & addrMask;
    }

    /** The offset of a descriptor's data in the UMEM (unaligned mode carries it in the top 16 bits). */
    long dataAddr(long addr) {
        return unaligned ? (addr & XdpDescLayout.XSK_UNALIGNED_BUF_ADDR_MASK)
                + (addr >>> XdpDescLayout.XSK_UNALIGNED_BUF_OFFSET_SHIFT) : addr;
    }

    /** The whole UMEM as one segment (the frames, at their UMEM offsets). */
    public MemorySegment memory() { return mem; }
    /** The number of frames. */
    public int frames() { return frames; }
    /** Bytes per frame (the chunk size registered with the kernel). */
    public int frameSize() { return frameSize; }
    /** Extra headroom per frame registered with the kernel, in bytes (on top of {@link #XDP_PACKET_HEADROOM}). */
    public int headroom() { return headroom; }
    /** True if the UMEM is registered in unaligned-chunk mode. */
    public boolean unaligned() { return unaligned; }
    /** Bytes of the mapping (page-aligned; at least {@code frames * frameSize}). */
    public long size() { return mapping.length(); }
    /** The mapping's native address (registered as the UMEM's {@code addr}). */
    public long address() { return mapping.address(); }

    /** The largest packet that fits a frame on receive (the kernel keeps XDP_PACKET_HEADROOM + headroom in front). */
    public int maxRxPacket() { return frameSize - XDP_PACKET_HEADROOM - headroom; }

    /** Unmaps the memory. Close the sockets using it first. */
    @Override
    public void close() {
        mapping.close();
    }
}
