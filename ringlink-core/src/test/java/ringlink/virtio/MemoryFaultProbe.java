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
 * Child-JVM program of {@link MemoryFaultTest}: maps an unsealed memfd, warms up the access
 * kinds the rings use (plain get/set, acquire loads through a {@code VarHandle}, bulk copies) so
 * the JIT compiles them, truncates the file under the mapping and accesses it again. Prints
 * {@code ok <kind>} for every access that raised the InternalError {@link VirtqueueException#isMemoryFault}
 * recognises, {@code bad <kind> <what>} otherwise, then {@code alive}.
 */
public final class MemoryFaultProbe {
    static final VarHandle ACQ = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

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

    public static void main(String[] args) throws Exception {
        int warm = Integer.parseInt(args[0]);
        long size = 1 << 20;
        try (Fd fd = MemFd.create("rlmemfault", size, MemFd.MFD_ALLOW_SEALING);
             Mapping m = Mapping.map(fd, size, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0, "probe")) {
            MemorySegment s = m.segment();
            MemorySegment dst = Arena.ofAuto().allocate(size);
            long t = 0;
            for (int i = 0; i < warm; i++) {
                t += get(s, size) + acquire(s, size);
                set(s, size);
                if (i % 64 == 0) copy(s, dst);
            }
            fd.truncate(4096); // the peer's ftruncate: every page but the first is gone
            for (String kind : new String[] {"get", "acquire", "set", "copy"}) {
                try {
                    switch (kind) {
                        case "get" -> t += get(s, size);
                        case "acquire" -> t += acquire(s, size);
                        case "set" -> set(s, size);
                        default -> copy(s, dst);
                    }
                    System.out.println("bad " + kind + " no fault");
                } catch (Throwable e) {
                    System.out.println((VirtqueueException.isMemoryFault(e) ? "ok " : "bad ") + kind + " " + e);
                }
            }
            System.out.println("alive " + (t == 42 ? "" : "."));
        }
    }
}
