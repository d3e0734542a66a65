package ringlink.cli.support;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Consumer;

/**
 * What a command created, to be undone in reverse order exactly once: at the end, on an error,
 * or from a shutdown hook on Ctrl-C/SIGTERM (whichever comes first).
 */
public final class Cleanup {
    /** One undo step. */
    public interface Action {
        void run() throws Exception;
    }

    private record Entry(String what, Action action) {}

    private final Deque<Entry> stack = new ArrayDeque<>();
    private final Consumer<String> log;

    /** {@code log} hears about undo steps that failed. */
    public Cleanup(Consumer<String> log) {
        this.log = log;
    }

    /** Registers an undo step (run before the ones registered earlier). */
    public synchronized void add(String what, Action a) {
        stack.push(new Entry(what, a));
    }

    /** Runs every step registered so far, newest first; a failing step is reported and the rest still run. */
    public synchronized void run() {
        while (!stack.isEmpty()) {
            Entry e = stack.pop();
            try {
                e.action.run();
            } catch (Exception ex) {
                log.accept("cleanup: " + e.what + ": " + ex.getMessage());
            }
        }
    }
}
