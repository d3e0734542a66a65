package ringlink.vhostuser;

import static ringlink.virtio.VirtioFeature.*;

import java.io.IOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.ArrayList;
import java.util.List;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.UnixSocket;
import ringlink.virtio.FeatureSet;

/**
 * The back-end's request handlers: {@link #handle} decodes a validated request's payload into a
 * {@link Payload} record and calls that request's method, one short method per request (as
 * rust-vmm's {@code backend_req_handler.rs} has one match arm per request and DPDK's vhost
 * library a handler table). Each method declares with {@link Locks} which locks it takes, next to
 * its code:
 * <ul>
 * <li>{@link Locking#CONTROL}: it reads and writes the {@link Session} (and volatile fields) only;
 *     the control thread is the only thread that touches those, so it takes no lock.
 * <li>{@link Locking#VRING}: it changes what the data path reads of the one vring it names, under
 *     that ring's {@link Vring#lock} (held for the change only, never for validation or a
 *     system call that can wait on the peer).
 * <li>{@link Locking#EVERY_VRING}: it rebuilds or re-logs every ring; it maps the new memory or
 *     log first, without a lock, then takes the rings' locks ({@link Rings}).
 * </ul>
 * A handler either returns the reply, or null (the caller sends the REPLY_ACK success then), or
 * throws; any throw ends the connection.
 */
final class BackendRequests {
    private static final System.Logger LOG = System.getLogger("ringlink.vhostuser.backend");

    /** How a handler synchronises with the data path (see the class comment). */
    enum Locking { CONTROL, VRING, EVERY_VRING }

    /** The locking policy of one handler. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.METHOD)
    @interface Locks {
        Locking value();
    }

    /** Ring-layout bits a running ring's device or header size was built with (IN_ORDER: how packed completes). */
    private static final long LAYOUT_BITS = RING_PACKED.mask() | EVENT_IDX.mask() | VERSION_1.mask()
            | NET_MRG_RXBUF.mask() | INDIRECT_DESC.mask() | IN_ORDER.mask();

    private final VhostUserBackend backend;
    private final Rings rings;

    BackendRequests(VhostUserBackend backend, Rings rings) {
        this.backend = backend;
        this.rings = rings;
    }

    /** Applies one validated request to session {@code s}; returns its reply, or null if it has none. */
    Message handle(Session s, Request r, Message m) throws VhostUserException {
        return switch (r) {
            case GET_FEATURES -> getFeatures(m);
            case SET_FEATURES -> setFeatures(s, Payload.u64(m));
            case GET_PROTOCOL_FEATURES -> getProtocolFeatures(m);
            case SET_PROTOCOL_FEATURES -> setProtocolFeatures(s, Payload.u64(m));
            case SET_OWNER -> setOwner(s);
            case RESET_OWNER -> resetOwner();
            case RESET_DEVICE -> resetDevice(s, r);
            case SET_MEM_TABLE -> setMemTable(s, m);
            case GET_MAX_MEM_SLOTS -> getMaxMemSlots(s, r, m);
            case ADD_MEM_REG -> addMemReg(s, r, Payload.MemoryRegion.decodeSingle(m), m);
            case REM_MEM_REG -> remMemReg(s, r, Payload.MemoryRegion.decodeSingle(m));
            case SET_VRING_NUM -> setVringNum(s, r, Payload.VringState.decode(m));
            case SET_VRING_ADDR -> setVringAddr(s, r, Payload.VringAddr.decode(m));
            case SET_VRING_BASE -> setVringBase(r, Payload.VringState.decode(m));
            case GET_VRING_BASE -> getVringBase(r, Payload.VringState.decode(m), m);
            case SET_VRING_KICK -> setVringKick(s, r, Payload.VringFile.decode(m), m);
            case SET_VRING_CALL -> setVringCall(r, Payload.VringFile.decode(m), m);
            case SET_VRING_ERR -> setVringErr(r, Payload.VringFile.decode(m), m);
            case GET_QUEUE_NUM -> getQueueNum(s, r, m);
            case SET_VRING_ENABLE -> setVringEnable(r, Payload.VringState.decode(m));
            case SEND_RARP -> sendRarp(s, r);
            case NET_SET_MTU -> netSetMtu(s, r, Payload.u64(m));
            case SET_BACKEND_REQ_FD -> setBackendReqFd(s, r, m);
            case GET_CONFIG -> getConfig(s, r, Payload.ConfigRange.decode(m), m);
            case SET_CONFIG -> setConfig(s, r);
            case SET_STATUS -> setStatus(s, r, Payload.u64(m));
            case GET_STATUS -> getStatus(s, r, m);
            case SET_LOG_BASE -> setLogBase(s, r, Payload.LogArea.decode(m), m);
            case SET_LOG_FD -> setLogFd(s, r, m);
            case GET_INFLIGHT_FD -> getInflightFd(s, r, Payload.InflightArea.decode(m), m);
            case SET_INFLIGHT_FD -> setInflightFd(s, r, Payload.InflightArea.decode(m), m);
            case IOTLB_MSG -> throw unsupported(r, "VIRTIO_F_ACCESS_PLATFORM is not offered");
            case SET_VRING_ENDIAN -> throw unsupported(r, "only VERSION_1 (little-endian) rings are supported");
            case VRING_KICK -> throw unsupported(r, "in-band notifications are not offered");
            default -> throw new VhostUserException.InvalidOperation(r + " is not supported by a virtio-net back-end");
        };
    }

