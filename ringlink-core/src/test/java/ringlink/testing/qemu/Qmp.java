package ringlink.testing.qemu;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal QMP (QEMU Machine Protocol) client over the unix socket of
 * {@code -qmp unix:PATH,server=on,wait=off}: enough to migrate a guest and poll the status.
 * Replies are one JSON object per line; asynchronous events in between are collected in
 * {@link #events()}. Every read is bounded.
 */
public final class Qmp implements AutoCloseable {
    private final SocketChannel ch;
    private final StringBuilder buf = new StringBuilder();
    private final List<String> events = new ArrayList<>();
    private final Duration timeout;

    private Qmp(SocketChannel ch, Duration timeout) {
        this.ch = ch;
        this.timeout = timeout;
    }

    /**
     * Connects (retrying until QEMU has created the socket, within {@code timeout}), reads the
     * greeting and enters command mode ({@code qmp_capabilities}).
     */
    public static Qmp connect(Path socket, Duration timeout) throws IOException, InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        SocketChannel ch;
        while (true) {
            try {
                ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
                break;
            } catch (IOException e) {
                if (System.nanoTime() > end) throw new IOException("QMP socket " + socket + ": " + e.getMessage(), e);
                Thread.sleep(100);
            }
        }
        ch.configureBlocking(false);
        Qmp q = new Qmp(ch, timeout);
        String greeting = q.line();
        if (!greeting.contains("\"QMP\"")) throw new IOException("not a QMP greeting: " + greeting);
        q.execute("{\"execute\":\"qmp_capabilities\"}");
        return q;
    }

    /** Sends one command (a JSON object) and returns its reply line; an error reply throws. */
    public String execute(String json) throws IOException, InterruptedException {
        ch.write(ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8)));
        while (true) {
            String l = line();
            if (l.contains("\"event\"")) {
                events.add(l);
                continue;
            }
            if (l.contains("\"error\"")) throw new IOException("QMP " + json + " failed: " + l);
            return l;
        }
    }

    /** Events received so far. */
    public List<String> events() { return events; }

    private String line() throws IOException, InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        ByteBuffer bb = ByteBuffer.allocate(4096);
        while (true) {
            int nl = buf.indexOf("\n");
            if (nl >= 0) {
                String l = buf.substring(0, nl).trim();
                buf.delete(0, nl + 1);
                if (!l.isEmpty()) return l;
                continue;
            }
            bb.clear();
            int n = ch.read(bb);
            if (n < 0) throw new IOException("QMP connection closed");
            if (n == 0) {
                if (System.nanoTime() > end) throw new IOException("no QMP reply within " + timeout);
                Thread.sleep(20);
                continue;
            }
            buf.append(new String(bb.array(), 0, n, StandardCharsets.UTF_8));
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
