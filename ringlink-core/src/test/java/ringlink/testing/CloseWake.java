package ringlink.testing;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.concurrent.TimeUnit;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;

/**
 * The close race every link with a wake-up eventfd must survive: a thread asleep in epoll on
 * {@link Link#readyFd()} (the "epoll over many links" way of waiting), close() from another
 * thread. If close() closed the signalled eventfd right away, the kernel would drop it from the
 * epoll set before the sleeper collected it and the sleeper would never wake.
 */
public final class CloseWake {
    private CloseWake() {}

    /** Sleeps on {@code link}'s readyFd in an epoll set of our own, closes it from another thread, and
     * asserts the sleeper wakes well within the bound (and the link then reports closed). */
    public static void assertCloseWakesEpollSleeper(Link link) throws Exception {
        assertTrue(link.prepareToWait(), "an idle link may sleep");
        try (Epoll ep = new Epoll(4)) {
            ep.add(link.readyFd(), EpollEventLayout.EPOLLIN, 7);
            Thread closer = Thread.ofPlatform().name("rlcu-closer").start(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ignored) {
                    // close early then
                }
                link.close();
            });
            long start = System.nanoTime();
            int n = 0;
            // Bounded: 5 s in slices, so a lost wake-up fails the test instead of hanging it.
            while (n == 0 && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5)) n = ep.await(500);
            closer.join(5_000);
            if (n == 0) fail(link.name() + ": close() did not wake a thread asleep in epoll on readyFd within 5 s");
            assertNotEquals(0, ep.events(0) & EpollEventLayout.EPOLLIN);
        }
        try {
            link.finishWait();
        } catch (LinkClosedException expected) {
            // some links report the close here already
        }
        assertTrue(!link.isOpen(), "closed");
    }
}
