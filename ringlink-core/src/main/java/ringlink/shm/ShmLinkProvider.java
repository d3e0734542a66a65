package ringlink.shm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkFailedException;
import ringlink.link.LinkProvider;
import ringlink.link.LinkSpec;
import ringlink.sys.SysException;
import ringlink.sys.UnixSocket;

/**
 * {@code shm:/path.sock?role=server|client&listen=BOOL&mtu=1500&buffer=2048&eth=true&layer=l2|l3}
 * {@code &csum=false&vnethdr=false&data=1048576&pipe=65536&timeout=30000}.
 *
 * <p>The listening side ({@code listen}, by default the server) binds the path, creates both
 * queues (memfds), waits for one peer, and hands it the ten descriptors ({@link ShmHandshake});
 * the other side connects (retrying until the listener is up) and attaches to them. Independently
 * of that, {@code role} says which end of the sharedmem protocol this side plays: the client
 * owns the buffers, the server fills and drains them. The connection stays open: if the peer
 * dies, the link closes.
 */
public final class ShmLinkProvider implements LinkProvider {
    @Override public String scheme() { return "shm"; }

    @Override
    public String usage() {
        return "shm:/PATH.sock[?role=server|client&listen=BOOL&mtu=1500&buffer=2048&eth=true&layer=l2|l3&csum=false&vne"
                + "thdr=false&data=BYTES&pipe=BYTES&timeout=MS]"
                + "  gVisor-compatible shared-memory queues (the server creates them and waits for a client)";
    }

    @Override
    public Link open(LinkSpec spec) throws IOException {
        spec.checkParams(Set.of("role", "listen", "vnethdr", "mtu", "buffer", "eth", "layer", "csum", "data", "pipe",
                "timeout"));
        Path path = Path.of(spec.requireTarget("socket path"));
        String role = spec.param("role", "server").toLowerCase(Locale.ROOT);
        boolean eth = spec.boolParam("eth", true);
        Layer layer = switch (spec.param("layer", eth ? "l2" : "l3").toLowerCase(Locale.ROOT)) {
            case "l2" -> Layer.L2;
            case "l3" -> Layer.L3;
            default -> throw new IllegalArgumentException(spec + ": layer must be l2 or l3");
        };
        int timeout = spec.intParam("timeout", 30_000, 0, Integer.MAX_VALUE);
        int buffer = spec.intParam("buffer", 2048, 64, 1 << 20);
        boolean csum = spec.boolParam("csum", false);
        boolean vnet = spec.boolParam("vnethdr", false);
        String name = spec.toString();
        ShmLink.Role r = switch (role) {
            case "server" -> ShmLink.Role.SERVER;
            case "client" -> ShmLink.Role.CLIENT;
            default -> throw new IllegalArgumentException(spec + ": role must be server or client");
        };
        if (spec.boolParam("listen", r == ShmLink.Role.SERVER)) {
            int mtu = spec.intParam("mtu", 1500, 68, 65535);
            ShmLink.Options o = new ShmLink.Options(mtu, buffer, eth, layer, csum, vnet, null, null);
            long data = spec.intParam("data", (int) QueueConfig.DEFAULT_DATA_SIZE, 4096, Integer.MAX_VALUE);
            long pipe = spec.intParam("pipe", (int) QueueConfig.DEFAULT_PIPE_SIZE, 4096, 1 << 30);
            UnixSocket conn;
            try (UnixSocket listener = UnixSocket.listen(path, UnixSocket.SOCK_STREAM, 1)) {
                conn = listener.accept(timeout);
            } finally {
                Files.deleteIfExists(path);
            }
            if (conn == null) throw new LinkFailedException(name + ": no peer connected within " + timeout + " ms");
            QueueConfig tx = null, rx = null;
            try {
                tx = QueueConfig.create("tx", data, pipe);
                rx = QueueConfig.create("rx", data, pipe);
                ShmHandshake.offer(conn, tx, rx, mtu);
            } catch (IOException | RuntimeException e) {
                if (tx != null) tx.close();
                if (rx != null) rx.close();
                conn.close();
                throw e;
            }
            return ShmLink.open(name, r, tx, rx, o, conn, null);
        }
        UnixSocket conn = connect(path, timeout, name);
        ShmHandshake.Offer offer;
        try {
            offer = ShmHandshake.receive(conn, timeout);
        } catch (IOException | RuntimeException e) {
            conn.close();
            throw e;
        }
        int mtu = spec.intParam("mtu", Math.clamp(offer.mtu(), 68, 65535), 68, 65535);
        ShmLink.Options o = new ShmLink.Options(mtu, buffer, eth, layer, csum, vnet, null, null);
        return ShmLink.open(name, r, offer.tx(), offer.rx(), o, conn, null);
    }

    /** Connects, retrying while the server is not listening yet (bounded by {@code timeoutMillis}). */
    static UnixSocket connect(Path path, int timeoutMillis, String name) throws IOException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            try {
                return UnixSocket.connect(path, UnixSocket.SOCK_STREAM);
            } catch (SysException e) {
                if (System.nanoTime() - deadline > 0)
                        throw new LinkFailedException(name + ": cannot connect: " + e.getMessage(), e);
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException(name + ": interrupted while connecting");
                }
            }
        }
    }
}
