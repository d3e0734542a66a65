package ringlink.sys;

/** The _IO/_IOR/_IOW/_IOWR request-number encoding of asm-generic/ioctl.h. */
public final class Ioctl {
    private Ioctl() {}

    private static final int NRBITS = 8, TYPEBITS = 8, SIZEBITS = 14;
    private static final int NRSHIFT = 0, TYPESHIFT = NRSHIFT + NRBITS, SIZESHIFT = TYPESHIFT + TYPEBITS,
            DIRSHIFT = SIZESHIFT + SIZEBITS;
    private static final int NONE = 0, WRITE = 1, READ = 2;

    private static long ioc(int dir, int type, int nr, long size) {
        return ((long) dir << DIRSHIFT) | ((long) type << TYPESHIFT) | ((long) nr << NRSHIFT) | (size << SIZESHIFT);
    }

    public static long io(int type, int nr) { return ioc(NONE, type, nr, 0); }
    public static long ior(int type, int nr, long size) { return ioc(READ, type, nr, size); }
    public static long iow(int type, int nr, long size) { return ioc(WRITE, type, nr, size); }
    public static long iowr(int type, int nr, long size) { return ioc(READ | WRITE, type, nr, size); }
}
