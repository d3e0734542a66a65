package ringlink.sys;

/**
 * Linux errno values (x86-64/generic numbering) and their symbolic names.
 *
 * <p>Only the values Ringlink reasons about have constants; {@link #name(int)} knows every
 * common one so error messages say {@code EBUSY} rather than {@code 16}.
 */
public final class Errno {
    private Errno() {}

    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
            EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17,
            ENODEV = 19, ENOTDIR = 20, EINVAL = 22, ENFILE = 23, EMFILE = 24, ENOTTY = 25, ENOSPC = 28,
            EPIPE = 32, ERANGE = 34, ENAMETOOLONG = 36, ENOSYS = 38, ELOOP = 40, ENODATA = 61,
            EPROTO = 71, EOVERFLOW = 75, ENOTSOCK = 88, EMSGSIZE = 90, ENOPROTOOPT = 92,
            EPROTONOSUPPORT = 93, EOPNOTSUPP = 95, EAFNOSUPPORT = 97, EADDRINUSE = 98,
            EADDRNOTAVAIL = 99, ENETDOWN = 100, ECONNABORTED = 103, ECONNRESET = 104, ENOBUFS = 105,
            EISCONN = 106, ENOTCONN = 107, ETIMEDOUT = 110, ECONNREFUSED = 111, EALREADY = 114,
            EINPROGRESS = 115, ECANCELED = 125, ENOTSUPP = 524;

    /** EWOULDBLOCK is EAGAIN on Linux. */
    public static final int EWOULDBLOCK = EAGAIN;

    private static final String[] NAMES = new String[134];

    static {
        String table = """
                1 EPERM 2 ENOENT 3 ESRCH 4 EINTR 5 EIO 6 ENXIO 7 E2BIG 8 ENOEXEC 9 EBADF 10 ECHILD
                11 EAGAIN 12 ENOMEM 13 EACCES 14 EFAULT 15 ENOTBLK 16 EBUSY 17 EEXIST 18 EXDEV 19 ENODEV
                20 ENOTDIR 21 EISDIR 22 EINVAL 23 ENFILE 24 EMFILE 25 ENOTTY 26 ETXTBSY 27 EFBIG 28 ENOSPC
                29 ESPIPE 30 EROFS 31 EMLINK 32 EPIPE 33 EDOM 34 ERANGE 35 EDEADLK 36 ENAMETOOLONG 37 ENOLCK
                38 ENOSYS 39 ENOTEMPTY 40 ELOOP 42 ENOMSG 43 EIDRM 61 ENODATA 62 ETIME 71 EPROTO 74 EBADMSG
                75 EOVERFLOW 84 EILSEQ 88 ENOTSOCK 89 EDESTADDRREQ 90 EMSGSIZE 91 EPROTOTYPE 92 ENOPROTOOPT
                93 EPROTONOSUPPORT 94 ESOCKTNOSUPPORT 95 EOPNOTSUPP 96 EPFNOSUPPORT 97 EAFNOSUPPORT
                98 EADDRINUSE 99 EADDRNOTAVAIL 100 ENETDOWN 101 ENETUNREACH 102 ENETRESET 103 ECONNABORTED
                104 ECONNRESET 105 ENOBUFS 106 EISCONN 107 ENOTCONN 108 ESHUTDOWN 109 ETOOMANYREFS
                110 ETIMEDOUT 111 ECONNREFUSED 112 EHOSTDOWN 113 EHOSTUNREACH 114 EALREADY 115 EINPROGRESS
                116 ESTALE 122 EDQUOT 125 ECANCELED 130 EOWNERDEAD 133 EHWPOISON""";
        String[] t = table.trim().split("\\s+");
        for (int i = 0; i < t.length; i += 2) {
            NAMES[Integer.parseInt(t[i])] = t[i + 1];
        }
    }

    /** The symbolic name of {@code errno} ({@code "EBUSY"}), or {@code "errno 200"} if unknown. */
    public static String name(int errno) {
        if (errno == ENOTSUPP) return "ENOTSUPP";
        if (errno > 0 && errno < NAMES.length && NAMES[errno] != null) return NAMES[errno];
        return "errno " + errno;
    }

    /** The C library's description of {@code errno} ("Device or resource busy"). */
    public static String message(int errno) {
        if (errno == ENOTSUPP) return "Operation not supported (kernel-internal ENOTSUPP)";
        return LibC.strerror(errno);
    }
}
