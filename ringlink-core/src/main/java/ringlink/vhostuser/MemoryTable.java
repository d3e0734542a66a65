package ringlink.vhostuser;

import java.util.ArrayList;
import java.util.List;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.SysException;
import ringlink.virtio.GuestMemory;

/**
 * The back-end's view of the front-end's memory: one mapping per region of SET_MEM_TABLE (or
 * ADD_MEM_REG), each the region's file mapped from offset 0 to {@code mmap_offset + size}, and
 * the {@link GuestMemory} over them that the rings translate through.
 *
 * <p>Everything in a region description is hostile: sizes of 0, sums that overflow, an
 * {@code mmap_offset + size} beyond the end of the file (touching that would raise SIGBUS and
 * kill the JVM, so the file size is checked first), and regions that overlap in guest or user
 * addresses are rejected with {@link VhostUserException.InvalidParam}.
 *
 * <p>The size is checked once, after {@link #sealedAgainstShrink}: a file sealed with
 * F_SEAL_SHRINK (by the front-end, as QEMU's memory-backend-memfd does, or by us when it is
 * sealable) cannot shrink afterwards. For one that cannot be sealed (DPDK's), a later
 * {@code ftruncate} makes our next access fault (SIGBUS → {@code InternalError}), which the data
 * path and the control thread turn into {@code MEMORY_FAULT}: that connection ends, nothing else
 * ({@code VhostUserBackend.shrinkable}, {@code Mapping.deliverFaults}, {@code MemoryFaultTest}).
 */
final class MemoryTable implements AutoCloseable {
    /** One region as the front-end described it, with our mapping of it. */
    record Region(long guestAddress, long size, long userAddress, long mmapOffset, Mapping mapping, boolean sealed) {}

    private final List<Region> regions;
    private final GuestMemory memory;

    private MemoryTable(List<Region> regions) throws VhostUserException {
        this.regions = regions;
        if (regions.isEmpty()) {
            this.memory = null;
            return;
        }
        List<GuestMemory.Region> g = new ArrayList<>();
        for (Region r : regions) {
            g.add(GuestMemory.Region.ofMapping(r.guestAddress, r.size, r.userAddress, r.mapping.segment(),
                    r.mmapOffset));
        }
        try {
            this.memory = GuestMemory.of(g);
        } catch (IllegalArgumentException e) {
            throw new VhostUserException.InvalidParam("memory table rejected: " + e.getMessage(), e);
        }
    }

