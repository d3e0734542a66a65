package ringlink.sw;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Pins the calling thread to one CPU ({@code sched_setaffinity(0, ...)}), the way a DPDK
 * application pins its poll-mode threads: a busy-polling thread that the scheduler moves onto
 * the CPU of the peer it serves (a testpmd or guest vCPU spinning there too) halves both.
 *
 * <p>Kept inside the switch (not {@code ringlink.sys}) because only the polling threads use it;
 * it is called once per thread at start, never on the data path.
 */
final class Affinity {
    private Affinity() {}

    /** Bytes of the CPU mask handed to the kernel: 1024 CPUs, glibc's {@code cpu_set_t}. */
    static final int MASK_BYTES = 128;

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SET;

    static {
        Linker linker = Linker.nativeLinker();
        SET = linker.defaultLookup().find("sched_setaffinity")
                .map(s -> linker.downcallHandle(s, FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
                        Linker.Option.captureCallState("errno")))
                .orElse(null);
    }

    /**
     * Pins the calling thread to {@code cpu}.
     *
     * @throws IllegalArgumentException if {@code cpu} is negative or beyond the mask
     * @throws IllegalStateException if the kernel refuses (e.g. the CPU is offline or outside
     *     this process's cpuset), with its errno
     */
    static void pinCurrentThread(int cpu) {
        if (cpu < 0 || cpu >= MASK_BYTES * 8) throw new IllegalArgumentException("CPU " + cpu + " not in [0, " + (MASK_BYTES * 8) + ")");
        if (SET == null) throw new IllegalStateException("this C library has no sched_setaffinity");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment mask = a.allocate(MASK_BYTES, 8);
            mask.set(JAVA_BYTE, cpu / 8, (byte) (1 << (cpu % 8)));
            MemorySegment state = a.allocate(CAPTURE);
            int r = (int) SET.invokeExact(state, 0, (long) MASK_BYTES, mask);
            if (r != 0) {
                int errno = (int) ERRNO.get(state, 0L);
                throw new IllegalStateException("cannot pin to CPU " + cpu + ": sched_setaffinity failed, errno " + errno
                        + (errno == 22 ? " (EINVAL: no such CPU here, or outside this process's cpuset)" : ""));
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("sched_setaffinity: " + t, t);
        }
    }
}
