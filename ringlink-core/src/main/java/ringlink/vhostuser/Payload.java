package ringlink.vhostuser;

import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;
import ringlink.vhost.VhostMemoryLayout;
import ringlink.vhost.VhostVringAddrLayout;
import ringlink.vhost.VhostVringStateLayout;

/**
 * The payloads of vhost-user requests as records, decoded from and encoded to the wire through
 * the named layouts of the C structures ({@code ringlink.vhost}'s for the structures vhost-user
 * shares with the kernel's vhost API, {@code VhostUser*Layout} for its own). The back-end decodes
 * each request into one of these before its handler runs ({@link BackendRequests}); the
 * front-end encodes with them. {@link MessageCodec#validateRequest} has checked the sizes.
 */
final class Payload {
    private Payload() {}

    /** A wire payload of {@code size} zero bytes that {@code fill} writes through a segment over it. */
    static byte[] encode(long size, Consumer<MemorySegment> fill) {
        byte[] b = new byte[(int) size];
        fill.accept(MemorySegment.ofArray(b));
        return b;
    }

    /** A payload that names a vring by a u32 index. */
    sealed interface VringIndexed permits VringState, VringAddr {
        /** The index as sent (a u32). */
        int index();

        /** The index as the unsigned number the front-end sent. */
        default long unsignedIndex() { return Integer.toUnsignedLong(index()); }
    }

    /** A payload that is one u64 (features, protocol features, MTU, status, queue number). */
    static long u64(Message m) {
        return m.segment().get(Message.U64, 0);
    }

    /** {@code struct vhost_vring_state}: SET_VRING_NUM/BASE/ENABLE, GET_VRING_BASE and its reply. */
    record VringState(int index, int num) implements VringIndexed {
        static VringState decode(Message m) {
            MemorySegment s = m.segment();
            return new VringState(s.get(Message.U32, VhostVringStateLayout.OFF_INDEX),
                    s.get(Message.U32, VhostVringStateLayout.OFF_NUM));
        }

        byte[] encode() {
            return Payload.encode(VhostVringStateLayout.SIZE, s -> {
                s.set(Message.U32, VhostVringStateLayout.OFF_INDEX, index);
                s.set(Message.U32, VhostVringStateLayout.OFF_NUM, num);
            });
        }
    }

    /** {@code struct vhost_vring_addr}: SET_VRING_ADDR, addresses in the front-end's address space. */
    record VringAddr(int index, int flags, long descUser, long usedUser, long availUser, long logGuest)
            implements VringIndexed {
        /** The only flag defined: VHOST_VRING_F_LOG (log used-ring writes at {@code log_guest_addr}). */
        static final int F_LOG = 1 << VhostVringAddrLayout.VHOST_VRING_F_LOG;

        static VringAddr decode(Message m) {
            MemorySegment s = m.segment();
            return new VringAddr(s.get(Message.U32, VhostVringAddrLayout.OFF_INDEX),
                    s.get(Message.U32, VhostVringAddrLayout.OFF_FLAGS),
                    s.get(Message.U64, VhostVringAddrLayout.OFF_DESC_USER_ADDR),
                    s.get(Message.U64, VhostVringAddrLayout.OFF_USED_USER_ADDR),
                    s.get(Message.U64, VhostVringAddrLayout.OFF_AVAIL_USER_ADDR),
                    s.get(Message.U64, VhostVringAddrLayout.OFF_LOG_GUEST_ADDR));
        }

        byte[] encode() {
            return Payload.encode(VhostVringAddrLayout.SIZE, s -> {
                s.set(Message.U32, VhostVringAddrLayout.OFF_INDEX, index);
                s.set(Message.U32, VhostVringAddrLayout.OFF_FLAGS, flags);
                s.set(Message.U64, VhostVringAddrLayout.OFF_DESC_USER_ADDR, descUser);
                s.set(Message.U64, VhostVringAddrLayout.OFF_USED_USER_ADDR, usedUser);
                s.set(Message.U64, VhostVringAddrLayout.OFF_AVAIL_USER_ADDR, availUser);
                s.set(Message.U64, VhostVringAddrLayout.OFF_LOG_GUEST_ADDR, logGuest);
            });
        }
    }

    /**
     * The u64 of SET_VRING_KICK/CALL/ERR: the vring index in bits 0..7 and bit 8 set when no
     * descriptor comes with it (the ring is polled).
     */
    record VringFile(long index, boolean noFd) {
        static VringFile decode(Message m) {
            long v = u64(m);
            return new VringFile(v & MessageCodec.VRING_IDX_MASK, (v & MessageCodec.VRING_NOFD_MASK) != 0);
        }
    }

