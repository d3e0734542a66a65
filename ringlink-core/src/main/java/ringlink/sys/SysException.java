package ringlink.sys;

import java.io.IOException;

/**
 * A system call failed. Names the call, the errno symbol and the object it was made on, e.g.
 * {@code ioctl(TUNSETIFF) on /dev/net/tun [tap rl0]: EBUSY (Device or resource busy)}.
 */
public class SysException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;
    private final String object;

    public SysException(String call, int errno, String object) {
        super(format(call, errno, object));
        this.call = call;
        this.errno = errno;
        this.object = object;
    }

    private static String format(String call, int errno, String object) {
        StringBuilder sb = new StringBuilder(call);
        if (object != null && !object.isEmpty()) sb.append(" on ").append(object);
        sb.append(": ").append(Errno.name(errno)).append(" (").append(Errno.message(errno)).append(')');
        return sb.toString();
    }

    /** The call that failed, e.g. {@code "ioctl(TUNSETIFF)"}. */
    public String call() { return call; }

    /** The errno value. */
    public int errno() { return errno; }

    /** The errno symbol, e.g. {@code "EBUSY"}. */
    public String errnoName() { return Errno.name(errno); }

    /** What the call was made on (path, fd description, interface), or null. */
    public String object() { return object; }

    /** True if the errno is {@code code}. */
    public boolean is(int code) { return errno == code; }
}
