package ringlink.shm;

import static ringlink.sys.Endian.LE32;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import ringlink.link.LinkFailedException;
import ringlink.sys.Fd;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.sys.UnixSocket;

/**
 * How the side that created a queue pair hands it to the other over a Unix stream socket: one
 * message of {@link #MESSAGE_SIZE} bytes carrying ten descriptors (SCM_RIGHTS), the TX queue's
 * five then the RX queue's five, each in {@link QueueConfig#fds()} order (gVisor's
 * {@code QueueConfig.FDs()} order).
 *
 * <pre>
 *  0  u8[4] magic "RLSH"
 *  4  u32   version (1)
 *  8  u32   MTU the creator uses
 * 12  u32   reserved (0)
 * </pre>
 * All little-endian. The connection then stays open; either side may send one byte
 * {@link #DONE} ('D') when it has finished with the queues, and its hang-up tells the other side
 * that it is gone.
 */
public final class ShmHandshake {
    private ShmHandshake() {}

    /** Size of the handshake message in bytes. */
    public static final int MESSAGE_SIZE = 16;
    /** The magic at offset 0: the bytes "RLSH" read as a little-endian u32. */
    public static final int MAGIC = 0x48534c52; // "RLSH" little-endian
    /** The protocol version this side speaks. */
    public static final int VERSION = 1;
    /** The byte a side sends when it is done with the queues. */
    public static final byte DONE = 'D';

    /**
     * What the attaching side received.
     *
     * @param tx the TX queue's descriptors
     * @param rx the RX queue's descriptors
     * @param mtu the MTU the creator uses
     */
    public record Offer(QueueConfig tx, QueueConfig rx, int mtu) {}

    /** Sends the two queues over {@code conn} (the descriptors stay ours; the peer gets copies). */
    public static void offer(UnixSocket conn, QueueConfig tx, QueueConfig rx, int mtu) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(MESSAGE_SIZE);
            m.set(LE32, 0, MAGIC);
            m.set(LE32, 4, VERSION);
            m.set(LE32, 8, mtu);
            m.set(LE32, 12, 0);
            Fd[] fds = new Fd[2 * QueueConfig.FD_COUNT];
            System.arraycopy(tx.fds(), 0, fds, 0, QueueConfig.FD_COUNT);
            System.arraycopy(rx.fds(), 0, fds, QueueConfig.FD_COUNT, QueueConfig.FD_COUNT);
            conn.send(m, MESSAGE_SIZE, fds);
        }
    }

    /** Receives the two queues, waiting at most {@code timeoutMillis}. */
    public static Offer receive(UnixSocket conn, int timeoutMillis) throws IOException {
        if (PollSet.pollOne(conn.fd(), PollfdLayout.POLLIN, timeoutMillis) == 0) {
            throw new LinkFailedException(conn.what() + ": no queue offer from the peer within " + timeoutMillis
                    + " ms");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(MESSAGE_SIZE);
            UnixSocket.Received r = conn.receive(m, MESSAGE_SIZE, 2 * QueueConfig.FD_COUNT);
            Fd[] fds = r.fds();
            boolean ok = false;
            try {
                if (r.bytes() != MESSAGE_SIZE || m.get(LE32, 0) != MAGIC) {
                    throw new LinkFailedException(conn.what()
                            + ": the peer's queue offer is not a Ringlink sharedmem offer ("
                            + r.bytes() + " bytes)");
                }
                if (m.get(LE32, 4) != VERSION) throw new LinkFailedException(conn.what() + ": offer version "
                        + m.get(LE32, 4) + ", we speak " + VERSION);
                if (fds.length != 2 * QueueConfig.FD_COUNT) {
                    throw new LinkFailedException(conn.what() + ": the queue offer carried " + fds.length
                            + " descriptors, expected 10");
                }
                Offer o = new Offer(QueueConfig.fromFds(fds, 0), QueueConfig.fromFds(fds, QueueConfig.FD_COUNT),
                        m.get(LE32, 8));
                ok = true;
                return o;
            } finally {
                if (!ok) for (Fd f : fds) f.close();
            }
        }
    }
}
