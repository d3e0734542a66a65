package ringlink.cli;

import java.io.IOException;
import java.nio.file.Path;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.CaptureWriter;
import ringlink.packet.PacketBatch;
import ringlink.packet.PcapngWriter;

/**
 * {@code ringlink switch --capture FILE}: an in-memory link is the switch's mirror port, and a
 * thread writes what arrives on its far end to pcapng. The capture thread is off the forwarding
 * path: when it falls behind, the mirror link's ring fills and mirrored copies are dropped
 * (counted on the mirror), never switched frames.
 */
final class MirrorCapture implements AutoCloseable {
    private final PairLink[] pair;
    private final PcapngWriter writer;
    private final Thread thread;
    private volatile long packets;
    private volatile IOException failure;

    MirrorCapture(Path file) throws IOException {
        this.pair = PairLink.create("mirror", 4096, PacketBatch.SUPERPACKET_BUFFER, Layer.L2, 65535, Offloads.ALL);
        try {
            this.writer = PcapngWriter.create(file);
            writer.addInterface(CaptureWriter.LINKTYPE_ETHERNET, CaptureWriter.DEFAULT_SNAPLEN,
                    "ringlink-switch-mirror");
        } catch (IOException e) {
            pair[1].free();
            throw e;
        }
        this.thread = new Thread(this::loop, "ringlink-switch-capture");
        thread.setDaemon(true);
    }

    /** The end the switch transmits to. */
    Link switchEnd() {
        return pair[0];
    }

    void start() {
        thread.start();
    }

    long packets() {
        return packets;
    }

    private void loop() {
        Link in = pair[1];
        long t0 = System.nanoTime(), epoch = System.currentTimeMillis() * 1_000_000L;
        try (PacketBatch b = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER)) {
            while (true) {
                b.clear();
                int n = in.receive(b);
                if (n == 0) {
                    in.awaitReadable(java.time.Duration.ofMillis(100));
                    continue;
                }
                writer.write(0, epoch + (System.nanoTime() - t0), b);
                packets += n;
            }
        } catch (LinkClosedException closed) {
            // the switch closed the mirror: done
        } catch (IOException e) {
            failure = e;
        }
    }

    /** Waits for the thread (after the switch closed the mirror port), then completes the file. */
    @Override
    public void close() {
        pair[0].close();
        try {
            if (thread.isAlive()) thread.join(3000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            writer.close();
        } catch (IOException e) {
            if (failure == null) failure = e;
        }
        if (!thread.isAlive()) pair[1].free();
        if (failure != null) System.err.println("ringlink switch: capture: " + failure.getMessage());
    }
}
