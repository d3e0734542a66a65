package ringlink.shm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import ringlink.testing.Env;

/** Small helpers for this package's tests. */
final class PeerLogs {
    private PeerLogs() {}

    /** A log file for a peer process under target/shm-logs. */
    static Path log(String name) throws IOException {
        Path d = Env.buildDir().resolve("shm-logs");
        Files.createDirectories(d);
        return d.resolve(name + ".log");
    }
}
