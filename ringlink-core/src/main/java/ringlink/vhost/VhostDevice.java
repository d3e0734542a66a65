package ringlink.vhost;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Errno;
import ringlink.sys.Fd;
import ringlink.sys.Ioctl;
import ringlink.sys.SysException;
import ringlink.virtio.GuestMemory;

/**
 * The ioctl control plane of a kernel vhost device ({@code /dev/vhost-net}; linux/vhost.h):
 * ownership, feature negotiation, the memory table, per-queue ring setup and notifiers, and the
 * backend. One method per ioctl, each throwing a {@link SysException} that names the request.
 *
 * <p>Calls are made by one thread at a time (setup and teardown); the argument buffers are
 * preallocated. Closing the device releases the kernel's references to our memory, so it must
 * be closed (or the backend detached and the rings stopped) before that memory is unmapped.
 */
public final class VhostDevice implements AutoCloseable {
    /** The vhost ioctl type ('\xAF'). */
    static final int VHOST_VIRTIO = 0xAF;

    static final long VHOST_GET_FEATURES = Ioctl.ior(VHOST_VIRTIO, 0x00, 8);
    static final long VHOST_SET_FEATURES = Ioctl.iow(VHOST_VIRTIO, 0x00, 8);
    static final long VHOST_SET_OWNER = Ioctl.io(VHOST_VIRTIO, 0x01);
    static final long VHOST_RESET_OWNER = Ioctl.io(VHOST_VIRTIO, 0x02);
    static final long VHOST_SET_MEM_TABLE = Ioctl.iow(VHOST_VIRTIO, 0x03, VhostMemoryLayout.SIZE);
    static final long VHOST_SET_VRING_NUM = Ioctl.iow(VHOST_VIRTIO, 0x10, VhostVringStateLayout.SIZE);
    static final long VHOST_SET_VRING_ADDR = Ioctl.iow(VHOST_VIRTIO, 0x11, VhostVringAddrLayout.SIZE);
    static final long VHOST_SET_VRING_BASE = Ioctl.iow(VHOST_VIRTIO, 0x12, VhostVringStateLayout.SIZE);
    static final long VHOST_GET_VRING_BASE = Ioctl.iowr(VHOST_VIRTIO, 0x12, VhostVringStateLayout.SIZE);
    static final long VHOST_SET_VRING_KICK = Ioctl.iow(VHOST_VIRTIO, 0x20, VhostVringFileLayout.SIZE);
    static final long VHOST_SET_VRING_CALL = Ioctl.iow(VHOST_VIRTIO, 0x21, VhostVringFileLayout.SIZE);
    static final long VHOST_SET_VRING_ERR = Ioctl.iow(VHOST_VIRTIO, 0x22, VhostVringFileLayout.SIZE);
    static final long VHOST_NET_SET_BACKEND = Ioctl.iow(VHOST_VIRTIO, 0x30, VhostVringFileLayout.SIZE);

    /** Feature bit 27 on vhost-net: the device adds/strips the virtio-net header itself (for backends without one). */
    public static final int VHOST_NET_F_VIRTIO_NET_HDR = 27;

    /** The default device path. */
    public static final String VHOST_NET_PATH = "/dev/vhost-net";

    private final Fd fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment u64 = arena.allocate(ValueLayout.JAVA_LONG);
    private final MemorySegment state = arena.allocate(VhostVringStateLayout.SIZE, 8);
    private final MemorySegment addr = arena.allocate(VhostVringAddrLayout.SIZE, 8);
    private final MemorySegment file = arena.allocate(VhostVringFileLayout.SIZE, 8);

    private VhostDevice(Fd fd) {
        this.fd = fd;
    }

    /**
     * Opens a vhost device ({@link #VHOST_NET_PATH} for networking) and becomes its owner
     * (VHOST_SET_OWNER: the kernel starts a worker thread bound to this process's memory).
     *
     * @throws VhostUnavailableException if the device node is missing or not accessible, saying
     *         what to do about it
     */
    public static VhostDevice open(String path) throws SysException {
        Fd fd;
        try {
            fd = Fd.open(path, Fd.O_RDWR);
        } catch (SysException e) {
            if (e.is(Errno.ENOENT) || e.is(Errno.ENODEV) || e.is(Errno.ENXIO)) {
                throw new VhostUnavailableException(path + " does not exist: the kernel has no vhost-net"
                        + " (load it with `modprobe vhost_net`; containers need the device passed in)", e);
            }
            if (e.is(Errno.EACCES) || e.is(Errno.EPERM)) {
                throw new VhostUnavailableException(path + " is not accessible to this user"
                        + " (needs root or membership of the group owning it, often `kvm`)", e);
            }
            throw e;
        }
        VhostDevice d = new VhostDevice(fd);
        try {
            d.setOwner();
            return d;
        } catch (SysException | RuntimeException e) {
            d.close();
            throw e;
        }
    }

