package ringlink.virtio;

/**
 * An address range that is not entirely inside one region of a {@link GuestMemory}: it falls
 * outside every region, crosses a region boundary, or its length is negative/overflows.
 */
public final class GuestMemoryException extends VirtioException {
    /** The address asked for. */
    private final long address;
    /** The length asked for. */
    private final long length;

    /** A bad range at {@code address} of {@code length} bytes; both are appended to {@code message}. */
    public GuestMemoryException(String message, long address, long length) {
        super(message + " (address 0x" + Long.toHexString(address) + ", length " + Long.toUnsignedString(length) + ")");
        this.address = address;
        this.length = length;
    }

    /** The guest-physical (or user) address asked for. */
    public long address() { return address; }

    /** The length asked for. */
    public long length() { return length; }
}
