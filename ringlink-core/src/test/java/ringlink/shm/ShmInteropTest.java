package ringlink.shm;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.link.Links;

/**
 * Interop with gVisor's own sharedmem queue code (src/test/go/shmpeer, built from Debian's
 * golang-gvisor-gvisor-dev): packets of random sizes, multi-buffer ones included, both directions
 * at once, every byte checked on both sides, in both roles.
 */
@Timeout(180)
class ShmInteropTest {
    /** A directory of its own per test, so runs in parallel (two checkouts, two engineers) never share a socket. */
    @TempDir Path tmp;

    static final int PACKETS = 200_000;
    static final int MAX_LEN = 9014;

    @Test
    void javaServerCreatesMemoryGoClientAttaches() throws Exception {
        GoPeer.build();
        Path sock = tmp.resolve("rlsh-interop1.sock");
        Path log = PeerLogs.log("interop-go-client");
        Process go = GoPeer.start(log, "-role", "client", "-sock", sock.toString(), "-count", "" + PACKETS, "-expect",
                "" + PACKETS,
                "-txseed", "12", "-rxseed", "11", "-maxlen", "" + MAX_LEN);
        try (ShmLink link = (ShmLink) Links.open("shm:" + sock + "?role=server&mtu=9000&timeout=30000")) {
            Traffic.Result r = Traffic.exchange(link, PACKETS, PACKETS, 11, 12, MAX_LEN, 120_000);
            assertEquals(PACKETS, r.received());
            Traffic.assertPeerDone(link, go, log, "OK role=client", PACKETS);
            assertEquals(0, link.counters().snapshot().rxDrops());
        } finally {
            go.destroyForcibly();
            Files.deleteIfExists(sock);
        }
    }

    @Test
    void goServerCreatesMemoryJavaClientAttaches() throws Exception {
        GoPeer.build();
        Path sock = tmp.resolve("rlsh-interop2.sock");
        Path log = PeerLogs.log("interop-go-server");
        Process go = GoPeer.start(log, "-role", "server", "-sock", sock.toString(), "-count", "" + PACKETS, "-expect",
                "" + PACKETS,
                "-txseed", "21", "-rxseed", "22", "-maxlen", "" + MAX_LEN);
        try (ShmLink link = (ShmLink) Links.open("shm:" + sock + "?role=client&mtu=9000&timeout=30000")) {
            assertEquals(ShmLink.Role.CLIENT, link.role());
            Traffic.Result r = Traffic.exchange(link, PACKETS, PACKETS, 22, 21, MAX_LEN, 120_000);
            assertEquals(PACKETS, r.received());
            Traffic.assertPeerDone(link, go, log, "OK role=server", PACKETS);
        } finally {
            go.destroyForcibly();
            Files.deleteIfExists(sock);
        }
    }

    @Test
    void gvisorClientEndpointTalksToJavaServer() throws Exception {
        clientEndpoint(false);
    }

    /** gVisor's VirtioNetHeaderRequired: a 10-byte virtio-net header in front of every packet. */
    @Test
    void gvisorClientEndpointWithVirtioNetHeaders() throws Exception {
        clientEndpoint(true);
    }

    private void clientEndpoint(boolean vnet) throws Exception {
        GoPeer.build();
        Path sock = tmp.resolve("rlsh-interop3.sock");
        Path log = PeerLogs.log("interop-go-client-endpoint" + (vnet ? "-vnet" : ""));
        int n = 50_000, maxLen = 9000;
        Process go = GoPeer.start(log, "-endpoint", "-vnethdr=" + vnet, "-role", "client", "-sock", sock.toString(),
                "-count", "" + n,
                "-expect", "" + n, "-txseed", "52", "-rxseed", "51", "-maxlen", "" + maxLen);
        try (ShmLink link = (ShmLink) Links.open("shm:" + sock + "?role=server&mtu=9000&eth=false&vnethdr=" + vnet
                + "&timeout=30000")) {
            Traffic.Result r = Traffic.exchange(link, n, n, 51, 52, maxLen, 120_000, true, false);
            assertEquals(n, r.received());
            Traffic.assertPeerDone(link, go, log, "OK role=client endpoint", n);
        } finally {
            go.destroyForcibly();
            Files.deleteIfExists(sock);
        }
    }

    /**
     * gVisor's server endpoint (this Debian version) reports every filled buffer at its posted
     * size ({@code fillPacket} updates a copy of the descriptor), so what it sends arrives padded
     * to whole buffers: we check the bytes it meant to send, and keep packets to one buffer so the
     * padded frame fits the MTU. Our direction to it is checked exactly.
     */
    @Test
    void gvisorServerEndpointTalksToJavaClient() throws Exception {
        GoPeer.build();
        Path sock = tmp.resolve("rlsh-interop4.sock");
        Path log = PeerLogs.log("interop-go-server-endpoint");
        int n = 50_000, maxLen = 2048;
        Process go = GoPeer.start(log, "-endpoint", "-role", "server", "-sock", sock.toString(), "-count", "" + n,
                "-expect", "" + n,
                "-txseed", "61", "-rxseed", "62", "-maxlen", "" + maxLen);
        try (ShmLink link = (ShmLink) Links.open("shm:" + sock + "?role=client&mtu=9000&eth=false&timeout=30000")) {
            Traffic.Result r = Traffic.exchange(link, n, n, 62, 61, maxLen, 120_000, true, true);
            assertEquals(n, r.received());
            Traffic.assertPeerDone(link, go, log, "OK role=server endpoint", n);
        } finally {
            go.destroyForcibly();
            Files.deleteIfExists(sock);
        }
    }

    /** The memory role and the protocol role are independent: here the client creates. */
    @Test
    void javaClientCreatesMemoryGoServerAttaches() throws Exception {
        GoPeer.build();
        Path sock = tmp.resolve("rlsh-interop5.sock");
        Path log = PeerLogs.log("interop-go-server-attaches");
        int n = 50_000;
        Process go = GoPeer.start(log, "-role", "server", "-listen", "false", "-sock", sock.toString(), "-count",
                "" + n, "-expect", "" + n,
                "-txseed", "71", "-rxseed", "72", "-maxlen", "" + MAX_LEN);
        try (ShmLink link = (ShmLink) Links.open("shm:" + sock + "?role=client&listen=true&mtu=9000&timeout=30000")) {
            assertEquals(ShmLink.Role.CLIENT, link.role());
            Traffic.Result r = Traffic.exchange(link, n, n, 72, 71, MAX_LEN, 120_000);
            assertEquals(n, r.received());
            Traffic.assertPeerDone(link, go, log, "OK role=server", n);
        } finally {
            go.destroyForcibly();
            Files.deleteIfExists(sock);
        }
    }
}
