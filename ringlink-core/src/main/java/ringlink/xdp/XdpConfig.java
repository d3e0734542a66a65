package ringlink.xdp;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import ringlink.link.LinkSpec;
import ringlink.sys.Net;

/**
 * How to open an AF_XDP link. Every rule the kernel would enforce late (after mapping memory) is
 * checked by {@link #validate()} first, so a bad configuration fails with a clear message and
 * nothing to clean up.
 *
 * @param ifname     the interface
 * @param queue      its receive/transmit queue
 * @param mode       copy, zero copy, or auto (the kernel's choice)
 * @param attach     where our redirect program runs (ignored with {@code xskMap})
 * @param frames     UMEM frames (half for receive, half for transmit)
 * @param frameSize  bytes per frame: 2048 or 4096, other values in between with {@code unaligned}
 * @param ringSize   entries per ring (a power of two, at most frames / 2)
 * @param headroom   extra UMEM headroom per frame
 * @param unaligned  unaligned-chunk mode
 * @param needWakeup XDP_USE_NEED_WAKEUP (the kernel asks for a syscall only when it sleeps)
 * @param xskMap     a pinned XSKMAP of someone else's XDP program, or null to load ours
 */
public record XdpConfig(String ifname, int queue, XskSocket.Mode mode, XdpProgram.Attach attach, int frames,
                        int frameSize, int ringSize, int headroom, boolean unaligned, boolean needWakeup,
                        String xskMap) {
    /** Defaults of {@link #of}: frames, bytes per frame and entries per ring. */
    public static final int DEFAULT_FRAMES = 4096, DEFAULT_FRAME = 2048, DEFAULT_RING = 2048;

    static final Set<String> PARAMS = Set.of("queue", "mode", "attach", "frames", "frame", "ring", "headroom",
            "unaligned", "wakeup", "xskmap");

    /** Defaults: queue 0, copy mode, generic attach, 4096 frames of 2048 bytes, rings of 2048. */
    public static XdpConfig of(String ifname) {
        return new XdpConfig(ifname, 0, XskSocket.Mode.COPY, XdpProgram.Attach.SKB, DEFAULT_FRAMES, DEFAULT_FRAME,
                DEFAULT_RING, 0, false, true, null);
    }

    /** This configuration on queue {@code q}. */
    public XdpConfig withQueue(int q) { return new XdpConfig(ifname, q, mode, attach, frames, frameSize, ringSize,
            headroom, unaligned, needWakeup, xskMap); }
    /** This configuration in mode {@code m}. */
    public XdpConfig withMode(XskSocket.Mode m) { return new XdpConfig(ifname, queue, m, attach, frames, frameSize,
            ringSize, headroom, unaligned, needWakeup, xskMap); }
    /** This configuration attaching our program in mode {@code a}. */
    public XdpConfig withAttach(XdpProgram.Attach a) { return new XdpConfig(ifname, queue, mode, a, frames, frameSize,
            ringSize, headroom, unaligned, needWakeup, xskMap); }
    /**
     * This configuration with {@code n} frames of {@code size} bytes; the ring size is lowered if needed to the largest
     * power of two at most {@code n / 2}.
     */
    public XdpConfig withFrames(int n, int size) { return new XdpConfig(ifname, queue, mode, attach, n, size,
            Math.min(ringSize, Integer.highestOneBit(Math.max(2, n / 2))), headroom, unaligned, needWakeup, xskMap); }
    /** This configuration with rings of {@code r} entries. */
    public XdpConfig withRing(int r) { return new XdpConfig(ifname, queue, mode, attach, frames, frameSize, r, headroom,
            unaligned, needWakeup, xskMap); }
    /** This configuration in unaligned-chunk mode or not. */
    public XdpConfig withUnaligned(boolean u) { return new XdpConfig(ifname, queue, mode, attach, frames, frameSize,
            ringSize, headroom, u, needWakeup, xskMap); }
    /** This configuration redirecting through the XSKMAP pinned at {@code path} (null: load our own program). */
    public XdpConfig withXskMap(String path) { return new XdpConfig(ifname, queue, mode, attach, frames, frameSize,
            ringSize, headroom, unaligned, needWakeup, path); }

    /**
     * Parses {@code xdp:IFACE?queue=0&mode=copy|zerocopy|auto&attach=skb|drv&frames=4096&frame=2048
     * &ring=2048&headroom=0&unaligned=false&wakeup=true&xskmap=/sys/fs/bpf/PATH}.
     */
    public static XdpConfig parse(LinkSpec spec) {
        spec.checkParams(PARAMS);
        String ifname = spec.requireTarget("interface name");
        XskSocket.Mode mode = switch (spec.param("mode", "copy").toLowerCase(Locale.ROOT)) {
            case "copy" -> XskSocket.Mode.COPY;
            case "zerocopy", "zero-copy", "zc" -> XskSocket.Mode.ZEROCOPY;
            case "auto" -> XskSocket.Mode.AUTO;
            default -> throw new IllegalArgumentException(spec + ": mode must be copy, zerocopy or auto");
        };
        XdpProgram.Attach attach = switch (spec.param("attach", "skb").toLowerCase(Locale.ROOT)) {
            case "skb", "generic" -> XdpProgram.Attach.SKB;
            case "drv", "native" -> XdpProgram.Attach.DRV;
            default -> throw new IllegalArgumentException(spec + ": attach must be skb (generic) or drv (native)");
        };
        int frames = spec.intParam("frames", DEFAULT_FRAMES, 2, 1 << 20);
        int defRing = Math.min(DEFAULT_RING, Integer.highestOneBit(Math.max(2, frames / 2)));
        String xskMap = spec.param("xskmap", null);
        return new XdpConfig(ifname, spec.intParam("queue", 0, 0, 4095), mode, attach, frames,
                spec.intParam("frame", DEFAULT_FRAME, 1, 1 << 16), spec.intParam("ring", defRing, 1, 1 << 20),
                spec.intParam("headroom", 0, 0, 4096), spec.boolParam("unaligned", false),
                        spec.boolParam("wakeup", true),
                xskMap == null || xskMap.isEmpty() ? null : xskMap);
    }

    /**
     * Checks everything that can be checked without creating kernel objects: sizes, the
     * interface's existence and its queue count (from sysfs). Returns the ifindex.
     *
     * @throws IllegalArgumentException naming the rule broken
     * @throws XdpException if the interface does not exist
     */
    public int validate() throws IOException {
        Net.checkName(ifname);
        Umem.validate(frames, frameSize, headroom, unaligned);
        if (Integer.bitCount(ringSize) != 1 || ringSize < 2) {
            throw new IllegalArgumentException("ring size " + ringSize + " must be a power of two (e.g. 1024 or 2048)");
        }
        if ((long) ringSize * 2 > frames) {
            throw new IllegalArgumentException("frames " + frames + " must be at least 2 x ring (" + ringSize
                    + "): one ring's worth for receive and one for transmit");
        }
        long umemBytes = Umem.bytes(frames, frameSize);
        if (!hasCapIpcLock()) {
            long limit = ringlink.sys.Rlimit.get(ringlink.sys.Rlimit.RLIMIT_MEMLOCK).cur();
            if (limit != ringlink.sys.Rlimit.INFINITY && umemBytes > limit) {
                throw new IllegalArgumentException("a UMEM of " + frames + " x " + frameSize + " bytes ("
                        + umemBytes / 1024
                        + " KiB) exceeds RLIMIT_MEMLOCK (" + limit / 1024
                                + " KiB), which the kernel charges it to because this "
                        + "process lacks CAP_IPC_LOCK. Use fewer frames (frames=" + Math.max(2, limit / frameSize)
                                + " fits), "
                        + "raise the limit before starting Java (ulimit -l, systemd LimitMEMLOCK=, docker --ulimit "
                                + "memlock=-1), "
                        + "or grant CAP_IPC_LOCK.");
            }
        }
        int ifindex;
        try {
            ifindex = Net.ifNameToIndex(ifname);
        } catch (ringlink.sys.SysException e) {
            throw new XdpException("no network interface named '" + ifname + "' in this network namespace ("
                    + e.getMessage() + ")", e);
        }
        int queues = rxQueues(ifname);
        if (queues > 0 && queue >= queues) {
            throw new IllegalArgumentException("interface " + ifname + " has " + queues + " receive queue"
                    + (queues == 1 ? "" : "s") + " (0.." + (queues - 1) + "); queue " + queue + " does not exist");
        }
        if (xskMap != null && !Files.exists(Path.of(xskMap))) {
            throw new IllegalArgumentException("xskmap " + xskMap
                    + " does not exist (is bpffs mounted at /sys/fs/bpf?)");
        }
        return ifindex;
    }

    /** True if CAP_IPC_LOCK is in this process's effective set (then the UMEM is not charged to RLIMIT_MEMLOCK). */
    static boolean hasCapIpcLock() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    long caps = Long.parseUnsignedLong(line.substring(7).trim(), 16);
                    return (caps & (1L << 14)) != 0; // CAP_IPC_LOCK = 14
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown: let the kernel decide and explain its answer
        }
        return true;
    }

    /** Number of RX queues from /sys/class/net/IF/queues, or -1 if sysfs does not say. */
    static int rxQueues(String ifname) {
        Path q = Path.of("/sys/class/net", ifname, "queues");
        try (Stream<Path> s = Files.list(q)) {
            return (int) s.filter(p -> p.getFileName().toString().startsWith("rx-")).count();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
