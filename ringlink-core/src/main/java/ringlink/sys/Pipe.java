package ringlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** pipe2(2). */
public final class Pipe {
    private Pipe() {}

    /** Returns {read end, write end}; O_CLOEXEC is always added to {@code flags}. */
    public static Fd[] create(int flags) throws SysException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(ValueLayout.JAVA_INT, 2);
            int r = (int) LibC.PIPE2.invokeExact(LibC.state(), fds, flags | Fd.O_CLOEXEC);
            if (r < 0) throw new SysException("pipe2", LibC.errno(), null);
            return new Fd[] {
                Fd.adopt(fds.getAtIndex(ValueLayout.JAVA_INT, 0), "pipe (read end)"),
                Fd.adopt(fds.getAtIndex(ValueLayout.JAVA_INT, 1), "pipe (write end)")
            };
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }
}