    /** The control descriptor. */
    public Fd fd() { return fd; }

    /** VHOST_SET_OWNER. */
    public void setOwner() throws SysException {
        ioctl("VHOST_SET_OWNER", VHOST_SET_OWNER, 0L);
    }

    /** VHOST_GET_FEATURES: the feature bits the kernel device offers. */
    public long getFeatures() throws SysException {
        u64.set(ValueLayout.JAVA_LONG, 0, 0);
        ioctl("VHOST_GET_FEATURES", VHOST_GET_FEATURES, u64);
        return u64.get(ValueLayout.JAVA_LONG, 0);
    }

    /** VHOST_SET_FEATURES: acks {@code features} (a subset of {@link #getFeatures()}). */
    public void setFeatures(long features) throws SysException {
        u64.set(ValueLayout.JAVA_LONG, 0, features);
        ioctl("VHOST_SET_FEATURES", VHOST_SET_FEATURES, u64);
    }

    /**
     * VHOST_SET_MEM_TABLE: every region the rings and buffers live in, as guest-physical range
     * to user address. The kernel checks descriptor addresses against this table.
     */
    public void setMemTable(List<GuestMemory.Region> regions) throws SysException {
        if (regions.isEmpty()) throw new IllegalArgumentException("empty memory table");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(VhostMemoryLayout.SIZE + VhostMemoryRegionLayout.SIZE * regions.size(), 8);
            m.set(ValueLayout.JAVA_INT, VhostMemoryLayout.OFF_NREGIONS, regions.size());
            m.set(ValueLayout.JAVA_INT, VhostMemoryLayout.OFF_PADDING, 0);
            long off = VhostMemoryLayout.OFF_REGIONS;
            for (GuestMemory.Region r : regions) {
                m.set(ValueLayout.JAVA_LONG, off + VhostMemoryRegionLayout.OFF_GUEST_PHYS_ADDR, r.guestAddress());
                m.set(ValueLayout.JAVA_LONG, off + VhostMemoryRegionLayout.OFF_MEMORY_SIZE, r.size());
                m.set(ValueLayout.JAVA_LONG, off + VhostMemoryRegionLayout.OFF_USERSPACE_ADDR, r.userAddress());
                m.set(ValueLayout.JAVA_LONG, off + VhostMemoryRegionLayout.OFF_FLAGS_PADDING, 0L);
                off += VhostMemoryRegionLayout.SIZE;
            }
            ioctl("VHOST_SET_MEM_TABLE", VHOST_SET_MEM_TABLE, m);
        }
    }

    /** VHOST_SET_VRING_NUM: queue {@code index} has {@code num} entries. */
    public void setVringNum(int index, int num) throws SysException {
        setState("VHOST_SET_VRING_NUM", VHOST_SET_VRING_NUM, index, num);
    }

    /** VHOST_SET_VRING_BASE: the device starts reading the available ring at {@code base}. */
    public void setVringBase(int index, int base) throws SysException {
        setState("VHOST_SET_VRING_BASE", VHOST_SET_VRING_BASE, index, base);
    }

    /**
     * VHOST_GET_VRING_BASE: stops the queue and returns the next available index the device would
     * have read (what a later SET_VRING_BASE resumes from).
     */
    public int getVringBase(int index) throws SysException {
        state.set(ValueLayout.JAVA_INT, VhostVringStateLayout.OFF_INDEX, index);
        state.set(ValueLayout.JAVA_INT, VhostVringStateLayout.OFF_NUM, 0);
        ioctl("VHOST_GET_VRING_BASE", VHOST_GET_VRING_BASE, state);
        return state.get(ValueLayout.JAVA_INT, VhostVringStateLayout.OFF_NUM);
    }

    private void setState(String what, long req, int index, int num) throws SysException {
        state.set(ValueLayout.JAVA_INT, VhostVringStateLayout.OFF_INDEX, index);
        state.set(ValueLayout.JAVA_INT, VhostVringStateLayout.OFF_NUM, num);
        ioctl(what, req, state);
    }

    /**
     * VHOST_SET_VRING_ADDR: the user addresses (in this process) of queue {@code index}'s
     * descriptor table, used ring and available ring.
     */
    public void setVringAddr(int index, long descUser, long usedUser, long availUser) throws SysException {
        addr.set(ValueLayout.JAVA_INT, VhostVringAddrLayout.OFF_INDEX, index);
        addr.set(ValueLayout.JAVA_INT, VhostVringAddrLayout.OFF_FLAGS, 0);
        addr.set(ValueLayout.JAVA_LONG, VhostVringAddrLayout.OFF_DESC_USER_ADDR, descUser);
        addr.set(ValueLayout.JAVA_LONG, VhostVringAddrLayout.OFF_USED_USER_ADDR, usedUser);
        addr.set(ValueLayout.JAVA_LONG, VhostVringAddrLayout.OFF_AVAIL_USER_ADDR, availUser);
        addr.set(ValueLayout.JAVA_LONG, VhostVringAddrLayout.OFF_LOG_GUEST_ADDR, 0L);
        ioctl("VHOST_SET_VRING_ADDR", VHOST_SET_VRING_ADDR, addr);
    }

    /** VHOST_SET_VRING_KICK: the eventfd we write to say "new available buffers" (null: none). */
    public void setVringKick(int index, Fd eventFd) throws SysException {
        setFile("VHOST_SET_VRING_KICK", VHOST_SET_VRING_KICK, index, eventFd);
    }

    /** VHOST_SET_VRING_CALL: the eventfd the kernel signals for used buffers (null: none). */
    public void setVringCall(int index, Fd eventFd) throws SysException {
        setFile("VHOST_SET_VRING_CALL", VHOST_SET_VRING_CALL, index, eventFd);
    }

    /** VHOST_SET_VRING_ERR: the eventfd the kernel signals when it finds the queue broken (null: none). */
    public void setVringErr(int index, Fd eventFd) throws SysException {
        setFile("VHOST_SET_VRING_ERR", VHOST_SET_VRING_ERR, index, eventFd);
    }

    /**
     * VHOST_NET_SET_BACKEND: attaches queue {@code index} to a TAP (or packet socket)
     * descriptor, which starts the queue; {@code null} detaches it (fd −1), which stops the queue
     * and waits for the kernel worker to finish with our memory.
     */
    public void setBackend(int index, Fd backend) throws SysException {
        setFile("VHOST_NET_SET_BACKEND", VHOST_NET_SET_BACKEND, index, backend);
    }

    private void setFile(String what, long req, int index, Fd f) throws SysException {
        file.set(ValueLayout.JAVA_INT, VhostVringFileLayout.OFF_INDEX, index);
        if (f == null) {
            file.set(ValueLayout.JAVA_INT, VhostVringFileLayout.OFF_FD, -1);
            ioctl(what, req, file);
            return;
        }
        // Hold the descriptor in use so its number cannot be recycled while the kernel looks it up.
        int n;
        try {
            n = f.acquire();
        } catch (ClosedFdException e) {
            throw new IllegalStateException(what + ": " + e.getMessage(), e);
        }
        try {
            file.set(ValueLayout.JAVA_INT, VhostVringFileLayout.OFF_FD, n);
            ioctl(what, req, file);
        } finally {
            f.release();
        }
    }

    private void ioctl(String what, long req, MemorySegment arg) throws SysException {
        try {
            fd.ioctl(what, req, arg);
        } catch (ClosedFdException e) {
            throw new IllegalStateException("vhost device closed", e);
        }
    }

    private void ioctl(String what, long req, long arg) throws SysException {
        try {
            fd.ioctl(what, req, arg);
        } catch (ClosedFdException e) {
            throw new IllegalStateException("vhost device closed", e);
        }
    }

    /** Closes the device: the kernel stops every queue and drops its references to our memory. */
    @Override
    public void close() {
        fd.closeWith(arena);
    }

    @Override
    public String toString() {
        return "VhostDevice[" + fd + "]";
    }
}
