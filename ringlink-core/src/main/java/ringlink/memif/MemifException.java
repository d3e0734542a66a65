package ringlink.memif;

import ringlink.link.LinkFailedException;

/**
 * The memif peer broke the protocol (a bad message, region, ring or descriptor) or refused us
 * (DISCONNECT with a reason). Only that connection is dropped; a server link waits for the next
 * client and a client link reconnects.
 */
public class MemifException extends LinkFailedException {
    /** A protocol violation or refusal described by {@code message}. */
    public MemifException(String message) { super(message); }

    /** A protocol violation or refusal described by {@code message}, caused by {@code cause}. */
    public MemifException(String message, Throwable cause) { super(message, cause); }
}
