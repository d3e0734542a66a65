package ringlink.cli.demo;

import java.io.PrintStream;
import ringlink.cli.support.Cleanup;

/**
 * Shared by the steps: settings, output, and the cleanup stack. {@code json}: iperf3 runs with
 * {@code -J} (no live lines; the bench and the tests read {@code end.sum_sent.retransmits}).
 */
public record DemoContext(String prefix, int iperfSeconds, PrintStream out, Cleanup cleanup, boolean root,
        boolean json) {
    /** A context whose iperf3 runs show their per-second lines live. */
    public DemoContext(String prefix, int iperfSeconds, PrintStream out, Cleanup cleanup, boolean root) {
        this(prefix, iperfSeconds, out, cleanup, root, false);
    }

    /** Prints one indented line of a step's progress. */
    public void say(String s) {
        out.println("    " + s);
        out.flush();
    }
}
