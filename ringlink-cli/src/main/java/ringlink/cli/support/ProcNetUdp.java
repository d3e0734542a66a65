package ringlink.cli.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The kernel's per-socket UDP drop counters ({@code /proc/net/udp} and {@code /proc/net/udp6},
 * last column {@code drops}: datagrams the kernel discarded because the socket's receive buffer
 * was full, or its checksum failed), for the bench's UDP and vxlan cells: a receiver that cannot
 * keep up shows there, not as a lower rate alone.
 */
public final class ProcNetUdp {
    private ProcNetUdp() {}

    /**
     * The sum of {@code drops} over the UDP sockets (IPv4 and IPv6) bound to local {@code port}
     * in network namespace {@code netns} (null: this process's); −1 if the tables cannot be read.
     */
    public static long drops(String netns, int port) {
        String text;
        try {
            if (netns == null) {
                text = read(Path.of("/proc/net/udp")) + read(Path.of("/proc/net/udp6"));
            } else {
                Shell.Result r = Shell.run(10, "ip", "netns", "exec", netns, "cat", "/proc/net/udp", "/proc/net/udp6");
                if (!r.ok()) return -1;
                text = r.output();
            }
        } catch (IOException e) {
            return -1;
        }
        return parse(text, port);
    }

    private static String read(Path p) throws IOException {
        return Files.exists(p) ? Files.readString(p) : "";
    }

    /** The sum of {@code drops} of the rows of a {@code /proc/net/udp[6]} text whose local port is {@code port}. */
    public static long parse(String text, int port) {
        long sum = 0;
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
            if (f.length < 13 || !f[0].endsWith(":")) continue;
            int colon = f[1].lastIndexOf(':');
            if (colon < 0) continue;
            try {
                if (Integer.parseInt(f[1].substring(colon + 1), 16) != port) continue;
                sum += Long.parseLong(f[f.length - 1]);
            } catch (NumberFormatException e) {
                // a header or a line of another format
            }
        }
        return sum;
    }
}
