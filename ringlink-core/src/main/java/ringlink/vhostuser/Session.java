package ringlink.vhostuser;

import static ringlink.virtio.VirtioFeature.RING_PACKED;
import static ringlink.virtio.VirtioFeature.VHOST_LOG_ALL;

import java.util.ArrayList;
import java.util.List;
import ringlink.sys.Fd;
import ringlink.virtio.FeatureSet;

/**
 * What one front-end connection negotiated and handed over: features, protocol features,
 * ownership, the memory table, the inflight buffer, the dirty log, the back-end channel and
 * status. The back-end makes a new one for every connection and {@link #close closes} the old
 * one when the connection ends, so nothing of a front-end survives into the next one's session
 * (the rings' own configuration is per ring, reset by {@link Vring#reset}).
 *
 * <p>Fields are written by the control thread only, in the request handlers
 * ({@link BackendRequests}); the data path never reads a session (what it needs is copied into
 * the rings and links under their locks), except {@link #features}, which is volatile for
 * {@link VhostUserBackend#features()}.
 */
final class Session implements AutoCloseable {
    long ackedFeatures;
    boolean featuresSet;
    volatile FeatureSet features = FeatureSet.NONE;
    long ackedProtocol;
    boolean protocolSet;
    boolean owner;
    MemoryTable table = MemoryTable.empty();
    /** The regions ADD/REM_MEM_REG work on (those of the current table). */
    List<MemoryTable.Region> slotRegions = new ArrayList<>();
    int status;
    Connection backendChannel;
    Inflight inflight;
    /** The log of the last SET_LOG_BASE, or null. */
    DirtyLog dirtyLog;
    /** SET_LOG_FD's eventfd (kept, not signalled), or null. */
    Fd logEventFd;

    boolean replyAck() {
        return (ackedProtocol & ProtocolFeature.bit(ProtocolFeature.REPLY_ACK)) != 0;
    }

    /**
     * True once VHOST_USER_F_PROTOCOL_FEATURES is in effect: acked by SET_FEATURES, or (as QEMU
     * does before SET_FEATURES) protocol features were already exchanged with
     * SET_PROTOCOL_FEATURES, which is only legal when we offered the bit.
     */
    boolean protocolNegotiated() {
        return (ackedFeatures & ProtocolFeature.F_PROTOCOL_FEATURES) != 0 || protocolSet;
    }

    void requireProtocol(int feature, Request r) throws VhostUserException {
        long bit = ProtocolFeature.bit(feature);
        if ((ackedProtocol & bit) == 0) {
            throw new VhostUserException.InvalidOperation(r + " needs protocol feature "
                    + ProtocolFeature.describe(bit) + ", which was not negotiated");
        }
    }

    boolean packedAcked() {
        return (ackedFeatures & RING_PACKED.mask()) != 0;
    }

    /** True while the data path must log: VHOST_F_LOG_ALL acked and a log given. */
    boolean logging() {
        return dirtyLog != null && (ackedFeatures & VHOST_LOG_ALL.mask()) != 0;
    }

    /**
     * Installs a new inflight buffer. No ring is running (the handlers refuse the messages
     * otherwise): a running ring would need its tracking moved into a buffer that lacks the
     * chains it holds, sized for another queue size, so the message is refused instead; QEMU
     * sends both before it starts the rings.
     */
    void setInflight(Inflight f) {
        Inflight old = inflight;
        inflight = f;
        if (old != null) old.close();
    }

    /**
     * Unmaps the memory, inflight buffer and log, and closes the descriptors the front-end gave.
     * The caller has reset every ring under its lock first, so no ring refers to any of it.
     */
    @Override
    public void close() {
        table.close();
        table = MemoryTable.empty();
        if (inflight != null) inflight.close();
        inflight = null;
        if (dirtyLog != null) dirtyLog.close();
        dirtyLog = null;
        if (logEventFd != null) logEventFd.close();
        logEventFd = null;
        if (backendChannel != null) backendChannel.close();
        backendChannel = null;
    }
}
