package ringlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Network interface names and indexes. */
public final class Net {
    private Net() {}

    /** IFNAMSIZ: names are at most 15 bytes plus NUL. */
    public static final int IFNAMSIZ = 16;

    /**
     * if_nametoindex(3).
     *
     * @throws SysException with ENODEV naming the interface if it does not exist
     */
    public static int ifNameToIndex(String name) throws SysException {
        checkName(name);
        try (Arena a = Arena.ofConfined()) {
            int r = (int) LibC.IF_NAMETOINDEX.invokeExact(LibC.state(), a.allocateFrom(name));
            if (r == 0) {
                int e = LibC.errno();
                throw new SysException("if_nametoindex", e == 0 ? Errno.ENODEV : e, "interface " + name);
            }
            return r;
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }

    /** if_indextoname(3). */
    public static String ifIndexToName(int index) throws SysException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(IFNAMSIZ);
            MemorySegment r = (MemorySegment) LibC.IF_INDEXTONAME.invokeExact(LibC.state(), index, buf);
            if (r.address() == 0) throw new SysException("if_indextoname", LibC.errno(), "ifindex " + index);
            return buf.getString(0);
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }

    /** Rejects names the kernel would reject (empty, too long, '/', whitespace). */
    public static void checkName(String name) {
        if (name == null || name.isEmpty() || name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= IFNAMSIZ
                || name.indexOf('/') >= 0 || name.chars().anyMatch(Character::isWhitespace) || name.equals(".")
                        || name.equals("..")) {
            throw new IllegalArgumentException("invalid interface name '" + name + "' (1-15 bytes, no '/' or spaces)");
        }
    }
}
