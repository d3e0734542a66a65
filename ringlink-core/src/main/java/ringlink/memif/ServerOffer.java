package ringlink.memif;

import static ringlink.memif.MemifMsgLayout.*;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.MemFd;

/**
 * Server side of the handshake: what the client declared so far (regions, mapped after their
 * size and seals were checked; rings, each checked against its region and the ring-size limit)
 * until CONNECT turns the complete pairs into a {@link Session}. {@link #close()} releases it
 * all if the handshake ends otherwise. Control thread only.
 */
final class ServerOffer implements AutoCloseable {
    private static final long b = OFF_BODY;
    private final MemifMessages io;
    private final MemifConfig config;
    private final int pairs;
    private final List<Mapping> maps = new ArrayList<>();
    private final List<Long> sizes = new ArrayList<>();
    private final int[] s2mRegion, m2sRegion;
    private final long[] s2mOffset, m2sOffset;
    private final EventFd[] s2mInt, m2sInt;
    private int log2 = -1;

    ServerOffer(MemifMessages io, MemifConfig config) {
        this.io = io;
        this.config = config;
        this.pairs = config.queuePairs();
        s2mRegion = new int[pairs];
        m2sRegion = new int[pairs];
        s2mOffset = new long[pairs];
        m2sOffset = new long[pairs];
        s2mInt = new EventFd[pairs];
        m2sInt = new EventFd[pairs];
    }

