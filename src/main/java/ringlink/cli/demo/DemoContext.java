package ringlink.cli.demo;

import java.io.PrintStream;
import ringlink.cli.support.Cleanup;

/** Shared by the steps: settings, output, and the cleanup stack. */
public record DemoContext(String prefix, int iperfSeconds, PrintStream out, Cleanup cleanup, boolean root) {
    /** Prints one indented line of a step's progress. */
    public void say(String s) {
        out.println("    " + s);
        out.flush();
    }
}