    /** {@code VhostUserMemoryRegion}: one region of SET_MEM_TABLE or ADD/REM_MEM_REG. */
    record MemoryRegion(long guestAddress, long size, long userAddress, long mmapOffset) {
        static MemoryRegion decode(MemorySegment s, long at) {
            return new MemoryRegion(s.get(Message.U64, at + VhostUserMemoryRegionLayout.OFF_GUEST_PHYS_ADDR),
                    s.get(Message.U64, at + VhostUserMemoryRegionLayout.OFF_MEMORY_SIZE),
                    s.get(Message.U64, at + VhostUserMemoryRegionLayout.OFF_USERSPACE_ADDR),
                    s.get(Message.U64, at + VhostUserMemoryRegionLayout.OFF_MMAP_OFFSET));
        }

        /** ADD_MEM_REG / REM_MEM_REG ({@code VhostUserMemRegMsg}). */
        static MemoryRegion decodeSingle(Message m) {
            return decode(m.segment(), VhostUserMemRegMsgLayout.OFF_REGION);
        }

        void encode(MemorySegment s, long at) {
            s.set(Message.U64, at + VhostUserMemoryRegionLayout.OFF_GUEST_PHYS_ADDR, guestAddress);
            s.set(Message.U64, at + VhostUserMemoryRegionLayout.OFF_MEMORY_SIZE, size);
            s.set(Message.U64, at + VhostUserMemoryRegionLayout.OFF_USERSPACE_ADDR, userAddress);
            s.set(Message.U64, at + VhostUserMemoryRegionLayout.OFF_MMAP_OFFSET, mmapOffset);
        }
    }

    /** SET_MEM_TABLE ({@code VhostUserMemory}, the kernel's {@code struct vhost_memory} header): its regions. */
    static MemoryRegion[] memoryTable(Message m) {
        MemorySegment s = m.segment();
        int n = s.get(Message.U32, VhostMemoryLayout.OFF_NREGIONS);
        MemoryRegion[] out = new MemoryRegion[n];
        for (int i = 0; i < n; i++) {
            out[i] = MemoryRegion.decode(s, VhostMemoryLayout.OFF_REGIONS + VhostUserMemoryRegionLayout.SIZE * i);
        }
        return out;
    }

    /** The SET_MEM_TABLE payload for {@code regions}. */
    static byte[] encodeMemoryTable(MemoryRegion... regions) {
        return encode(VhostMemoryLayout.SIZE + VhostUserMemoryRegionLayout.SIZE * regions.length, s -> {
            s.set(Message.U32, VhostMemoryLayout.OFF_NREGIONS, regions.length);
            for (int i = 0; i < regions.length; i++) {
                regions[i].encode(s, VhostMemoryLayout.OFF_REGIONS + VhostUserMemoryRegionLayout.SIZE * i);
            }
        });
    }

    /** {@code VhostUserLog}: SET_LOG_BASE, where the dirty log lies in its file. */
    record LogArea(long mmapSize, long mmapOffset) {
        static LogArea decode(Message m) {
            MemorySegment s = m.segment();
            return new LogArea(s.get(Message.U64, VhostUserLogLayout.OFF_MMAP_SIZE),
                    s.get(Message.U64, VhostUserLogLayout.OFF_MMAP_OFFSET));
        }
    }

    /** {@code VhostUserInflight}: GET_INFLIGHT_FD (request and reply) and SET_INFLIGHT_FD. */
    record InflightArea(long mmapSize, long mmapOffset, int numQueues, int queueSize) {
        static InflightArea decode(Message m) {
            MemorySegment s = m.segment();
            return new InflightArea(s.get(Message.U64, VhostUserInflightLayout.OFF_MMAP_SIZE),
                    s.get(Message.U64, VhostUserInflightLayout.OFF_MMAP_OFFSET),
                    Short.toUnsignedInt(s.get(Message.U16, VhostUserInflightLayout.OFF_NUM_QUEUES)),
                    Short.toUnsignedInt(s.get(Message.U16, VhostUserInflightLayout.OFF_QUEUE_SIZE)));
        }

        byte[] encode() {
            return Payload.encode(VhostUserInflightLayout.SIZE, s -> {
                s.set(Message.U64, VhostUserInflightLayout.OFF_MMAP_SIZE, mmapSize);
                s.set(Message.U64, VhostUserInflightLayout.OFF_MMAP_OFFSET, mmapOffset);
                s.set(Message.U16, VhostUserInflightLayout.OFF_NUM_QUEUES, (short) numQueues);
                s.set(Message.U16, VhostUserInflightLayout.OFF_QUEUE_SIZE, (short) queueSize);
            });
        }
    }

    /** {@code VhostUserConfig}'s header: GET_CONFIG / SET_CONFIG. */
    record ConfigRange(int offset, int size, int flags) {
        static ConfigRange decode(Message m) {
            MemorySegment s = m.segment();
            return new ConfigRange(s.get(Message.U32, VhostUserConfigLayout.OFF_OFFSET),
                    s.get(Message.U32, VhostUserConfigLayout.OFF_SIZE),
                            s.get(Message.U32, VhostUserConfigLayout.OFF_FLAGS));
        }
    }
}