    static MemoryTable empty() {
        try {
            return new MemoryTable(List.of());
        } catch (VhostUserException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * True if {@code fd} cannot shrink under our mapping: the peer sealed it with F_SEAL_SHRINK
     * (QEMU's memory-backend-memfd, its dirty log and inflight buffers do), or it was sealable
     * (no F_SEAL_SEAL) and we added F_SEAL_SHRINK ({@link ringlink.sys.MemFd#sealAgainstShrink}).
     * Otherwise (DPDK virtio-user's memory: a memfd created without MFD_ALLOW_SEALING) says, at
     * INFO, what a truncation would do.
     */
    static boolean sealedAgainstShrink(Fd fd, String what) {
        try {
            if (ringlink.sys.MemFd.sealAgainstShrink(fd)) return true;
        } catch (SysException e) {
            // treated as unsealed
        }
        System.getLogger("ringlink.vhostuser.backend")
                .log(System.Logger.Level.INFO, what + " is not sealed against shrinking"
                + " (F_SEAL_SHRINK) and cannot be: if the front-end truncates it, the next access faults and the "
                        + "connection ends"
                + " (MEMORY_FAULT)");
        return false;
    }

    /** True if no region's file can shrink under our mapping. */
    boolean sealed() {
        for (Region r : regions) if (!r.sealed) return false;
        return true;
    }

    /** The guest memory, or null if there is no region. */
    GuestMemory memory() { return memory; }

    List<Region> regions() { return regions; }

    int size() { return regions.size(); }

    /**
     * Maps one region from its file descriptor (which is closed afterwards: the mapping keeps the
     * memory alive).
     */
    static Region map(long gpa, long size, long uaddr, long mmapOffset, Fd fd) throws VhostUserException {
        try (fd) {
            String what = "region [0x" + Long.toHexString(gpa) + ", +0x" + Long.toHexString(size) + ")";
            if (size <= 0 || mmapOffset < 0 || size > Long.MAX_VALUE - mmapOffset) {
                throw new VhostUserException.InvalidParam("memory " + what + " has impossible size/offset (size "
                        + Long.toUnsignedString(size) + ", mmap offset " + Long.toUnsignedString(mmapOffset) + ")");
            }
            if (Long.compareUnsigned(gpa + size - 1, gpa) < 0) {
                throw new VhostUserException.InvalidParam("memory " + what + " wraps the guest address space");
            }
            if (Long.compareUnsigned(uaddr + size - 1, uaddr) < 0) {
                throw new VhostUserException.InvalidParam("memory " + what + " wraps the user address space");
            }
            // first: a sealed size cannot drop after we read it
            boolean sealed = sealedAgainstShrink(fd, "memory " + what);
            long fileSize;
            try {
                fileSize = fd.size();
            } catch (SysException e) {
                throw new VhostUserException.InvalidParam("memory " + what + ": cannot size its fd: " + e.getMessage(),
                        e);
            }
            if (mmapOffset + size > fileSize) {
                throw new VhostUserException.InvalidParam("memory " + what + " at mmap offset 0x"
                        + Long.toHexString(mmapOffset)
                        + " ends beyond its file of " + fileSize + " bytes");
            }
            try {
                Mapping m = Mapping.map(fd, mmapOffset + size, Mapping.PROT_READ | Mapping.PROT_WRITE,
                        Mapping.MAP_SHARED, 0,
                        "vhost-user " + what);
                return new Region(gpa, size, uaddr, mmapOffset, m, sealed);
            } catch (SysException e) {
                throw new VhostUserException.InvalidParam("memory " + what + ": " + e.getMessage(), e);
            }
        } catch (ClosedFdException e) {
            throw new VhostUserException.SocketBroken("region fd closed", e);
        }
    }

    /**
     * The region of {@code regions} that ADD_MEM_REG's description repeats exactly (guest address,
     * size, user address and mmap offset), or null. QEMU 7.2 runs one vhost device per queue pair
     * over one connection and each sends ADD_MEM_REG for every region it has not sent itself, so a
     * multi-queue guest adds each region once per queue pair. The repeat is accepted as a no-op
     * (the existing mapping stays); a description that overlaps without being identical still
     * fails in {@link #build}. The file is not compared: the back-end goes on using its mapping of
     * that range, which is all a front-end can make it touch.
     */
    static Region duplicateOf(List<Region> regions, long gpa, long size, long uaddr, long mmapOffset) {
        for (Region r : regions) {
            if (r.guestAddress == gpa && r.size == size && r.userAddress == uaddr && r.mmapOffset == mmapOffset)
                    return r;
        }
        return null;
    }

    /** A table of {@code regions}; nothing is unmapped if they are rejected. */
    static MemoryTable build(List<Region> regions) throws VhostUserException {
        return new MemoryTable(List.copyOf(regions));
    }

    /** A table of {@code regions} (unmapping them all if they are rejected). */
    static MemoryTable of(List<Region> regions) throws VhostUserException {
        try {
            return new MemoryTable(List.copyOf(regions));
        } catch (VhostUserException | RuntimeException e) {
            for (Region r : regions) r.mapping.close();
            throw e;
        }
    }

    /** Parses SET_MEM_TABLE (already validated for size and fd count) and maps every region. */
    static MemoryTable fromMessage(Message m) throws VhostUserException {
        Payload.MemoryRegion[] regions = Payload.memoryTable(m);
        List<Region> out = new ArrayList<>();
        try {
            for (int i = 0; i < regions.length; i++) {
                Payload.MemoryRegion r = regions[i];
                out.add(map(r.guestAddress(), r.size(), r.userAddress(), r.mmapOffset(), m.takeFd(i)));
            }
        } catch (VhostUserException | RuntimeException e) {
            for (Region r : out) r.mapping.close();
            throw e;
        }
        return of(out);
    }

    /** Unmaps every region. Callers stop the rings that use this memory first. */
    @Override
    public void close() {
        for (Region r : regions) r.mapping.close();
    }
}
