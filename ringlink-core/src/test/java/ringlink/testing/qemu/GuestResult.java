package ringlink.testing.qemu;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assertions;

/**
 * What a guest run produced.
 *
 * @param exitCode the job's exit status (125: guest setup failed, −1: no status, see timedOut)
 * @param timedOut the run hit its timeout and QEMU was killed
 * @param console  the guest's serial console (kernel messages and the job's output)
 * @param qemuOutput QEMU's own stdout/stderr (argument and device errors land here)
 * @param logFile  where the console log is kept under {@code target/qemu/}
 */
public record GuestResult(String name, int exitCode, boolean timedOut, String console, String qemuOutput,
                          String commandLine, Path logFile, Duration elapsed) {

    public boolean succeeded() {
        return exitCode == 0 && !timedOut;
    }

    /** Fails the test unless the job exited 0, with the console log (tail) attached. */
    public void assertSuccess() {
        if (!succeeded()) Assertions.fail(describeFailure());
    }

    /** A failure description with the console log's last 60 KiB and QEMU's output. */
    public String describeFailure() {
        String why = timedOut ? "timed out after " + elapsed.toSeconds() + " s"
                : exitCode == 125 ? "guest setup failed (module or 9p mount)"
                : exitCode == -1 ? "QEMU exited without a job status"
                : "guest job exited with " + exitCode;
        String c = console.length() > 61440 ? "[...]\n" + console.substring(console.length() - 61440) : console;
        return "QEMU guest '" + name + "': " + why + " (log " + logFile + ")\n--- guest console ---\n" + c
                + "\n--- qemu output ---\n" + qemuOutput + "\n--- command ---\n" + commandLine;
    }

    /** The console lines that start with {@code prefix}, prefix removed (for results the job prints). */
    public List<String> lines(String prefix) {
        return console.lines().map(l -> l.strip()).filter(l -> l.startsWith(prefix))
                .map(l -> l.substring(prefix.length()).strip()).toList();
    }
}
