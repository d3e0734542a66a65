package ringlink.afpacket;

import ringlink.link.LinkException;

/** An AF_PACKET link could not be set up (the kernel refused an option, a ring, the bind). */
public final class PacketException extends LinkException {
    /**
     * A setup failure described by {@code message}, caused by {@code cause} (usually the failed system call's
     * exception).
     */
    public PacketException(String message, Throwable cause) {
        super(message, cause);
    }
}
