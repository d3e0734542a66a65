package ringlink.virtio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.MemFd;

/**
 * Child-JVM program of {@link MemoryFaultTest}: maps an unsealed memfd, warms up every kind of
 * access Ringlink makes to memory a peer may shrink (plain loads and stores of 8 to 64 bits,
 * acquire loads, the rings' 16-bit release and notification stores, bulk copies and fills, the
 * dirty log's atomic OR, the shm transport's 32/64-bit release and volatile stores) so the JIT
 * compiles them, truncates the file under the mapping and accesses it again. Prints
 * {@code ok <kind>} for every access that raised the InternalError
 * {@link VirtqueueException#isMemoryFault} recognises, {@code bad <kind> <what>} otherwise, then
 * {@code alive}. The {@code deliver} kind checks that {@link Mapping#deliverFaults} raises the
 * (asynchronous) error inside the try block of the code that faulted.
 */
public final class MemoryFaultProbe {
    static final VarHandle ACQ = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    static final VarHandle I32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    /** Every kind {@link #main} tries after the truncation. */
    public static final String[] KINDS = {
        "get", "acquire", "set", "copy", "get16", "acquire16", "release16", "opaque16", "opaque16v", "set8", "set16",
                "set32",
        "set64", "fill", "or64", "release64", "volatile32", "deliver",
    };

    static long get(MemorySegment s, long n) {
        long t = 0;
        for (long i = 0; i < n; i += 4096) t += s.get(ValueLayout.JAVA_LONG, i);
        return t;
    }

    static long acquire(MemorySegment s, long n) {
        long t = 0;
        for (long i = 0; i < n; i += 4096) t += (long) ACQ.getAcquire(s, i);
        return t;
    }

    static void set(MemorySegment s, long n) {
        for (long i = 0; i < n; i += 4096) s.set(ValueLayout.JAVA_LONG, i, i);
    }

    static void copy(MemorySegment s, MemorySegment dst) {
        MemorySegment.copy(s, 0, dst, 0, dst.byteSize());
    }

    // The ring accessors (VirtqLayout), as the split/packed queues call them.
    static long get16(MemorySegment s, long n) {
        long t = 0;
        for (long i = 2; i < n; i += 4096) t += VirtqLayout.get16(s, i) + VirtqLayout.getOpaque16(s, i);
        return t;
    }

    static long acquire16(MemorySegment s, long n) {
        long t = 0;
        for (long i = 2; i < n; i += 4096) t += VirtqLayout.getAcquire16(s, i);
        return t;
    }

    /** used.idx / packed descriptor flags: a variable value. */
    static void release16(MemorySegment s, long n, int v) {
        for (long i = 2; i < n; i += 4096) VirtqLayout.setRelease16(s, i, v + (int) i);
    }

    /** used.flags = NO_NOTIFY, event flags: a constant the JIT folds into the instruction. */
    static void opaque16(MemorySegment s, long n) {
        for (long i = 0; i < n; i += 4096) VirtqLayout.setOpaque16(s, i, VirtqLayout.VIRTQ_USED_F_NO_NOTIFY);
    }

    /** avail_event / off_wrap: a variable value. */
    static void opaque16v(MemorySegment s, long n, int v) {
        for (long i = 4; i < n; i += 4096) VirtqLayout.setOpaque16(s, i, v);
    }

    /** Inflight's inflight flag. */
    static void set8(MemorySegment s, long n, int v) {
        for (long i = 1; i < n; i += 4096) s.set(ValueLayout.JAVA_BYTE, i, (byte) v);
    }

    /** Inflight's u16 fields, packed descriptor id. */
    static void set16(MemorySegment s, long n, int v) {
        for (long i = 6; i < n; i += 4096) VirtqLayout.set16(s, i, v);
    }

    /** Used elements (id, len). */
    static void set32(MemorySegment s, long n, int v) {
        for (long i = 8; i < n; i += 4096) VirtqLayout.set32(s, i, v);
    }

