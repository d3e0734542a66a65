package ringlink.vhost;

import java.lang.reflect.Field;
import ringlink.sys.EventFd;
import ringlink.virtio.SplitQueueDriver;

/**
 * Test-only access to a {@link VhostNetLink}'s transmit ring and kick, to hand the kernel a
 * broken ring ({@code VhostNetGuestMain}). By reflection, so the production class carries no
 * accessor that exists only for tests.
 */
final class VhostNetInternals {
    private VhostNetInternals() {}

    static SplitQueueDriver txQueue(VhostNetLink link) {
        return (SplitQueueDriver) field(link, "txq");
    }

    static EventFd txKick(VhostNetLink link) {
        return (EventFd) field(link, "txKick");
    }

    private static Object field(VhostNetLink link, String name) {
        try {
            Field f = VhostNetLink.class.getDeclaredField(name);
            f.setAccessible(true);
            return f.get(link);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("VhostNetLink." + name + " is gone: update this test helper", e);
        }
    }
}
