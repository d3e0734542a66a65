package ringlink.cli.support;

import java.io.PrintStream;

/**
 * A status line that rewrites itself in place on a terminal ({@code \r}) and prints nothing
 * otherwise (logs and pipes get the periodic or final lines instead).
 */
public final class Terminal {
    private final PrintStream out;
    private final boolean tty;
    private int lastLength;

    public Terminal(PrintStream out, boolean tty) {
        this.out = out;
        this.tty = tty;
    }

    /** True when standard output is an interactive terminal. */
    public static boolean stdoutIsTty() {
        var c = System.console();
        return c != null && c.isTerminal();
    }

    /** Columns of the terminal ({@code $COLUMNS}, else 120). */
    public static int width() {
        try {
            String c = System.getenv("COLUMNS");
            if (c != null) return Math.max(40, Integer.parseInt(c.trim()));
        } catch (NumberFormatException ignored) {
            // fall through
        }
        return 120;
    }

    public boolean isTty() {
        return tty;
    }

    /** Replaces the status line (on a terminal only), cut to the terminal's width. */
    public synchronized void status(String line) {
        if (!tty) return;
        int w = width() - 1;
        if (line.length() > w) line = line.substring(0, w - 1) + "…";
        StringBuilder sb = new StringBuilder("\r").append(line);
        for (int k = line.length(); k < lastLength; k++) sb.append(' ');
        lastLength = line.length();
        out.print(sb);
        out.flush();
    }

    /** Prints a whole line, first moving off the status line. */
    public synchronized void println(String line) {
        clear();
        out.println(line);
        out.flush();
    }

    /** Ends the status line (so what follows starts on a fresh line). */
    public synchronized void clear() {
        if (tty && lastLength > 0) {
            out.print("\r" + " ".repeat(lastLength) + "\r");
            lastLength = 0;
        }
    }
}
