package ringlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * sched_setaffinity(2) for the calling thread: pins a busy-polling thread to one CPU, the way a
 * DPDK application pins its poll-mode threads (a poller that the scheduler moves onto the CPU of
 * the peer it serves, a testpmd lcore or a guest vCPU spinning there too, halves both).
 * Called once when a thread starts, never on the data path.
 */
public final class CpuAffinity {
    private CpuAffinity() {}

    /** CPUs the mask can name: 1024, glibc's {@code cpu_set_t} ({@value #MASK_BYTES} bytes). */
    public static final int MAX_CPUS = 1024;
    static final int MASK_BYTES = MAX_CPUS / 8;

    /**
     * Checks that {@code cpu} is a number the mask can name (for validating configuration before
     * any thread starts); whether the CPU exists here only the kernel says, at pinning.
     *
     * @throws IllegalArgumentException if {@code cpu} is negative or not below {@link #MAX_CPUS}
     */
    public static int checkCpu(int cpu) {
        if (cpu < 0 || cpu >= MAX_CPUS)
                throw new IllegalArgumentException("CPU " + cpu + " not in [0, " + MAX_CPUS + ")");
        return cpu;
    }

    /**
     * Pins the calling thread to {@code cpu}.
     *
     * @throws IllegalArgumentException if {@code cpu} is negative or not below {@link #MAX_CPUS}
     * @throws SysException if the kernel refuses (EINVAL: the CPU is offline, absent, or outside
     *     this process's cpuset)
     */
    public static void pinCurrentThread(int cpu) throws SysException {
        checkCpu(cpu);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment mask = a.allocate(MASK_BYTES, 8);
            mask.set(ValueLayout.JAVA_BYTE, cpu / 8, (byte) (1 << (cpu % 8)));
            if ((int) LibC.SCHED_SETAFFINITY.invokeExact(LibC.state(), 0, (long) MASK_BYTES, mask) < 0) {
                int errno = LibC.errno();
                throw new SysException("sched_setaffinity(CPU " + cpu + ")"
                        + (errno == 22 ? ": no such CPU here, or outside this process's cpuset" : ""), errno, null);
            }
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }
}
