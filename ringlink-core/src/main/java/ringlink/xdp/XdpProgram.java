package ringlink.xdp;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import ringlink.sys.Bpf;
import ringlink.sys.Errno;
import ringlink.sys.Fd;
import ringlink.sys.Pointers;
import ringlink.sys.SysException;

/**
 * The XDP side of AF_XDP: an XSKMAP (queue index → socket) and, when we own it, the program that
 * redirects each frame to the socket of its receive queue and passes everything else to the
 * kernel stack, attached to an interface through a BPF link.
 *
 * <p>Built with bpf(2) only: the program is assembled by {@link BpfAssembler#xskRedirect}. The
 * attachment is a BPF link (BPF_LINK_CREATE), so it disappears when {@link #close()} closes the
 * link descriptor, also if the process dies, and never leaves a stale program on the interface.
 *
 * <p>A library user who loads their own XDP program can instead hand us their XSKMAP
 * ({@link #useMap(Fd)} or {@link #usePinnedMap(String)}): we only insert and remove our sockets.
 */
public final class XdpProgram implements AutoCloseable {
    /** Where the program is attached: generic (skb) or native (driver) mode. */
    public enum Attach {
        /** Generic XDP (XDP_FLAGS_SKB_MODE): works on every device, frames are already skbs. */
        SKB(BpfAttrLayout.XDP_FLAGS_SKB_MODE),
        /** Native XDP (XDP_FLAGS_DRV_MODE): the driver runs the program; needed for zero copy. */
        DRV(BpfAttrLayout.XDP_FLAGS_DRV_MODE);

        final int flag;

        Attach(int flag) { this.flag = flag; }
    }

    private final Fd map;
    private final Fd prog;   // null when the map belongs to someone else's program
    private final Fd link;   // null likewise
    private final int ifindex;
    private final Attach attach;
    private final int maxEntries;

    private XdpProgram(Fd map, Fd prog, Fd link, int ifindex, Attach attach, int maxEntries) {
        this.map = map;
        this.prog = prog;
        this.link = link;
        this.ifindex = ifindex;
        this.attach = attach;
        this.maxEntries = maxEntries;
    }

    /**
     * Creates an XSKMAP with {@code queues} entries, loads the redirect program and attaches it
     * to {@code ifindex} in {@code attach} mode.
     *
     * @throws XdpException with the verifier log or a hint (e.g. "another XDP program is
     *         attached") when a step fails
     */
    public static XdpProgram attach(int ifindex, String ifname, Attach attach, int queues) throws IOException {
        if (queues < 1 || queues > 4096) throw new IllegalArgumentException("queues must be in [1, 4096]: " + queues);
        Fd map = createXskMap(queues, "rl_xsks");
        Fd prog = null;
        try {
            prog = loadRedirect(map);
            Fd link = linkCreate(prog, ifindex, ifname, attach);
            return new XdpProgram(map, prog, link, ifindex, attach, queues);
        } catch (IOException | RuntimeException e) {
            if (prog != null) prog.close();
            map.close();
            throw e;
        }
    }

    /** Uses an XSKMAP someone else created (their program redirects into it). Takes ownership of {@code mapFd}. */
    public static XdpProgram useMap(Fd mapFd) {
        return new XdpProgram(mapFd, null, null, 0, null, -1);
    }

