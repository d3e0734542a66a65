package ringlink.xdp;

/**
 * Opens an XDP link with {@code args[1]} frames of 2048 bytes on {@code args[0]} and prints "OK"
 * or "ERR message": run by {@link XdpMemlockTest} in a child JVM without CAP_IPC_LOCK.
 */
public final class MemlockProbeMain {
    public static void main(String[] args) {
        try {
            XdpConfig c = XdpConfig.of(args[0]).withFrames(Integer.parseInt(args[1]), 2048);
            if (args.length > 2) {
                // skip our own pre-check to see what the kernel itself answers
                Umem u = Umem.create(c.frames(), c.frameSize(), 0, false);
                try (ringlink.sys.Fd fd = ringlink.sys.Sockets.socket(ringlink.sys.Sockets.AF_XDP,
                        ringlink.sys.Sockets.SOCK_RAW, 0, "probe")) {
                    u.register(fd);
                } finally {
                    u.close();
                }
                System.out.println("OK");
                return;
            }
            try (XdpLink l = XdpLink.open(c)) {
                System.out.println("OK " + l);
            }
        } catch (Exception e) {
            System.out.println("ERR " + e.getMessage());
        }
    }
}
