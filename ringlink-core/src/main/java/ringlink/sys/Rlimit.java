package ringlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** getrlimit(2)/setrlimit(2). {@code struct rlimit { rlim_t rlim_cur, rlim_max; }}. */
public final class Rlimit {
    private Rlimit() {}

    public static final int RLIMIT_NOFILE = 7, RLIMIT_MEMLOCK = 8;
    /** RLIM_INFINITY (all bits set). */
    public static final long INFINITY = -1L;

    /** {cur, max}; {@link #INFINITY} means unlimited. */
    public record Limit(long cur, long max) {
        public boolean unlimited() { return cur == INFINITY; }
    }

    public static Limit get(int resource) throws SysException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(16, 8);
            if ((int) LibC.GETRLIMIT.invokeExact(LibC.state(), resource, r) < 0) {
                throw new SysException("getrlimit(" + resource + ")", LibC.errno(), null);
            }
            return new Limit(r.get(ValueLayout.JAVA_LONG, 0), r.get(ValueLayout.JAVA_LONG, 8));
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }

    public static void set(int resource, Limit limit) throws SysException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(16, 8);
            r.set(ValueLayout.JAVA_LONG, 0, limit.cur());
            r.set(ValueLayout.JAVA_LONG, 8, limit.max());
            if ((int) LibC.SETRLIMIT.invokeExact(LibC.state(), resource, r) < 0) {
                throw new SysException("setrlimit(" + resource + ", " + limit + ")", LibC.errno(), null);
            }
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }
}
