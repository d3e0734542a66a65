package ringlink.memif;

import java.util.Objects;

/**
 * How a memif interface is set up.
 *
 * @param socket the control socket: a filesystem path, or {@code @name} for an abstract name
 * @param server true: we are the server (master: we listen and map the client's memory);
 *        false: the client (slave: we connect and create the memory)
 * @param id the interface id both ends agree on (one socket can serve several ids)
 * @param ip true for {@code MEMIF_INTERFACE_MODE_IP} (frames are bare IP packets, an L3 link),
 *        false for Ethernet
 * @param secret optional shared secret (at most 24 bytes; null or empty for none)
 * @param queuePairs how many queue pairs we offer (the peer may take fewer)
 * @param log2RingSize ring size as log2 (a client proposes it; a server accepts up to it)
 * @param bufferSize bytes per buffer in the memory a client creates
 * @param mtu the largest IP packet (L3) or Ethernet payload (L2) received whole; longer frames
 *        are dropped and counted
 * @param timeoutMillis bound on every wait for a message from the peer during set-up
 * @param allowUnsealed server: also map client regions that could shrink under us (not memfds
 *        sealed with, or sealable to, F_SEAL_SHRINK: DPDK zero-copy clients' hugepage or
 *        EAL memfd segments, VPP's hugepage regions). Such a peer can crash the JVM (SIGBUS) by
 *        truncating the file, so this trusts it; default false
 */
public record MemifConfig(String socket, boolean server, int id, boolean ip, String secret, int queuePairs,
                          int log2RingSize, int bufferSize, int mtu, int timeoutMillis, boolean allowUnsealed) {
    /** Highest log2 ring size we accept or offer (DPDK's limit as well: 16384 slots). */
    public static final int MAX_LOG2_RING_SIZE = 14;
    /** Most queue pairs (and so rings per direction) we set up. */
    public static final int MAX_QUEUE_PAIRS = 256;

    /**
     * Checks every bound (non-empty socket name, secret of at most 24 UTF-8 bytes, {@code queuePairs} in [1,
     * {@value #MAX_QUEUE_PAIRS}], {@code log2RingSize} in [1, {@value #MAX_LOG2_RING_SIZE}], {@code bufferSize} in
     * [128, 65535], {@code mtu} in [68, 65535], {@code timeoutMillis >= 0}); a null secret becomes empty.
     */
    public MemifConfig {
        Objects.requireNonNull(socket, "socket");
        if (socket.isEmpty() || socket.equals("@")) throw new IllegalArgumentException("memif socket name is empty");
        if (secret == null) secret = "";
        if (secret.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MemifMsgInitLayout.SECRET_SIZE) {
            throw new IllegalArgumentException("memif secret longer than 24 bytes");
        }
        if (queuePairs < 1 || queuePairs > MAX_QUEUE_PAIRS)
                throw new IllegalArgumentException("queue pairs must be 1.." + MAX_QUEUE_PAIRS);
        if (log2RingSize < 1 || log2RingSize > MAX_LOG2_RING_SIZE) {
            throw new IllegalArgumentException("ring size must be a power of two from 2 to "
                    + (1 << MAX_LOG2_RING_SIZE));
        }
        if (bufferSize < 128 || bufferSize > 65535)
                throw new IllegalArgumentException("buffer size must be 128..65535");
        if (mtu < 68 || mtu > 65535) throw new IllegalArgumentException("mtu must be 68..65535");
        if (timeoutMillis < 0) throw new IllegalArgumentException("timeout must be >= 0");
    }

    /**
     * Defaults: client, id 0, Ethernet, no secret, one queue pair, 1024 slots, 2048-byte buffers (DPDK's), MTU 1500, 10
     * s.
     */
    public static MemifConfig defaults(String socket) {
        return new MemifConfig(socket, false, 0, false, "", 1, 10, 2048, 1500, 10_000, false);
    }

    /** This configuration as a server ({@code true}) or a client. */
    public MemifConfig withServer(boolean s) { return new MemifConfig(socket, s, id, ip, secret, queuePairs,
            log2RingSize, bufferSize, mtu, timeoutMillis, allowUnsealed); }
    /** This configuration with interface id {@code i}. */
    public MemifConfig withId(int i) { return new MemifConfig(socket, server, i, ip, secret, queuePairs, log2RingSize,
            bufferSize, mtu, timeoutMillis, allowUnsealed); }
    /** This configuration in IP mode ({@code true}, an L3 link) or Ethernet mode. */
    public MemifConfig withIp(boolean b) { return new MemifConfig(socket, server, id, b, secret, queuePairs,
            log2RingSize, bufferSize, mtu, timeoutMillis, allowUnsealed); }
    /** This configuration with shared secret {@code s} (null or empty for none). */
    public MemifConfig withSecret(String s) { return new MemifConfig(socket, server, id, ip, s, queuePairs,
            log2RingSize, bufferSize, mtu, timeoutMillis, allowUnsealed); }
    /** This configuration offering {@code q} queue pairs. */
    public MemifConfig withQueuePairs(int q) { return new MemifConfig(socket, server, id, ip, secret, q, log2RingSize,
            bufferSize, mtu, timeoutMillis, allowUnsealed); }
    /** This configuration with rings of {@code 1 << l} slots. */
    public MemifConfig withLog2RingSize(int l) { return new MemifConfig(socket, server, id, ip, secret, queuePairs, l,
            bufferSize, mtu, timeoutMillis, allowUnsealed); }
    /** This configuration with {@code b}-byte buffers. */
    public MemifConfig withBufferSize(int b) { return new MemifConfig(socket, server, id, ip, secret, queuePairs,
            log2RingSize, b, mtu, timeoutMillis, allowUnsealed); }
    /** This configuration with MTU {@code m}. */
    public MemifConfig withMtu(int m) { return new MemifConfig(socket, server, id, ip, secret, queuePairs, log2RingSize,
            bufferSize, m, timeoutMillis, allowUnsealed); }
    /** This configuration with a set-up wait bound of {@code t} milliseconds. */
    public MemifConfig withTimeout(int t) { return new MemifConfig(socket, server, id, ip, secret, queuePairs,
            log2RingSize, bufferSize, mtu, t, allowUnsealed); }

    /**
     * This configuration allowing (server side) client regions that are not sealed against shrinking; see
     * {@code allowUnsealed}.
     */
    public MemifConfig withAllowUnsealed(boolean a) { return new MemifConfig(socket, server, id, ip, secret, queuePairs,
            log2RingSize, bufferSize, mtu, timeoutMillis, a); }

    /** True if {@link #socket()} is an abstract name ({@code @name}). */
    public boolean isAbstract() { return socket.startsWith("@"); }

    /** The largest frame on the wire we deliver: MTU plus an Ethernet header with one VLAN tag (L2). */
    public int maxFrame() { return ip ? mtu : mtu + 18; }
}
