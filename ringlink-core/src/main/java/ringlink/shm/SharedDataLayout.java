package ringlink.shm;

import java.lang.invoke.VarHandle;
import ringlink.sys.Endian;

/**
 * The shared-data page of a queue (gVisor {@code queue/rx.go}, {@code sharedmem_unsafe.go}): a
 * u32 at offset 0 that the queue's consumer sets to say whether the producer must signal the
 * queue's eventfd. Anything but {@link #EVENTFD_DISABLED} means "signal" (the consumer may be
 * asleep), so an uninitialised page errs on the side of waking.
 */
public final class SharedDataLayout {
    private SharedDataLayout() {}

    /** Offset of the u32 eventfd state in the page. */
    public static final int EVENTFD_STATE = 0;
    /** Eventfd state: never set (treated as enabled: the producer signals). */
    public static final int EVENTFD_UNINITIALIZED = 0;
    /** Eventfd state: the consumer is awake and will look at the queue, the producer need not signal. */
    public static final int EVENTFD_DISABLED = 1;
    /** Eventfd state: the consumer may sleep, the producer must signal. */
    public static final int EVENTFD_ENABLED = 2;
    /** Default size of the page (gVisor's DefaultSharedDataSize). */
    public static final int DEFAULT_SIZE = 4096;

    static final VarHandle STATE = Endian.ALIGNED_LE32.varHandle();
}
