package ringlink.cli;

import java.io.PrintStream;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The CLI's log: one line per message, {@code TIME LEVEL COMPONENT MESSAGE} (UTC, milliseconds),
 * so journald, grep and log shippers see one record a line. {@code -q} keeps warnings and errors,
 * {@code -v} adds debug lines.
 */
final class CliLog {
    enum Level { DEBUG, INFO, WARN, ERROR }

    private final PrintStream err;
    private final Level min;

    CliLog(PrintStream err, Level min) {
        this.err = err;
        this.min = min;
    }

    /** The threshold from -v / -q (both: -v wins, being the explicit ask for more). */
    static Level level(boolean verbose, boolean quiet) {
        return verbose ? Level.DEBUG : quiet ? Level.WARN : Level.INFO;
    }

    boolean enabled(Level l) {
        return l.compareTo(min) >= 0;
    }

    void log(Level l, String component, String message) {
        if (!enabled(l)) return;
        // A message never spans lines: a peer's text with a newline in it cannot forge a record.
        String m = message.replace("\r", "\\r").replace("\n", "\\n");
        String line = Instant.now().truncatedTo(ChronoUnit.MILLIS) + " " + l + " " + component + " " + m;
        synchronized (err) {
            err.println(line);
        }
    }

    /**
     * A library message (the switch reports through a plain string sink): port failures and
     * transmit problems are warnings, the rest (ports added, removed) information.
     */
    void library(String component, String message) {
        boolean bad = message.contains(" down: ") || message.contains("failed") || message.contains("dropped")
                || message.contains("did not");
        log(bad ? Level.WARN : Level.INFO, component, message);
    }
}
