package ringlink.cli;

/**
 * Signal handlers beyond what the JDK's shutdown hooks cover (SIGUSR1 for counters). Uses
 * {@code sun.misc.Signal} from the {@code jdk.unsupported} module: the supported way to handle
 * an arbitrary signal in a JDK without JNI ({@code jdk.internal.misc.Signal} is not exported).
 */
final class Signals {
    private Signals() {}

    /** Runs {@code action} on a JDK signal thread each time {@code name} ("USR1") arrives; false if unavailable. */
    static boolean on(String name, Runnable action) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal(name), s -> action.run());
            return true;
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            return false; // signal unknown or used by the JVM (e.g. with -Xrs)
        }
    }
}
