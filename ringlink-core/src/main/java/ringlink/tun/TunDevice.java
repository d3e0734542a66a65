package ringlink.tun;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import ringlink.link.LinkException;
import ringlink.link.Offloads;
import ringlink.sys.Errno;
import ringlink.sys.Fd;
import ringlink.sys.Ioctl;
import ringlink.sys.NetDevice;
import ringlink.sys.SysException;

/**
 * One queue descriptor of a TUN or TAP device with the virtio-net header on, without a
 * {@link TunLink} around it: for users that hand the descriptor to someone else, such as kernel
 * vhost-net, which reads and writes the TAP itself. {@link TunLink#open} is built on this, so
 * device setup (TUNSETIFF, header size, offload negotiation, interface configuration) exists once.
 *
 * <p>The descriptor stays blocking; closing the device closes the queue (a non-persistent device
 * goes away with its last queue).
 */
public final class TunDevice implements AutoCloseable {
    // linux/if_tun.h
    static final int IFF_TUN = 0x0001, IFF_TAP = 0x0002, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000,
            IFF_MULTI_QUEUE = 0x0100, IFF_ATTACH_QUEUE = 0x0200, IFF_DETACH_QUEUE = 0x0400;
    static final int TUN_F_CSUM = 0x01, TUN_F_TSO4 = 0x02, TUN_F_TSO6 = 0x04, TUN_F_TSO_ECN = 0x08,
            TUN_F_UFO = 0x10, TUN_F_USO4 = 0x20, TUN_F_USO6 = 0x40;
    private static final int T = 'T';
    static final long TUNSETIFF = Ioctl.iow(T, 202, 4), TUNSETPERSIST = Ioctl.iow(T, 203, 4),
            TUNGETFEATURES = Ioctl.ior(T, 207, 4), TUNSETOFFLOAD = Ioctl.iow(T, 208, 4),
            TUNGETIFF = Ioctl.ior(T, 210, 4), TUNSETVNETHDRSZ = Ioctl.iow(T, 216, 4),
            TUNSETQUEUE = Ioctl.iow(T, 217, 4), TUNGETSNDBUF = Ioctl.ior(T, 211, 4),
            TUNSETSNDBUF = Ioctl.iow(T, 212, 4);

    private final Fd fd;
    private final String ifname;
    private final boolean tap;
    private final int vnetHdrSize;
    private volatile Offloads offloads;

    private TunDevice(Fd fd, String ifname, boolean tap, int vnetHdrSize, Offloads offloads) {
        this.fd = fd;
        this.ifname = ifname;
        this.tap = tap;
        this.vnetHdrSize = vnetHdrSize;
        this.offloads = offloads;
    }

