package ringlink.sys;

/** Process-level facts. */
public final class Processes {
    private Processes() {}

    /** getpid(2). */
    public static int pid() { return LibC.getpid(); }

    /** Removes a file by path (unlink(2)); false if it did not exist. */
    public static boolean unlink(String path) throws SysException {
        try (var a = java.lang.foreign.Arena.ofConfined()) {
            int r = (int) LibC.UNLINK.invokeExact(LibC.state(), a.allocateFrom(path));
            if (r == 0) return true;
            int e = LibC.errno();
            if (e == Errno.ENOENT) return false;
            throw new SysException("unlink", e, path);
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }
}
