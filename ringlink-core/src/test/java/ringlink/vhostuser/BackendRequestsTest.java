package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import org.junit.jupiter.api.Test;

/**
 * Every request handler declares its locking policy (the class comment of {@link BackendRequests} says what each
 * means).
 */
class BackendRequestsTest {
    @Test
    void everyHandlerDeclaresItsLocking() {
        int handlers = 0;
        for (Method m : BackendRequests.class.getDeclaredMethods()) {
            if (m.getReturnType() != Message.class || m.getName().equals("handle") || m.getName().equals("reply"))
                    continue;
            assertNotNull(m.getAnnotation(BackendRequests.Locks.class), m.getName() + " has no @Locks");
            handlers++;
        }
        assertTrue(handlers >= 31, "handlers found: " + handlers);
    }
}
