package ringlink.tun;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import ringlink.link.Offloads;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.Net;

/**
 * How to open a TUN or TAP queue: {@link TunLink#open(TunConfig)}. Fluent setters; the defaults
 * are the fast ones (every offload the kernel agrees to, virtio-net header, GRO on transmit,
 * interface brought up).
 */
public final class TunConfig {
    final String ifname;
    final boolean tap;
    Offloads offloads = Offloads.ALL.without(Offloads.TSO_ECN);
    int vnetHdrSize = VirtioNetHdr.SIZE;
    boolean multiQueue;
    boolean persist;
    int mtu;
    boolean up = true;
    final List<String> addresses = new ArrayList<>();
    boolean dataValid = true;
    boolean gro = true;
    int sndbuf;

    private TunConfig(String ifname, boolean tap) {
        Net.checkName(Objects.requireNonNull(ifname, "ifname"));
        this.ifname = ifname;
        this.tap = tap;
    }

    /** An L3 device (IFF_TUN): packets start with the IP header. */
    public static TunConfig tun(String ifname) { return new TunConfig(ifname, false); }

    /** An L2 device (IFF_TAP): packets start with the Ethernet header. */
    public static TunConfig tap(String ifname) { return new TunConfig(ifname, true); }

    /** Offloads to ask the kernel for (it may agree to fewer; {@link TunLink#offloads()} says what it did). */
    public TunConfig offloads(Offloads o) { this.offloads = Objects.requireNonNull(o); return this; }

    /** Virtio-net header size: 10 (default) or 12 (with num_buffers, as VERSION_1 peers use). */
    public TunConfig vnetHdrSize(int size) {
        if (size != VirtioNetHdr.SIZE && size != VirtioNetHdr.SIZE_MRG) {
            throw new IllegalArgumentException("virtio-net header size must be 10 or 12, not " + size);
        }
        this.vnetHdrSize = size;
        return this;
    }

    /** IFF_MULTI_QUEUE: every open of the same name attaches one more queue (one per thread). */
    public TunConfig multiQueue(boolean on) { this.multiQueue = on; return this; }

    /** TUNSETPERSIST: the device outlives the link (otherwise it goes away with its last queue). */
    public TunConfig persist(boolean on) { this.persist = on; return this; }

    /** Sets the interface MTU at open (0: leave it). */
    public TunConfig mtu(int mtu) {
        if (mtu != 0 && (mtu < 68 || mtu > 65535))
                throw new IllegalArgumentException("MTU " + mtu + " outside [68, 65535]");
        this.mtu = mtu;
        return this;
    }

    /** Brings the interface up at open (default true). */
    public TunConfig up(boolean on) { this.up = on; return this; }

    /** Adds an address to configure at open, e.g. {@code 10.0.0.1/24} or {@code fd00::1/64}. */
    public TunConfig address(String cidr) { this.addresses.add(Objects.requireNonNull(cidr)); return this; }

    /**
     * Marks plain packets written to the kernel DATA_VALID (checksum already verified, the stack
     * skips it; default true). Turn off when the packets come from a peer that is not trusted to
     * send correct checksums.
     */
    public TunConfig dataValid(boolean on) { this.dataValid = on; return this; }

    /** Coalesces runs of same-flow TCP segments into superpackets on transmit (default true; needs TSO). */
    public TunConfig gro(boolean on) { this.gro = on; return this; }

    /**
     * TUNSETSNDBUF: the send buffer of the queue's socket in bytes, i.e. how much of what is
     * written to this queue may be in flight in the stack. 0 (the default) leaves it as the kernel
     * made it, which for a freshly opened queue is unlimited ({@link Integer#MAX_VALUE}: tun sets
     * that when {@code /dev/net/tun} is opened). A finite value bounds the queue's in-flight bytes
     * (writers then wait or get EAGAIN) and stops kernel vhost-net from transmitting into the TAP
     * in batches, which it does only while the send buffer is unlimited. The kernel keeps one value
     * per device: it applies to every queue attached when it is set.
     */
    public TunConfig sndbuf(int bytes) {
        if (bytes < 0) throw new IllegalArgumentException("send buffer " + bytes
                + " must be > 0 (or 0: the kernel's default)");
        this.sndbuf = bytes;
        return this;
    }

    /** The interface name the device is created or attached with. */
    public String ifname() { return ifname; }
    /** True for a TAP (L2) device, false for a TUN (L3) one. */
    public boolean isTap() { return tap; }
}