    /** Inflight counters, descriptor addresses. */
    static void set64(MemorySegment s, long n, long v) {
        for (long i = 16; i < n; i += 4096) VirtqLayout.set64(s, i, v);
    }

    static void fill(MemorySegment s) {
        s.fill((byte) 0);
    }

    /** DirtyLog.mark. */
    static void or64(MemorySegment s, long n, long v) {
        for (long i = 24; i < n; i += 4096) ACQ.getAndBitwiseOr(s, i, v);
    }

    /** The shm transport's slot headers. */
    static void release64(MemorySegment s, long n, long v) {
        for (long i = 32; i < n; i += 4096) ACQ.setRelease(s, i, v);
    }

    /** The shm transport's eventfd state word. */
    static void volatile32(MemorySegment s, long n, int v) {
        for (long i = 40; i < n; i += 4096) I32.setVolatile(s, i, v);
    }

    /** A data path's shape: store, then deliver any fault before the try block ends. */
    static boolean deliver(MemorySegment s, long off, int v) {
        try {
            VirtqLayout.setRelease16(s, off, v);
            Mapping.deliverFaults();
            return false;
        } catch (InternalError e) {
            return VirtqueueException.isMemoryFault(e);
        }
    }

    static long one(String kind, MemorySegment s, long size, MemorySegment dst, int i) {
        switch (kind) {
            case "get" -> { return get(s, size); }
            case "acquire" -> { return acquire(s, size); }
            case "set" -> set(s, size);
            case "copy" -> copy(s, dst);
            case "get16" -> { return get16(s, size); }
            case "acquire16" -> { return acquire16(s, size); }
            case "release16" -> release16(s, size, i);
            case "opaque16" -> opaque16(s, size);
            case "opaque16v" -> opaque16v(s, size, i);
            case "set8" -> set8(s, size, i);
            case "set16" -> set16(s, size, i);
            case "set32" -> set32(s, size, i);
            case "set64" -> set64(s, size, i);
            case "fill" -> fill(s.asSlice(0, dst.byteSize()));
            case "or64" -> or64(s, size, 1L << (i & 63));
            case "release64" -> release64(s, size, i);
            case "volatile32" -> volatile32(s, size, i);
            case "deliver" -> { return deliver(s, 4096 * (1 + (i & 7)) + 2, i) ? 1 : 0; }
            default -> throw new IllegalArgumentException(kind);
        }
        return 0;
    }

    public static void main(String[] args) throws Exception {
        int warm = Integer.parseInt(args[0]);
        String[] kinds = args.length > 1 ? args[1].split(",") : KINDS;
        long size = 1 << 20;
        try (Fd fd = MemFd.create("rlmemfault", size, MemFd.MFD_ALLOW_SEALING);
             Mapping m =
                     Mapping.map(fd, size, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0, "probe")) {
            MemorySegment s = m.segment();
            MemorySegment dst = Arena.ofAuto().allocate(size);
            long t = 0;
            for (int i = 0; i < warm; i++) {
                for (String kind : kinds) {
                    if ((kind.equals("copy") || kind.equals("fill")) && i % 64 != 0) continue;
                    t += one(kind, s, size, dst, i);
                }
            }
            fd.truncate(4096); // the peer's ftruncate: every page but the first is gone
            for (String kind : kinds) {
                System.out.println("try " + kind); // the last line before a crash names the culprit
                System.out.flush();
                try {
                    long r = one(kind, s, size, dst, 7);
                    if (kind.equals("deliver")) {
                        System.out.println(r == 1 ? "ok deliver java.lang.InternalError (inside the try block)"
                                : "bad deliver no fault");
                    } else {
                        System.out.println("bad " + kind + " no fault");
                    }
                    t += r;
                } catch (Throwable e) {
                    System.out.println((VirtqueueException.isMemoryFault(e) && !kind.equals("deliver") ? "ok " : "bad ")
                            + kind + " " + e);
                }
            }
            System.out.println("alive " + (t == 42 ? "" : "."));
        }
    }
}