    private static VhostUserException unsupported(Request r, String why) {
        return new VhostUserException.InvalidOperation(r + ": " + why);
    }

    private static Message reply(Message m, byte[] payload) {
        return Message.reply(m.requestCode(), payload);
    }

    // ---------------------------------------------------------------- features and ownership

    @Locks(Locking.CONTROL)
    private Message getFeatures(Message m) {
        return reply(m, Message.ofU64(backend.offeredFeatures()));
    }

    @Locks(Locking.CONTROL)
    private Message getProtocolFeatures(Message m) {
        return reply(m, Message.ofU64(backend.offeredProtocol()));
    }

    /** Offloads and LOG_ALL apply on the fly; ring-layout bits only while no ring runs. */
    @Locks(Locking.EVERY_VRING)
    private Message setFeatures(Session s, long f) throws VhostUserException {
        long offered = backend.offeredFeatures();
        if ((f & ~offered) != 0) {
            throw new VhostUserException.FeatureMismatch("SET_FEATURES acks 0x" + Long.toHexString(f & ~offered)
                    + ", which was not offered (" + new FeatureSet(f & ~offered) + ")");
        }
        rings.requireLayoutUnchanged(f ^ s.ackedFeatures, LAYOUT_BITS);
        // The enabled state of rings is not touched here: it is decided when a ring starts.
        s.ackedFeatures = f;
        s.featuresSet = true;
        s.features = new FeatureSet(f);
        backend.negotiated(s.features);
        rings.configureLogs(s); // VHOST_F_LOG_ALL turns logging on or off for the running rings
        return null;
    }

    @Locks(Locking.CONTROL)
    private Message setProtocolFeatures(Session s, long p) throws VhostUserException {
        long offered = backend.offeredProtocol();
        if ((p & ~offered) != 0) {
            throw new VhostUserException.FeatureMismatch("SET_PROTOCOL_FEATURES acks "
                    + ProtocolFeature.describe(p & ~offered) + ", which was not offered");
        }
        s.ackedProtocol = p;
        s.protocolSet = true;
        return null;
    }

    @Locks(Locking.CONTROL)
    private Message setOwner(Session s) throws VhostUserException {
        if (s.owner) throw new VhostUserException.InvalidOperation("SET_OWNER twice on one connection");
        s.owner = true;
        return null;
    }

    /** Deprecated; the spec recommends treating it as "disable every ring", nothing more. */
    @Locks(Locking.CONTROL)
    private Message resetOwner() {
        rings.disableAll();
        return null;
    }