    /** Opens an XSKMAP pinned in bpffs (e.g. /sys/fs/bpf/myprog/xsks_map) with BPF_OBJ_GET. */
    public static XdpProgram usePinnedMap(String path) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = a.allocate(BpfAttrLayout.SIZE, 8);
            Pointers.store(attr, BpfAttrLayout.OFF_PATHNAME, a.allocateFrom(path));
            try {
                return useMap(Fd.adopt((int) Bpf.call(Bpf.BPF_OBJ_GET, attr, "BPF_OBJ_GET " + path), "xskmap " + path));
            } catch (SysException e) {
                throw new XdpException("cannot open the pinned XSKMAP " + path + ": " + e.getMessage()
                        + (e.is(Errno.ENOENT) ? " (nothing pinned there; is bpffs mounted at /sys/fs/bpf?)" : ""), e);
            }
        }
    }

    /** Pins the XSKMAP at {@code path} in bpffs (so another process can find it). */
    public void pinMap(String path) throws IOException {
        int f = map.acquire();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = a.allocate(BpfAttrLayout.SIZE, 8);
            Pointers.store(attr, BpfAttrLayout.OFF_PATHNAME, a.allocateFrom(path));
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_BPF_FD, f);
            Bpf.call(Bpf.BPF_OBJ_PIN, attr, "BPF_OBJ_PIN " + path);
        } finally {
            map.release();
        }
    }

    static Fd createXskMap(int entries, String name) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = a.allocate(BpfAttrLayout.SIZE, 8);
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_MAP_TYPE, BpfAttrLayout.BPF_MAP_TYPE_XSKMAP);
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_KEY_SIZE, 4);
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_VALUE_SIZE, 4);
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_MAX_ENTRIES, entries);
            putName(attr, BpfAttrLayout.OFF_MAP_NAME, name);
            try {
                return Fd.adopt((int) Bpf.call(Bpf.BPF_MAP_CREATE, attr, "BPF_MAP_CREATE XSKMAP"), "xskmap");
            } catch (SysException e) {
                throw new XdpException("cannot create the XSKMAP: " + e.getMessage()
                        + (e.is(Errno.EPERM) ? " (needs CAP_BPF and CAP_NET_ADMIN, or root)" : ""), e);
            }
        }
    }

    static Fd loadRedirect(Fd map) throws IOException {
        int mf = map.acquire();
        try {
            return load(BpfAssembler.xskRedirect(mf), "rl_xsk_redir");
        } finally {
            map.release();
        }
    }

    /**
     * Loads an XDP program assembled with {@link BpfAssembler} (BPF_PROG_LOAD); if the kernel
     * refuses it, loads it again with the verifier log, so the error says why.
     *
     * @param name the program's name in the kernel (at most 15 characters are kept)
     */
    public static Fd load(BpfAssembler asm, String name) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment insns = asm.toSegment(a);
            MemorySegment license = a.allocateFrom("Dual MIT/GPL");
            MemorySegment attr = a.allocate(BpfAttrLayout.SIZE, 8);
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_PROG_TYPE, BpfAttrLayout.BPF_PROG_TYPE_XDP);
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_INSN_CNT, asm.count());
            Pointers.store(attr, BpfAttrLayout.OFF_INSNS, insns);
            Pointers.store(attr, BpfAttrLayout.OFF_LICENSE, license);
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_EXPECTED_ATTACH_TYPE, BpfAttrLayout.BPF_XDP);
            putName(attr, BpfAttrLayout.OFF_PROG_NAME, name);
            try {
                return Fd.adopt((int) Bpf.call(Bpf.BPF_PROG_LOAD, attr, "BPF_PROG_LOAD XDP " + name),
                        "xdp prog " + name);
            } catch (SysException first) {
                MemorySegment log = a.allocate(64 * 1024);
                attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_LOG_LEVEL, 1);
                attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_LOG_SIZE, (int) log.byteSize());
                Pointers.store(attr, BpfAttrLayout.OFF_LOG_BUF, log);
                try {
                    return Fd.adopt((int) Bpf.call(Bpf.BPF_PROG_LOAD, attr, "BPF_PROG_LOAD XDP " + name),
                            "xdp prog " + name);
                } catch (SysException second) {
                    throw new XdpException("the kernel refused the XDP program " + name + ": " + second.getMessage()
                            + "\nverifier log:\n" + log.getString(0).strip(), second);
                }
            }
        }
    }

    /**
     * Attaches {@code prog} to interface {@code ifindex} ({@code ifname} for messages) with
     * BPF_LINK_CREATE; the program is detached when the returned fd closes.
     */
    public static Fd linkCreate(Fd prog, int ifindex, String ifname, Attach attach) throws IOException {
        int pf = prog.acquire();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = a.allocate(BpfAttrLayout.SIZE, 8);
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_LINK_PROG_FD, pf);
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_LINK_TARGET_IFINDEX, ifindex);
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_LINK_ATTACH_TYPE, BpfAttrLayout.BPF_XDP);
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_LINK_FLAGS, attach.flag);
            try {
                return Fd.adopt((int) Bpf.call(Bpf.BPF_LINK_CREATE, attr, "BPF_LINK_CREATE XDP " + attach),
                        "xdp link " + ifname);
            } catch (SysException e) {
                String hint = switch (e.errno()) {
                    case Errno.EBUSY, Errno.EEXIST -> " (another XDP program is already attached to " + ifname
                            + " in this or the other mode; detach it, or pass its XSKMAP with xskmap=PATH)";
                    case Errno.EOPNOTSUPP, Errno.ENOTSUPP -> " (the driver of " + ifname
                            + " has no native XDP; use attach=skb)";
                    case Errno.EINVAL -> " (check that the interface is up and its MTU fits one XDP frame)";
                    default -> "";
                };
                throw new XdpException("cannot attach XDP to " + ifname + " in " + attach + " mode: " + e.getMessage()
                        + hint, e);
            }
        } finally {
            prog.release();
        }
    }

    private static void putName(MemorySegment attr, long off, String name) {
        byte[] b = name.getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(b, 0, attr, ValueLayout.JAVA_BYTE, off,
                Math.min(b.length, BpfAttrLayout.BPF_OBJ_NAME_LEN - 1));
    }

    /** Directs frames of {@code queue} to the socket {@code xsk} (BPF_MAP_UPDATE_ELEM). */
    public void register(int queue, Fd xsk) throws IOException {
        if (maxEntries > 0 && queue >= maxEntries) {
            throw new IllegalArgumentException("queue " + queue + " >= XSKMAP size " + maxEntries);
        }
        int mf = map.acquire();
        int sf = xsk.acquire();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment key = a.allocateFrom(ValueLayout.JAVA_INT, queue);
            MemorySegment val = a.allocateFrom(ValueLayout.JAVA_INT, sf);
            MemorySegment attr = a.allocate(BpfAttrLayout.SIZE, 8);
            attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_ELEM_MAP_FD, mf);
            Pointers.store(attr, BpfAttrLayout.OFF_ELEM_KEY, key);
            Pointers.store(attr, BpfAttrLayout.OFF_ELEM_VALUE, val);
            attr.set(ValueLayout.JAVA_LONG, BpfAttrLayout.OFF_ELEM_FLAGS, BpfAttrLayout.BPF_ANY);
            try {
                Bpf.call(Bpf.BPF_MAP_UPDATE_ELEM, attr, "BPF_MAP_UPDATE_ELEM xskmap[" + queue + "]");
            } catch (SysException e) {
                throw new XdpException("cannot put the socket for queue " + queue + " into the XSKMAP: "
                        + e.getMessage(), e);
            }
        } finally {
            xsk.release();
            map.release();
        }
    }

    /** Removes the entry of {@code queue} (best effort: closing the socket removes it too). */
    public void unregister(int queue) {
        if (!map.isOpen()) return;
        try (Arena a = Arena.ofConfined()) {
            int mf = map.acquire();
            try {
                MemorySegment key = a.allocateFrom(ValueLayout.JAVA_INT, queue);
                MemorySegment attr = a.allocate(BpfAttrLayout.SIZE, 8);
                attr.set(ValueLayout.JAVA_INT, BpfAttrLayout.OFF_ELEM_MAP_FD, mf);
                Pointers.store(attr, BpfAttrLayout.OFF_ELEM_KEY, key);
                Bpf.call(Bpf.BPF_MAP_DELETE_ELEM, attr, "BPF_MAP_DELETE_ELEM");
            } finally {
                map.release();
            }
        } catch (IOException ignored) {
            // ENOENT: already gone
        }
    }

    /** The XSKMAP. */
    public Fd map() { return map; }

    /** True if we loaded and attached the program (false for a user-supplied map). */
    public boolean owned() { return link != null; }

    /** The mode the program is attached in, or null for a user-supplied map. */
    public Attach attachMode() { return attach; }

    /** The index of the interface the program is attached to, or 0 for a user-supplied map. */
    public int ifindex() { return ifindex; }

    /** Detaches the program (closing the BPF link) and frees the map. Idempotent. */
    @Override
    public void close() {
        if (link != null) link.close();
        if (prog != null) prog.close();
        map.close();
    }
}
