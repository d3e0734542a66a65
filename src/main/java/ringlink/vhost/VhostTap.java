package ringlink.vhost;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import ringlink.link.LinkException;
import ringlink.link.Offloads;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Errno;
import ringlink.sys.Fd;
import ringlink.sys.SysException;

/**
 * The TAP device a vhost-net link uses as its backend: just what vhost needs (TUNSETIFF with
 * IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, the header size, the offloads). Deliberately small and
 * package-private: the full TUN/TAP transport lives in its own package.
 */
final class VhostTap implements AutoCloseable {
    static final long TUNSETIFF = 0x400454caL;
    static final long TUNGETIFF = 0x800454d2L;
    static final long TUNSETOFFLOAD = 0x400454d0L;
    static final long TUNSETVNETHDRSZ = 0x400454d8L;
    static final int IFF_TAP = 0x0002, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000, IFF_TUN_EXCL = 0x8000;
    static final int TUN_F_CSUM = 0x01, TUN_F_TSO4 = 0x02, TUN_F_TSO6 = 0x04, TUN_F_TSO_ECN = 0x08,
            TUN_F_UFO = 0x10, TUN_F_USO4 = 0x20, TUN_F_USO6 = 0x40;
    /** struct ifreq: 16-byte name, then a 24-byte union whose first member here is short ifr_flags. */
    static final int IFREQ_SIZE = 40, IFNAMSIZ = 16, OFF_IFR_FLAGS = 16;

    private final Fd fd;
    private final String name;

    private VhostTap(Fd fd, String name) {
        this.fd = fd;
        this.name = name;
    }

    /**
     * Creates TAP {@code name} (or attaches to an existing, unused one) with a virtio-net header
     * of {@code vnetHdrSize} bytes.
     */
    static VhostTap open(String name, int vnetHdrSize) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        if (n.length == 0 || n.length >= IFNAMSIZ) {
            throw new IllegalArgumentException("interface name '" + name + "' must be 1 to " + (IFNAMSIZ - 1) + " characters");
        }
        Fd fd = Fd.open("/dev/net/tun", Fd.O_RDWR);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = a.allocate(IFREQ_SIZE, 8);
            MemorySegment.copy(n, 0, ifr, ValueLayout.JAVA_BYTE, 0, n.length);
            ifr.set(ValueLayout.JAVA_SHORT, OFF_IFR_FLAGS, (short) (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR));
            try {
                fd.ioctl("TUNSETIFF", TUNSETIFF, ifr);
            } catch (SysException e) {
                if (e.is(Errno.EBUSY)) {
                    throw new LinkException("TAP " + name + " is in use by another process or link (a single-queue TAP"
                            + " takes one user; close the other user or pick another name)", e);
                }
                if (e.is(Errno.EINVAL)) {
                    throw new LinkException("interface " + name + " exists but is not a TAP that can take"
                            + " IFF_TAP|IFF_NO_PI|IFF_VNET_HDR (a TUN, or a TAP created with other flags)", e);
                }
                throw e;
            }
            // What the kernel actually gave us (an existing persistent TAP keeps its own flags).
            fd.ioctl("TUNGETIFF", TUNGETIFF, ifr);
            int flags = ifr.get(ValueLayout.JAVA_SHORT, OFF_IFR_FLAGS) & 0xffff;
            if ((flags & IFF_VNET_HDR) == 0) {
                throw new LinkException("TAP " + name + " has no IFF_VNET_HDR: vhost-net needs the virtio-net header"
                        + " on the TAP (recreate it, e.g. `ip tuntap add " + name + " mode tap vnet_hdr`)");
            }
            if ((flags & IFF_TAP) == 0) throw new LinkException("interface " + name + " is a TUN, not a TAP");
            MemorySegment sz = a.allocate(ValueLayout.JAVA_INT);
            sz.set(ValueLayout.JAVA_INT, 0, vnetHdrSize);
            fd.ioctl("TUNSETVNETHDRSZ", TUNSETVNETHDRSZ, sz);
            return new VhostTap(fd, name);
        } catch (IOException | RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    Fd fd() { return fd; }

    String name() { return name; }

    /**
     * Sets the offloads the TAP may hand us (TUNSETOFFLOAD) and returns what was accepted: a
     * kernel without USO (before 6.2) rejects those bits, so the link negotiates down instead of
     * failing.
     */
    Offloads setOffloads(Offloads want) throws SysException, ClosedFdException {
        int tun = tunFlags(want);
        try {
            fd.ioctl("TUNSETOFFLOAD", TUNSETOFFLOAD, tun);
            return want;
        } catch (SysException e) {
            if (!e.is(Errno.EINVAL) || (tun & (TUN_F_USO4 | TUN_F_USO6)) == 0) throw e;
        }
        Offloads less = want.without(Offloads.USO);
        fd.ioctl("TUNSETOFFLOAD", TUNSETOFFLOAD, tunFlags(less));
        return less;
    }

    static int tunFlags(Offloads o) {
        if (!o.has(Offloads.CSUM)) return 0; // every segmentation offload needs checksum offload
        int f = TUN_F_CSUM;
        if (o.has(Offloads.TSO4)) f |= TUN_F_TSO4;
        if (o.has(Offloads.TSO6)) f |= TUN_F_TSO6;
        if (o.has(Offloads.TSO_ECN) && (f & (TUN_F_TSO4 | TUN_F_TSO6)) != 0) f |= TUN_F_TSO_ECN;
        if (o.has(Offloads.USO)) f |= TUN_F_USO4 | TUN_F_USO6;
        return f;
    }

    /** The interface MTU from sysfs, or {@code def} if it cannot be read. */
    int mtu(int def) {
        try {
            return Integer.parseInt(Files.readString(Path.of("/sys/class/net", name, "mtu")).trim());
        } catch (IOException | NumberFormatException e) {
            return def;
        }
    }

    @Override
    public void close() {
        fd.close();
    }
}
