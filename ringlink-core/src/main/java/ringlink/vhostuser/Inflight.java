package ringlink.vhostuser;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
 * bytes, as libvhost-user does. The static methods below track and recover split rings; a packed
 * ring's region ({@code QueueRegionPacked}, 32 + 32 bytes per descriptor) is handled by
 * {@link PackedInflight}. This class owns the buffer: creating, adopting (size checked) and
 * slicing it per queue.
 */
final class Inflight implements AutoCloseable {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int OFF_VERSION = 8, OFF_DESC_NUM = 10, OFF_LAST_BATCH_HEAD = 12, OFF_USED_IDX = 14, OFF_DESC = 16;
    static final int DESC_SIZE = 16, D_INFLIGHT = 0, D_NEXT = 6, D_COUNTER = 8;
    static final int VERSION = 1;

    final Mapping mapping;
    final long offset;
    final int numQueues, queueSize;
    final long regionSize;
    /** Whether the queue regions have the packed layout (RING_PACKED was acked when the buffer was set up). */
    final boolean packed;

    private Inflight(Mapping mapping, long offset, int numQueues, int queueSize, long regionSize, boolean packed) {
        this.mapping = mapping;
        this.offset = offset;
        this.numQueues = numQueues;
        this.queueSize = queueSize;
        this.regionSize = regionSize;
        this.packed = packed;
    }

    /** Bytes of one queue's region. */
    static long regionSize(int queueSize, boolean packed) {
        long raw = packed ? 32L + 32L * queueSize : OFF_DESC + (long) DESC_SIZE * queueSize;
        return (raw + 63) & ~63L;
    }

    /** GET_INFLIGHT_FD: a new zeroed buffer; returns it mapped, with its fd for the reply. */
    static Inflight create(int numQueues, int queueSize, boolean packed, Fd[] fdOut) throws VhostUserException {
        long rs = regionSize(queueSize, packed);
        long size = rs * numQueues;
        try {
            Fd fd = MemFd.create("ringlink-vhost-user-inflight", size);
            try {
                Mapping m = Mapping.map(fd, size, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0, "inflight buffer");
                fdOut[0] = fd;
                return new Inflight(m, 0, numQueues, queueSize, rs, packed);
            } catch (SysException | ClosedFdException | RuntimeException e) {
                fd.close();
                throw e;
            }
        } catch (SysException | ClosedFdException e) {
            throw new VhostUserException.InvalidParam("cannot create an inflight buffer of " + size + " bytes: " + e.getMessage(), e);
        }
    }

    /** SET_INFLIGHT_FD: maps the front-end's buffer after checking it is as large as it says. */
    static Inflight adopt(Fd fd, long mmapSize, long mmapOffset, int numQueues, int queueSize, boolean packed)
            throws VhostUserException {
        try (fd) {
            long rs = regionSize(queueSize, packed);
            if (mmapOffset < 0 || mmapSize < rs * numQueues || mmapSize > Long.MAX_VALUE - mmapOffset) {
                throw new VhostUserException.InvalidParam("SET_INFLIGHT_FD of " + Long.toUnsignedString(mmapSize) + " bytes at offset "
                        + Long.toUnsignedString(mmapOffset) + " cannot hold " + numQueues + " queues of " + queueSize);
            }
            long fileSize = fd.size();
            if (mmapOffset + mmapSize > fileSize) {
                throw new VhostUserException.InvalidParam("SET_INFLIGHT_FD buffer ends beyond its file of " + fileSize + " bytes");
            }
            MemoryTable.sealedAgainstShrink(fd, "SET_INFLIGHT_FD buffer");
            Mapping m = Mapping.map(fd, mmapOffset + mmapSize, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0,
                    "inflight buffer");
            return new Inflight(m, mmapOffset, numQueues, queueSize, rs, packed);
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

    // ---- per-queue tracking (split; packed rings: PackedInflight) ----

    /**
     * Prepares queue region {@code r} for a ring of {@code num} whose used index is
     * {@code usedIdx} (spec "When reconnecting"): a fresh region is initialised; otherwise the
     * last batch the previous back-end completed but had not recorded is cleared.
     *
     * @return the number of chains still marked inflight (to be processed again), or 0
     */
    static int recover(MemorySegment r, int num, int usedIdx) throws VhostUserException {
        int version = Short.toUnsignedInt(r.get(U16, OFF_VERSION));
        if (version == 0) {
            r.set(U16, OFF_VERSION, (short) VERSION);
            r.set(U16, OFF_DESC_NUM, (short) num);
            r.set(U16, OFF_USED_IDX, (short) usedIdx);
            return 0;
        }
        int descNum = Short.toUnsignedInt(r.get(U16, OFF_DESC_NUM));
        if (version != VERSION || descNum != num) {
            throw new VhostUserException.InvalidParam("inflight region version " + version + " for " + descNum
                    + " descriptors does not match a ring of " + num);
        }
        int recorded = Short.toUnsignedInt(r.get(U16, OFF_USED_IDX));
        if (recorded != usedIdx) {
            int batch = (usedIdx - recorded) & 0xffff;
            if (batch > num) throw new VhostUserException.InvalidParam("inflight used_idx " + recorded + " is " + batch
                    + " behind the used ring's " + usedIdx);
            int h = Short.toUnsignedInt(r.get(U16, OFF_LAST_BATCH_HEAD));
            for (int k = 0; k < batch; k++) {
                if (h >= num) throw new VhostUserException.InvalidParam("inflight batch list points at descriptor " + h);
                long e = OFF_DESC + (long) DESC_SIZE * h;
                r.set(ValueLayout.JAVA_BYTE, e + D_INFLIGHT, (byte) 0);
                h = Short.toUnsignedInt(r.get(U16, e + D_NEXT));
            }
            r.set(U16, OFF_USED_IDX, (short) usedIdx);
        }
        int pending = 0;
        for (int i = 0; i < num; i++) {
            if (r.get(ValueLayout.JAVA_BYTE, OFF_DESC + (long) DESC_SIZE * i + D_INFLIGHT) != 0) pending++;
        }
        return pending;
    }

    /** The largest counter in the region (the next one continues after it). */
    static long maxCounter(MemorySegment r, int num) {
        long max = 0;
        for (int i = 0; i < num; i++) max = Math.max(max, r.get(U64, OFF_DESC + (long) DESC_SIZE * i + D_COUNTER));
        return max;
    }

    /** A chain with head {@code id} was taken from the available ring. */
    static void taken(MemorySegment r, int id, long counter) {
        long e = OFF_DESC + (long) DESC_SIZE * id;
        r.set(U64, e + D_COUNTER, counter);
        r.set(ValueLayout.JAVA_BYTE, e + D_INFLIGHT, (byte) 1);
    }

    /** Chain {@code id} was put on the used ring (not yet published): link it into the batch list. */
    static void used(MemorySegment r, int id) {
        long e = OFF_DESC + (long) DESC_SIZE * id;
        r.set(U16, e + D_NEXT, r.get(U16, OFF_LAST_BATCH_HEAD));
        r.set(U16, OFF_LAST_BATCH_HEAD, (short) id);
    }

    /** The batch {@code ids[0..n)} was published with used index {@code usedIdx}. */
    static void published(MemorySegment r, int[] ids, int n, int usedIdx) {
        for (int k = 0; k < n; k++) r.set(ValueLayout.JAVA_BYTE, OFF_DESC + (long) DESC_SIZE * ids[k] + D_INFLIGHT, (byte) 0);
        r.set(U16, OFF_USED_IDX, (short) usedIdx);
    }
}
