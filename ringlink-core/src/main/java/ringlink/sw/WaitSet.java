package ringlink.sw;

import java.io.IOException;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;

/**
 * What a {@link Poller} sleeps on: one epoll set over its receive queues' ready descriptors and
 * its stop/wake-up eventfd. The numbers in the set are always our own dups
 * ({@link RxQueue#registered}): a link may close its readyFd before its port goes down here, and
 * when a peer still holds that file (a vhost-user call eventfd, a shm queue eventfd) an entry of
 * a closed number stays armed and can no longer be removed (docs/ARCHITECTURE.md, "Peer
 * descriptors and waits on peers"; {@code PollerFdTest}). So a dup is removed from the set, then
 * closed. Not on the per-packet path: changed when ports come, go down or come back.
 */
final class WaitSet {
    private static final long STOP_TAG = -1;

    private final Epoll epoll;
    private final EventFd stop;

    /** The set with the eventfd and every queue of {@code mine} in it. */
    WaitSet(RxQueue[] mine) throws IOException {
        this.stop = EventFd.create();
        try {
            this.epoll = new Epoll(mine.length + 1);
        } catch (IOException | RuntimeException e) {
            stop.close();
            throw e;
        }
        try {
            epoll.add(stop.fd(), EpollEventLayout.EPOLLIN, STOP_TAG);
            for (RxQueue q : mine) register(q);
        } catch (IOException | RuntimeException e) {
            epoll.close();
            stop.close();
            for (RxQueue q : mine) if (q.registered != null) q.registered.close();
            throw e;
        }
    }

    /** Removes our dup of a queue's ready descriptor from the epoll set, then closes it. */
    void unregister(RxQueue q) {
        Fd d;
        synchronized (q) {
            d = q.registered;
            q.registered = null;
        }
        if (d == null) return;
        try {
            epoll.remove(d);
        } catch (IOException | RuntimeException ignored) {
            // the set is closed (free): its entries went with it
        }
        d.close();
    }

    /**
     * Registers our dup of a queue's ready descriptor (the number in the epoll set is ours, so it
     * can always be removed before it is closed); a queue already registered is left alone.
     */
    void register(RxQueue q) throws IOException {
        synchronized (q) {
            if (q.registered != null) return;
            Fd d = q.link.readyFd().dup();
            try {
                epoll.add(d, EpollEventLayout.EPOLLIN, q.port.index);
            } catch (IOException | RuntimeException e) {
                d.close();
                throw e;
            }
            q.registered = d;
        }
    }

    /** Sleeps until a registered descriptor or the eventfd is readable, at most {@code millis}. */
    void await(int millis) throws IOException {
        epoll.await(millis);
    }

    /** Wakes a thread asleep in {@link #await} (or makes its next one return at once). */
    void signal() {
        try {
            stop.signal();
        } catch (IOException ignored) {
            // already closed: the thread is gone
        }
    }

    /** Consumes the wake-ups after a sleep. */
    void drain() {
        try {
            stop.drain();
        } catch (IOException ignored) {
            // closing
        }
    }

    /** The epoll instance's descriptor (for tests that count its entries). */
    Fd fd() {
        return epoll.fd();
    }

    /** Closes the set, the eventfd and the dups of {@code mine}; after the thread ended. */
    void free(RxQueue[] mine) {
        epoll.close();
        for (RxQueue q : mine) {
            synchronized (q) {
                if (q.registered != null) q.registered.close();
                q.registered = null;
            }
        }
        stop.close();
    }
}