    /**
     * Opens (creating if needed) the device {@code c} names and attaches one queue with the
     * virtio-net header of {@link TunConfig#vnetHdrSize}, negotiates offloads (the kernel may
     * agree to fewer: {@link #offloads()}), makes it persistent if asked, then applies MTU,
     * addresses and link state in the current network namespace.
     *
     * @throws LinkException if a single-queue device is already in use by another queue, or an
     *         existing device ended up without the virtio-net header
     * @throws SysException naming the device for any other refusal (e.g. an existing device of
     *         the other kind, or with other multi-queue flags)
     */
    public static TunDevice open(TunConfig c) throws IOException {
        String kind = c.tap ? "tap " : "tun ";
        String what = "/dev/net/tun [" + kind + c.ifname + "]";
        Fd fd = Fd.open("/dev/net/tun", Fd.O_RDWR);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = a.allocate(NetDevice.IFREQ_SIZE, 8);
            byte[] nb = c.ifname.getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(nb, 0, ifr, ValueLayout.JAVA_BYTE, NetDevice.OFF_IFR_NAME, nb.length);
            int flags = (c.tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | IFF_VNET_HDR | (c.multiQueue ? IFF_MULTI_QUEUE : 0);
            ifr.set(ValueLayout.JAVA_SHORT, NetDevice.OFF_IFR_UNION, (short) flags);
            try {
                fd.ioctl("TUNSETIFF", TUNSETIFF, ifr);
            } catch (SysException e) {
                if (e.is(Errno.EBUSY)) {
                    throw new LinkException(what + " is in use by another process or link (a single-queue device"
                            + " takes one user; close the other user, pick another name or use multi-queue)", e);
                }
                if (e.is(Errno.EINVAL)) {
                    throw new SysException("ioctl(TUNSETIFF) (an existing device of the other kind or with other flags?"
                            + " multi-queue=" + c.multiQueue + ")", e.errno(), what);
                }
                throw e;
            }
            // the kernel writes back the name it used (a template like "rl%d" becomes "rl0")
            String ifname = ifr.getString(NetDevice.OFF_IFR_NAME, StandardCharsets.UTF_8);
            what = "/dev/net/tun [" + kind + ifname + "]";
            // What the kernel actually gave us: everything after this relies on the header being there.
            fd.ioctl("TUNGETIFF", TUNGETIFF, ifr);
            int got = Short.toUnsignedInt(ifr.get(ValueLayout.JAVA_SHORT, NetDevice.OFF_IFR_UNION));
            if ((got & IFF_VNET_HDR) == 0) {
                throw new LinkException(what + " has no IFF_VNET_HDR (recreate it, e.g. `ip tuntap add " + ifname
                        + " mode " + kind.trim() + " vnet_hdr`)");
            }
            MemorySegment sz = a.allocateFrom(ValueLayout.JAVA_INT, c.vnetHdrSize);
            fd.ioctl("TUNSETVNETHDRSZ", TUNSETVNETHDRSZ, sz);
            Offloads agreed = negotiate(fd, c.offloads);
            if (c.sndbuf != 0) fd.ioctl("TUNSETSNDBUF(" + c.sndbuf + ")", TUNSETSNDBUF,
                    a.allocateFrom(ValueLayout.JAVA_INT, c.sndbuf));
            if (c.persist) fd.ioctl("TUNSETPERSIST", TUNSETPERSIST, 1L);
            if (c.mtu != 0) NetDevice.setMtu(ifname, c.mtu);
            for (String addr : c.addresses) NetDevice.addAddress(ifname, addr);
            if (c.up) NetDevice.setUp(ifname, true);
            return new TunDevice(fd, ifname, c.tap, c.vnetHdrSize, agreed);
        } catch (SysException e) {
            fd.close();
            // name the device, not just /dev/net/tun
            throw e.object() != null && e.object().startsWith("/dev/net/tun")
                    ? new SysException(e.call(), e.errno(), what) : e;
        } catch (IOException | RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    /**
     * TUNSETOFFLOAD with what {@code want} asks for, stepping down on EINVAL (older kernels lack
     * USO, before 6.2; some lack TSO_ECN): all → without USO → without ECN → without both → CSUM
     * only → none. Each lack costs only its own offload.
     */
    static Offloads negotiate(Fd fd, Offloads want) throws IOException {
        int[] steps = {
            tunBits(want),
            tunBits(want.without(Offloads.USO)),
            tunBits(want.without(Offloads.TSO_ECN)),
            tunBits(want.without(Offloads.TSO_ECN | Offloads.USO)),
            tunBits(want.and(Offloads.of(Offloads.CSUM))),
            0
        };
        SysException last = null;
        int prev = -1;
        for (int bits : steps) {
            if (bits == prev) continue;
            prev = bits;
            try {
                fd.ioctl("TUNSETOFFLOAD(0x" + Integer.toHexString(bits) + ")", TUNSETOFFLOAD, (long) bits);
                return fromTunBits(bits);
            } catch (SysException e) {
                if (!e.is(Errno.EINVAL)) throw e;
                last = e;
            }
        }
        throw last;
    }

    static int tunBits(Offloads o) {
        if (!o.has(Offloads.CSUM)) return 0; // every segmentation offload needs checksum offload
        int b = TUN_F_CSUM;
        if (o.has(Offloads.TSO4)) b |= TUN_F_TSO4;
        if (o.has(Offloads.TSO6)) b |= TUN_F_TSO6;
        if (o.has(Offloads.TSO_ECN) && (b & (TUN_F_TSO4 | TUN_F_TSO6)) != 0) b |= TUN_F_TSO_ECN;
        if (o.has(Offloads.USO)) b |= TUN_F_USO4 | TUN_F_USO6; // the kernel wants both or neither
        return b;
    }

    static Offloads fromTunBits(int b) {
        int o = 0;
        if ((b & TUN_F_CSUM) != 0) o |= Offloads.CSUM;
        if ((b & TUN_F_TSO4) != 0) o |= Offloads.TSO4;
        if ((b & TUN_F_TSO6) != 0) o |= Offloads.TSO6;
        if ((b & TUN_F_TSO_ECN) != 0) o |= Offloads.TSO_ECN;
        if ((b & TUN_F_USO4) != 0 && (b & TUN_F_USO6) != 0) o |= Offloads.USO;
        return Offloads.of(o);
    }

    /**
     * Renegotiates the offloads the kernel may hand this queue (TUNSETOFFLOAD, stepping down as
     * at open) and returns what it agreed to.
     */
    public Offloads setOffloads(Offloads want) throws IOException {
        Offloads o = negotiate(fd, want);
        offloads = o;
        return o;
    }

    /**
     * What a write to a queue with the virtio-net header may carry, given the offloads
     * {@code negotiated} with TUNSETOFFLOAD: those, plus a partial checksum and TCP superpackets
     * (with ECN) always, plus UDP ones where the kernel knows them. {@code tun_get_user} hands
     * the header to {@code virtio_net_hdr_to_skb} without looking at the offloads negotiated
     * (those are the device's features: what the stack may hand <em>us</em>); the stack takes
     * the GSO skb as it is (local TCP/UDP receive) or segments it in software where it leaves
     * through a device without the offload. That function knows TCPV4/TCPV6 (+ECN) since the
     * header exists and {@code GSO_UDP_L4} since Linux 6.2 (the release that added
     * {@code TUN_F_USO4/6}, so a kernel that agreed to USO knows it too); it wants
     * {@code NEEDS_CSUM} with csum_start/offset at the transport checksum (our
     * {@code OffloadValidator} requires exactly that of every superpacket that enters), and at
     * most 128 UDP segments (also checked at every ingress).
     */
    static Offloads writeOffloads(Offloads negotiated) {
        Offloads o = negotiated.with(Offloads.CSUM | Offloads.TSO4 | Offloads.TSO6 | Offloads.TSO_ECN);
        return KernelRelease.AT_LEAST_6_2 ? o.with(Offloads.USO) : o;
    }

    /**
     * Whether the running kernel is 6.2 or later (read once; unknown counts as older: USO is then segmented in Java).
     */
    private static final class KernelRelease {
        static final boolean AT_LEAST_6_2 = atLeast(release(), 6, 2);

        static String release() {
            try {
                return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/osrelease")).trim();
            } catch (IOException | RuntimeException e) {
                return "";
            }
        }
    }

    /** True if a kernel release string such as {@code 6.18.44-fc} is at least {@code major.minor}. */
    static boolean atLeast(String release, int major, int minor) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(\\d+)\\.(\\d+)").matcher(release);
        if (!m.find()) return false;
        try {
            int a = Integer.parseInt(m.group(1)), b = Integer.parseInt(m.group(2));
            return a > major || (a == major && b >= minor);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** The queue descriptor (blocking). Owned by this device: closed by {@link #close()}. */
    public Fd fd() { return fd; }

    /** The kernel interface name (a name template resolved). */
    public String ifname() { return ifname; }

    /** True for a TAP (L2), false for a TUN (L3). */
    public boolean isTap() { return tap; }

    /** The virtio-net header size set on the queue (10 or 12). */
    public int vnetHdrSize() { return vnetHdrSize; }

    /** The offloads the kernel agreed to last. */
    public Offloads offloads() { return offloads; }

    /** The queue socket's send buffer in bytes now (TUNGETSNDBUF); see {@link TunConfig#sndbuf(int)}. */
    public int sndbuf() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            fd.ioctl("TUNGETSNDBUF", TUNGETSNDBUF, v);
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** The interface MTU now. */
    public int mtu() throws IOException { return NetDevice.mtu(ifname); }

    /** Closes the queue (a non-persistent device goes away with its last queue). Idempotent. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return (tap ? "tap:" : "tun:") + ifname + " [" + offloads + ", vnet_hdr " + vnetHdrSize + "]";
    }
}