    @Locks(Locking.EVERY_VRING)
    private Message resetDevice(Session s, Request r) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.RESET_DEVICE, r);
        rings.resetAll();
        s.status = 0;
        return null;
    }

    // ---------------------------------------------------------------- memory

    /** Maps the new table without locks, then rebuilds the running rings over it. */
    @Locks(Locking.EVERY_VRING)
    private Message setMemTable(Session s, Message m) throws VhostUserException {
        MemoryTable t = MemoryTable.fromMessage(m);
        if (!t.sealed()) backend.shrinkable = true;
        s.slotRegions = new ArrayList<>(t.regions());
        rings.replaceMemory(s, t);
        return null;
    }

    @Locks(Locking.CONTROL)
    private Message getMaxMemSlots(Session s, Request r, Message m) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.CONFIGURE_MEM_SLOTS, r);
        return reply(m, Message.ofU64(VhostUserBackend.MAX_MEM_SLOTS));
    }

    @Locks(Locking.EVERY_VRING)
    private Message addMemReg(Session s, Request r, Payload.MemoryRegion g, Message m) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.CONFIGURE_MEM_SLOTS, r);
        if (s.slotRegions.size() >= VhostUserBackend.MAX_MEM_SLOTS) {
            throw new VhostUserException.InvalidParam("ADD_MEM_REG beyond " + VhostUserBackend.MAX_MEM_SLOTS
                    + " memory slots");
        }
        if (MemoryTable.duplicateOf(s.slotRegions, g.guestAddress(), g.size(), g.userAddress(), g.mmapOffset())
                != null) {
            // QEMU 7.2 with several queue pairs: each pair's vhost device adds the same regions.
            m.takeFd(0).close();
            return null;
        }
        MemoryTable.Region reg =
                MemoryTable.map(g.guestAddress(), g.size(), g.userAddress(), g.mmapOffset(), m.takeFd(0));
        if (!reg.sealed()) backend.shrinkable = true;
        List<MemoryTable.Region> all = new ArrayList<>(s.slotRegions);
        all.add(reg);
        MemoryTable t;
        try {
            t = MemoryTable.build(all);
        } catch (VhostUserException e) {
            reg.mapping().close();
            throw e;
        }
        rings.replaceMemoryKeeping(s, t, all);
        return null;
    }

    @Locks(Locking.EVERY_VRING)
    private Message remMemReg(Session s, Request r, Payload.MemoryRegion g) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.CONFIGURE_MEM_SLOTS, r);
        MemoryTable.Region found = null;
        for (MemoryTable.Region x : s.slotRegions) {
            if (x.guestAddress() == g.guestAddress() && x.size() == g.size() && x.userAddress() == g.userAddress())
                    found = x;
        }
        if (found == null) {
            // QEMU 7.2 with several queue pairs sends REM_MEM_REG once per pair (each pair's
            // device keeps its own copy of the table), so the first removes the region and
            // the others name one that is gone: nothing to do, as for a repeated ADD_MEM_REG.
            LOG.log(System.Logger.Level.DEBUG,
                    backend.name() + ": REM_MEM_REG of [0x" + Long.toHexString(g.guestAddress())
                    + ", +0x" + Long.toHexString(g.size()) + "), which is not mapped (a repeat): ignored");
            return null;
        }
        List<MemoryTable.Region> rest = new ArrayList<>(s.slotRegions);
        rest.remove(found);
        MemoryTable t = MemoryTable.build(rest);
        try {
            rings.replaceMemoryKeeping(s, t, rest);
        } finally {
            found.mapping().close();
        }
        return null;
    }

    // ---------------------------------------------------------------- vring configuration

    /** Only on a stopped ring, whose size the data path does not read. */
    @Locks(Locking.CONTROL)
    private Message setVringNum(Session s, Request r, Payload.VringState p) throws VhostUserException {
        Vring v = rings.get(p.unsignedIndex(), r);
        int num = p.num();
        if (v.started()) throw new VhostUserException.InvalidOperation("SET_VRING_NUM on running vring " + v.index);
        if (num < 1 || num > 32768 || (!s.packedAcked() && Integer.bitCount(num) != 1)) {
            throw new VhostUserException.InvalidParam("SET_VRING_NUM " + Integer.toUnsignedString(num) + " for vring "
                    + v.index + " (must be " + (s.packedAcked() ? "in [1, 32768]" : "a power of two in [1, 32768]")
                            + ")");
        }
        v.num = num;
        return null;
    }

    /** The same addresses again are allowed on a running ring: QEMU toggles VHOST_VRING_F_LOG that way. */
    @Locks(Locking.VRING)
    private Message setVringAddr(Session s, Request r, Payload.VringAddr p) throws VhostUserException {
        Vring v = rings.get(p.unsignedIndex(), r);
        int flags = p.flags();
        if ((flags & ~Payload.VringAddr.F_LOG) != 0) {
            throw new VhostUserException.InvalidParam("SET_VRING_ADDR flags 0x" + Integer.toHexString(flags));
        }
        v.lock.lock();
        try {
            if (v.started()
                    && (v.descUser != p.descUser() || v.usedUser != p.usedUser() || v.availUser != p.availUser())) {
                throw new VhostUserException.InvalidOperation("SET_VRING_ADDR moves running vring " + v.index);
            }
            v.descUser = p.descUser();
            v.usedUser = p.usedUser();
            v.availUser = p.availUser();
            v.logGuest = p.logGuest();
            v.addrFlags = flags;
            v.addrSet = true;
            // QEMU turns used-ring logging on and off (VHOST_VRING_F_LOG) on a running ring.
            rings.configureLog(s, v);
        } finally {
            v.lock.unlock();
        }
        return null;
    }

    /** Only on a stopped ring. */
    @Locks(Locking.CONTROL)
    private Message setVringBase(Request r, Payload.VringState p) throws VhostUserException {
        Vring v = rings.get(p.unsignedIndex(), r);
        if (v.started()) throw new VhostUserException.InvalidOperation("SET_VRING_BASE on running vring " + v.index);
        v.base = p.num();
        v.baseSet = true;
        return null;
    }

    /** Stops the ring: no more processing until SET_VRING_KICK starts it again. */
    @Locks(Locking.VRING)
    private Message getVringBase(Request r, Payload.VringState p, Message m) throws VhostUserException {
        Vring v = rings.get(p.unsignedIndex(), r);
        int base;
        v.lock.lock();
        try {
            v.stop();
            base = v.base;
            if (v.kick != null) v.kick.close();
            v.kick = null;
        } finally {
            v.lock.unlock();
        }
        rings.linkOf(v).ringsChanged();
        return reply(m, new Payload.VringState(v.index, base).encode());
    }

    /** Starts a stopped ring (the spec's start condition): the descriptor is checked before the lock. */
    @Locks(Locking.VRING)
    private Message setVringKick(Session s, Request r, Payload.VringFile p, Message m) throws VhostUserException {
        Vring v = rings.get(p.index(), r);
        EventFd fd = p.noFd() ? null : EventFd.adoptPeer(peerEventFd(m, r, "vring " + v.index));
        v.lock.lock();
        try {
            if (v.kick != null) v.kick.close();
            v.kick = fd;
            v.kickPolled = p.noFd();
            if (!v.started()) rings.start(s, v);
        } finally {
            v.lock.unlock();
        }
        rings.linkOf(v).ringsChanged();
        return null;
    }

    @Locks(Locking.VRING)
    private Message setVringCall(Request r, Payload.VringFile p, Message m) throws VhostUserException {
        Vring v = rings.get(p.index(), r);
        Fd fd = p.noFd() ? null : peerEventFd(m, r, "vring " + v.index);
        v.lock.lock();
        try {
            if (v.call != null) v.call.close();
            v.call = fd == null ? null : EventFd.adoptPeer(fd);
        } finally {
            v.lock.unlock();
        }
        return null;
    }

    @Locks(Locking.VRING)
    private Message setVringErr(Request r, Payload.VringFile p, Message m) throws VhostUserException {
        Vring v = rings.get(p.index(), r);
        Fd fd = p.noFd() ? null : peerEventFd(m, r, "vring " + v.index);
        v.lock.lock();
        try {
            if (v.err != null) v.err.close();
            v.err = fd;
        } finally {
            v.lock.unlock();
        }
        return null;
    }

    /**
     * The spec says "only when PROTOCOL_FEATURES has been negotiated", but DPDK virtio-user sends
     * it on a server-mode reconnect before negotiating again. We always offer the bit, so like
     * DPDK's own vhost library we accept it and let the negotiation decide later whether rings
     * start enabled. {@link Vring#enabled} is volatile: the data path reads it once per batch.
     */
    @Locks(Locking.CONTROL)
    private Message setVringEnable(Request r, Payload.VringState p) throws VhostUserException {
        Vring v = rings.get(p.unsignedIndex(), r);
        int on = p.num();
        if (on != 0 && on != 1) throw new VhostUserException.InvalidParam("SET_VRING_ENABLE num " + on + " (0 or 1)");
        v.enabled = on == 1;
        rings.linkOf(v).ringsChanged();
        return null;
    }

    // ---------------------------------------------------------------- device

    @Locks(Locking.CONTROL)
    private Message getQueueNum(Session s, Request r, Message m) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.MQ, r);
        return reply(m, Message.ofU64(backend.config().queuePairs()));
    }

    /** The guest's MAC; nothing to announce from a software switch port. */
    @Locks(Locking.CONTROL)
    private Message sendRarp(Session s, Request r) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.RARP, r);
        return null;
    }

    @Locks(Locking.CONTROL)
    private Message netSetMtu(Session s, Request r, long mtu) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.MTU, r);
        if (mtu < 68 || mtu > 65535) throw new VhostUserException.InvalidParam("NET_SET_MTU " + mtu + " (68..65535)");
        backend.guestMtu((int) mtu);
        return null;
    }

    @Locks(Locking.CONTROL)
    private Message setBackendReqFd(Session s, Request r, Message m) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.BACKEND_REQ, r);
        if (s.backendChannel != null) s.backendChannel.close();
        Fd ch = m.takeFd(0);
        String kind = describeTarget(ch);
        if (!kind.startsWith("socket:")) {
            ch.close();
            throw new VhostUserException.IncorrectFds(r + ": the descriptor is not a socket but " + kind);
        }
        s.backendChannel = new Connection(UnixSocket.adopt(ch));
        return null;
    }

    /** The spec's way to say "error" to GET_CONFIG is an empty payload. */
    @Locks(Locking.CONTROL)
    private Message getConfig(Session s, Request r, Payload.ConfigRange p, Message m) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.CONFIG, r);
        int off = p.offset(), size = p.size();
        byte[] space = configSpace();
        int header = (int) VhostUserConfigLayout.SIZE;
        byte[] out = new byte[header + size];
        System.arraycopy(m.payload(), 0, out, 0, header);
        if (off < 0 || off > space.length || size > space.length - off) return reply(m, new byte[0]);
        System.arraycopy(space, off, out, header, size);
        return reply(m, out);
    }

    @Locks(Locking.CONTROL)
    private Message setConfig(Session s, Request r) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.CONFIG, r);
        throw new VhostUserException.InvalidOperation("SET_CONFIG: the virtio-net config space is read-only");
    }

    /** virtio-net config space: mac[6], status u16, max_virtqueue_pairs u16, mtu u16. */
    private byte[] configSpace() {
        BackendConfig c = backend.config();
        byte[] b = new byte[12];
        System.arraycopy(c.mac(), 0, b, 0, 6);
        b[6] = 1; // VIRTIO_NET_S_LINK_UP
        b[8] = (byte) c.queuePairs();
        b[9] = (byte) (c.queuePairs() >> 8);
        b[10] = (byte) c.mtu();
        b[11] = (byte) (c.mtu() >> 8);
        return b;
    }

    @Locks(Locking.CONTROL)
    private Message setStatus(Session s, Request r, long status) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.STATUS, r);
        if (status < 0 || status > 0xff) {
            throw new VhostUserException.InvalidParam("SET_STATUS 0x" + Long.toHexString(status) + " is not a u8");
        }
        s.status = (int) status;
        return null;
    }

    @Locks(Locking.CONTROL)
    private Message getStatus(Session s, Request r, Message m) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.STATUS, r);
        return reply(m, Message.ofU64(s.status));
    }

    // ---------------------------------------------------------------- dirty log (live migration)

    /**
     * Without LOG_SHMFD the log would be a pointer into the front-end's address space. The new
     * log is mapped without locks; running rings move to it before the old one is unmapped.
     */
    @Locks(Locking.EVERY_VRING)
    private Message setLogBase(Session s, Request r, Payload.LogArea p, Message m) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.LOG_SHMFD, r);
        DirtyLog l = DirtyLog.adopt(m.fdCount() > 0 ? m.takeFd(0) : null, p.mmapSize(), p.mmapOffset());
        if (!l.sealed) backend.shrinkable = true;
        DirtyLog old = s.dirtyLog;
        s.dirtyLog = l;
        backend.logInstalled(l);
        rings.configureLogs(s);
        if (old != null) old.close();
        // With LOG_SHMFD the front-end waits for this reply (vhost-user.rst, "Communication").
        return reply(m, Message.ofU64(0));
    }

    /**
     * Optional ("may be used to inform the front-end that the log has been modified"); QEMU
     * reads the log itself when it syncs, so the eventfd is only kept.
     */
    @Locks(Locking.CONTROL)
    private Message setLogFd(Session s, Request r, Message m) throws VhostUserException {
        Fd fd = peerEventFd(m, r, "log");
        if (s.logEventFd != null) s.logEventFd.close();
        s.logEventFd = fd;
        return null;
    }

    // ---------------------------------------------------------------- inflight tracking

    /** Only while no ring runs (a running ring's tracking cannot move into another buffer). */
    @Locks(Locking.CONTROL)
    private Message getInflightFd(Session s, Request r, Payload.InflightArea p, Message m) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.INFLIGHT_SHMFD, r);
        rings.requireNoneRunning(r);
        int nq = p.numQueues(), qs = p.queueSize();
        if (nq < 1 || nq > rings.count() || qs < 1 || qs > 32768) {
            throw new VhostUserException.InvalidParam("GET_INFLIGHT_FD for " + nq + " queues of " + qs
                    + " (at most " + rings.count() + " queues of 32768)");
        }
        Fd[] fd = new Fd[1];
        Inflight f = Inflight.create(nq, qs, s.packedAcked(), fd);
        s.setInflight(f);
        return Message.reply(m.requestCode(), new Payload.InflightArea(f.size(), 0, nq, qs).encode(), fd[0]);
    }

    /** Only while no ring runs, as {@link #getInflightFd}. */
    @Locks(Locking.CONTROL)
    private Message setInflightFd(Session s, Request r, Payload.InflightArea p, Message m) throws VhostUserException {
        s.requireProtocol(ProtocolFeature.INFLIGHT_SHMFD, r);
        rings.requireNoneRunning(r);
        int nq = p.numQueues(), qs = p.queueSize();
        if (nq < 1 || nq > rings.count() || qs < 1 || qs > 32768) {
            throw new VhostUserException.InvalidParam("SET_INFLIGHT_FD for " + nq + " queues of " + qs);
        }
        Inflight f = Inflight.adopt(m.takeFd(0), p.mmapSize(), p.mmapOffset(), nq, qs, s.packedAcked());
        if (!f.sealed) backend.shrinkable = true;
        s.setInflight(f);
        return null;
    }

    // ---------------------------------------------------------------- descriptors

    /**
     * Takes the message's descriptor as a doorbell of the front-end: only a plain eventfd is
     * accepted (a pipe, socket, file or semaphore eventfd could block or never drain the thread
     * that reads or writes it: {@link EventFd#checkPeer}); anything else is closed and refused.
     */
    private static Fd peerEventFd(Message m, Request r, String what) throws VhostUserException {
        Fd fd = m.takeFd(0);
        String bad = EventFd.checkPeer(fd);
        if (bad != null) {
            fd.close();
            throw new VhostUserException.IncorrectFds(r + " for " + what + ": the descriptor is " + bad);
        }
        return fd;
    }

    private static String describeTarget(Fd fd) {
        try {
            return fd.target();
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }
}
