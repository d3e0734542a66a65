package ringlink.afpacket;

import ringlink.link.LinkException;

/** An AF_PACKET link could not be set up (the kernel refused an option, a ring, the bind). */
public final class PacketException extends LinkException {
    public PacketException(String message, Throwable cause) {
        super(message, cause);
    }
}
