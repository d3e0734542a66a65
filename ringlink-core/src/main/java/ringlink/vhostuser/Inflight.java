package ringlink.vhostuser;

import java.lang.foreign.MemorySegment;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.MemFd;
import ringlink.sys.SysException;

/**
 * The inflight-tracking buffer of VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD (vhost-user.rst "Inflight
 * I/O tracking"): one region per queue, which the back-end updates as it takes and completes
 * chains and the front-end keeps across back-end restarts (GET_INFLIGHT_FD hands it out,
 * SET_INFLIGHT_FD hands it to the next back-end).
 *
 * <p>Split layout, per queue ({@code QueueRegionSplit}): features u64, version u16, desc_num
 * u16, last_batch_head u16, used_idx u16, then {@code desc_num} × {@code DescStateSplit}
 * (inflight u8, padding[5], next u16, counter u64). Each queue's region is rounded up to 64
 * bytes, as libvhost-user does. A packed ring's region is a {@code QueueRegionPacked} (32 + 32
 * bytes per descriptor). This class owns the buffer: creating, adopting (size checked) and
 * slicing it per queue; each running ring's tracking is an {@link InflightTracker} over its slice
 * ({@link SplitInflight}, {@link PackedInflight}).
 */
final class Inflight implements AutoCloseable {
    final Mapping mapping;
    final long offset;
    final int numQueues, queueSize;
    final long regionSize;
    /** Whether the queue regions have the packed layout (RING_PACKED was acked when the buffer was set up). */
    final boolean packed;

    /**
     * False if the front-end can shrink the buffer's file under our mapping ({@link MemoryTable#sealedAgainstShrink}).
     */
    final boolean sealed;

    private Inflight(Mapping mapping, long offset, int numQueues, int queueSize, long regionSize, boolean packed,
            boolean sealed) {
        this.sealed = sealed;
        this.mapping = mapping;
        this.offset = offset;
        this.numQueues = numQueues;
        this.queueSize = queueSize;
        this.regionSize = regionSize;
        this.packed = packed;
    }

    /** Bytes of one queue's region. */
    static long regionSize(int queueSize, boolean packed) {
        long raw = packed ? QueueRegionPackedLayout.OFF_DESC + DescStatePackedLayout.SIZE * queueSize
                : QueueRegionSplitLayout.OFF_DESC + DescStateSplitLayout.SIZE * queueSize;
        return (raw + 63) & ~63L;
    }

    /** GET_INFLIGHT_FD: a new zeroed buffer; returns it mapped, with its fd for the reply. */
    static Inflight create(int numQueues, int queueSize, boolean packed, Fd[] fdOut) throws VhostUserException {
        long rs = regionSize(queueSize, packed);
        long size = rs * numQueues;
        try {
            Fd fd = MemFd.create("ringlink-vhost-user-inflight", size);
            try {
                Mapping m = Mapping.map(fd, size, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0,
                        "inflight buffer");
                fdOut[0] = fd;
                return new Inflight(m, 0, numQueues, queueSize, rs, packed, true); // ours: MemFd.create seals it
            } catch (SysException | ClosedFdException | RuntimeException e) {
                fd.close();
                throw e;
            }
        } catch (SysException | ClosedFdException e) {
            throw new VhostUserException.InvalidParam("cannot create an inflight buffer of " + size + " bytes: "
                    + e.getMessage(), e);
        }
    }

    /** SET_INFLIGHT_FD: maps the front-end's buffer after checking it is as large as it says. */
    static Inflight adopt(Fd fd, long mmapSize, long mmapOffset, int numQueues, int queueSize, boolean packed)
            throws VhostUserException {
        try (fd) {
            long rs = regionSize(queueSize, packed);
            if (mmapOffset < 0 || mmapSize < rs * numQueues || mmapSize > Long.MAX_VALUE - mmapOffset) {
                throw new VhostUserException.InvalidParam("SET_INFLIGHT_FD of " + Long.toUnsignedString(mmapSize)
                        + " bytes at offset "
                        + Long.toUnsignedString(mmapOffset) + " cannot hold " + numQueues + " queues of " + queueSize);
            }
            boolean sealed = MemoryTable.sealedAgainstShrink(fd, "SET_INFLIGHT_FD buffer"); // before the size is read
            long fileSize = fd.size();
            if (mmapOffset + mmapSize > fileSize) {
                throw new VhostUserException.InvalidParam("SET_INFLIGHT_FD buffer ends beyond its file of " + fileSize
                        + " bytes");
            }
            Mapping m = Mapping.map(fd, mmapOffset + mmapSize, Mapping.PROT_READ | Mapping.PROT_WRITE,
                    Mapping.MAP_SHARED, 0,
                    "inflight buffer");
            return new Inflight(m, mmapOffset, numQueues, queueSize, rs, packed, sealed);
        } catch (SysException | ClosedFdException e) {
            throw new VhostUserException.InvalidParam("SET_INFLIGHT_FD: " + e.getMessage(), e);
        }
    }

    /** Queue {@code q}'s region, or null if the buffer does not cover it. */
    MemorySegment queue(int q) {
        if (q >= numQueues) return null;
        return mapping.segment().asSlice(offset + q * regionSize, regionSize);
    }

    long size() { return regionSize * numQueues; }

    @Override
    public void close() {
        mapping.close();
    }
}