    /** ADD_REGION: index in order, size in bounds, a sealed memfd of at least that size; mapped. */
    void addRegion() throws IOException {
        Fd fd = io.rxFd;
        io.rxFd = null;
        try {
            if (fd == null) throw io.refuse("Missing region fd", "ADD_REGION without a file descriptor");
            int index = io.msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRegionLayout.OFF_INDEX) & 0xffff;
            long size = io.msg.get(ValueLayout.JAVA_LONG_UNALIGNED, b + MemifMsgAddRegionLayout.OFF_SIZE);
            if (index != maps.size() || index >= MemifInterface.MAX_REGIONS) {
                throw io.refuse("Invalid region index", "ADD_REGION index " + index + ", expected " + maps.size()
                        + " (at most " + MemifInterface.MAX_REGIONS + " regions)");
            }
            if (size <= 0 || size > MemifInterface.MAX_REGION_SIZE) throw io.refuse("Invalid region size",
                    "region " + index + " of " + Long.toUnsignedString(size) + " bytes");
            String bad = MemFd.checkPeer(fd, size, config.allowUnsealed());
            if (bad != null) throw io.refuse("Invalid region", "region " + index + ": " + bad);
            maps.add(Mapping.map(fd, size, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0,
                    "memif region " + index));
            sizes.add(size);
        } finally {
            if (fd != null) fd.close(); // the mapping keeps the memory
        }
    }

    /** ADD_RING: an eventfd, a known index added once, in an added region, the same size as the others. */
    void addRing() throws IOException {
        Fd fd = io.rxFd;
        io.rxFd = null;
        EventFd ev = null;
        try {
            if (fd == null) throw io.refuse("Missing interrupt fd", "ADD_RING without an eventfd");
            String bad = EventFd.checkPeer(fd);
            if (bad != null) throw io.refuse("Invalid interrupt fd", "ring interrupt: " + bad);
            ev = EventFd.adoptPeer(fd); // the peer holds it too: calls that cannot block
            fd = null; // ev owns it now
            int flags = io.msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_FLAGS) & 0xffff;
            int index = io.msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_INDEX) & 0xffff;
            int region = io.msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_REGION) & 0xffff;
            long offset =
                    io.msg.get(ValueLayout.JAVA_INT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_OFFSET) & 0xffffffffL;
            int l2 = io.msg.get(ValueLayout.JAVA_BYTE, b + MemifMsgAddRingLayout.OFF_LOG2_RING_SIZE) & 0xff;
            int priv = io.msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_PRIVATE_HDR_SIZE)
                    & 0xffff;
            boolean s2m = (flags & MemifMsgAddRingLayout.MEMIF_MSG_ADD_RING_FLAG_S2M) != 0;
            String what = (s2m ? "S2M" : "M2S") + " ring " + index;
            if (index >= pairs) throw io.refuse("Invalid ring index", what + ": we have " + pairs + " queue pairs");
            if ((s2m ? s2mInt : m2sInt)[index] != null) throw io.refuse("Invalid ring index", what + " added twice");
            if (region >= maps.size())
                    throw io.refuse("Invalid ring region", what + " in region " + region + ", which was not added");
            if (l2 < 1 || l2 > config.log2RingSize() || (log2 >= 0 && l2 != log2)) {
                throw io.refuse("Invalid ring size",
                        what + ": log2 size " + l2 + " (ours at most " + config.log2RingSize() + ", all rings alike)");
            }
            if (priv != 0)
                    throw io.refuse("Invalid ring", what + ": private header size " + priv + " (only 0 is supported)");
            if ((offset & 3) != 0 || offset + MemifRingLayout.ringBytes(l2) > sizes.get(region)) {
                throw io.refuse("Invalid ring offset", what + " at offset " + offset + " does not fit region " + region
                        + " of " + sizes.get(region) + " bytes");
            }
            log2 = l2;
            if (s2m) {
                s2mRegion[index] = region;
                s2mOffset[index] = offset;
                s2mInt[index] = ev;
            } else {
                m2sRegion[index] = region;
                m2sOffset[index] = offset;
                m2sInt[index] = ev;
            }
            ev = null;
        } finally {
            if (ev != null) ev.close();
            if (fd != null) fd.close();
        }
    }

    /** CONNECT: the rings complete pairs 0..n-1 with memif's cookie; the session over them. */
    Session connect() throws IOException {
        io.closeRxFd();
        int n = 0;
        while (n < pairs && s2mInt[n] != null && m2sInt[n] != null) n++;
        for (int q = n; q < pairs; q++) {
            if (s2mInt[q] != null || m2sInt[q] != null)
                    throw io.refuse("Invalid rings", "rings are not paired 0.." + (n - 1));
        }
        if (n == 0) throw io.refuse("No rings", "CONNECT before a ring pair was added");
        Session s = new Session(true, maps.toArray(new Mapping[0]), sizes.stream().mapToLong(Long::longValue).toArray(),
                n, log2,
                trim(s2mRegion, n), trim(s2mOffset, n), trim(s2mInt, n), trim(m2sRegion, n), trim(m2sOffset, n),
                        trim(m2sInt, n), 0, 0);
        for (int q = 0; q < n; q++) {
            checkCookie(s, s.s2mRegion[q], s.s2mOffset[q], "S2M ring " + q);
            checkCookie(s, s.m2sRegion[q], s.m2sOffset[q], "M2S ring " + q);
            // We poll our receive rings until a link goes to sleep.
            s.regions[s.s2mRegion[q]].set(ValueLayout.JAVA_SHORT, s.s2mOffset[q] + MemifRingLayout.OFF_FLAGS,
                    (short) MemifRingLayout.MEMIF_RING_FLAG_MASK_INT);
        }
        return s;
    }

    private void checkCookie(Session s, int region, long offset, String what) throws MemifException {
        int cookie = s.regions[region].get(ValueLayout.JAVA_INT, offset + MemifRingLayout.OFF_COOKIE);
        if (cookie != MEMIF_COOKIE)
                throw io.refuse("Wrong ring", what + ": cookie 0x" + Integer.toHexString(cookie) + " is not memif's");
    }

    private static int[] trim(int[] a, int n) { return java.util.Arrays.copyOf(a, n); }
    private static long[] trim(long[] a, int n) { return java.util.Arrays.copyOf(a, n); }
    private static EventFd[] trim(EventFd[] a, int n) { return java.util.Arrays.copyOf(a, n); }

    /** Releases what was declared (the handshake failed before CONNECT). */
    @Override
    public void close() {
        for (Mapping m : maps) m.close();
        for (EventFd e : s2mInt) if (e != null) e.close();
        for (EventFd e : m2sInt) if (e != null) e.close();
    }
}
