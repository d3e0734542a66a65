package ringlink.virtio;

/**
 * Base of the typed errors the virtio layer raises for input from the other side of a ring
 * (a guest, a frontend, a device, the kernel). Unchecked so ring calls compose in hot loops; a
 * transport catches it at its queue boundary, stops that queue and keeps everything else running.
 */
public class VirtioException extends RuntimeException {
    /** An error described by {@code message}. */
    public VirtioException(String message) { super(message); }
    /** An error described by {@code message}, caused by {@code cause}. */
    public VirtioException(String message, Throwable cause) { super(message, cause); }
}
