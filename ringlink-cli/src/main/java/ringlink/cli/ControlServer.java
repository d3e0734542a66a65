package ringlink.cli;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import ringlink.cli.support.Json;

/**
 * A server for Open vSwitch's unixctl protocol, so {@code ovs-appctl -t PATH COMMAND ARGS...}
 * and {@code ringlink ctl} can talk to a running process.
 *
 * <p>The protocol (OVS lib/unixctl.c over lib/jsonrpc.c): JSON-RPC 1.0 over a Unix stream socket;
 * each message is one JSON object, with no length prefix or separator. A request is
 * {@code {"method": COMMAND, "params": [STRING...], "id": ID}}; the reply is
 * {@code {"result": TEXT, "error": null, "id": ID}} or {@code {"result": null, "error": TEXT, "id": ID}}.
 * A connection may carry any number of requests, answered in order.
 *
 * <p>Bounds, so a bad local client cannot hurt the switch or other clients: at most
 * {@link #MAX_CONNECTIONS} connections (more are closed at once), {@link #MAX_MESSAGE} bytes a
 * request, {@link #IDLE_TIMEOUT_MS} without a complete request or without the reply being taken
 * closes the connection, {@link Json#MAX_DEPTH} nesting. Each connection has its own (virtual)
 * thread; commands run one at a time (they change one switch).
 */
final class ControlServer implements AutoCloseable {
    /** Where {@code --control} without a path and {@code ringlink ctl} without {@code -t} meet. */
    static final String DEFAULT_PATH = "/run/ringlink/switch.ctl";
    static final int MAX_CONNECTIONS = 16;
    static final int MAX_MESSAGE = 64 * 1024;
    static final long IDLE_TIMEOUT_MS = 30_000;
    /** Longest reply: a port/show of thousands of ports fits; a bug cannot grow it without end. */
    static final int MAX_REPLY = 16 * 1024 * 1024;

    /** A command's handler: arguments in, text out; throw {@link CommandException} for an error reply. */
    interface Handler {
        String run(List<String> args) throws Exception;
    }

    /** An error the client sees as the JSON-RPC error text. */
    static final class CommandException extends Exception {
        CommandException(String message) {
            super(message);
        }
    }

    private record Command(String usage, int minArgs, int maxArgs, Handler handler) {}

    private final Map<String, Command> commands = new TreeMap<>();
    private final Path path;
    private final ServerSocketChannel server;
    private final Set<Conn> conns = ConcurrentHashMap.newKeySet();
    private final CliLog log;
    private final Object commandLock = new Object();
    private final Thread acceptor, reaper;
    private volatile boolean closed;
    private final long idleTimeoutMs;

    private final class Conn {
        final SocketChannel ch;
        /** When it last made progress (a request read, a reply written), System.nanoTime(). */
        volatile long lastProgress = System.nanoTime();

        Conn(SocketChannel ch) {
            this.ch = ch;
        }
    }

    /**
     * Listens on {@code path}: its directory is created with mode 0700 if missing, the socket gets
     * mode 0600. A stale socket file (nobody listening) is replaced; a live one is an error.
     */
    ControlServer(Path path, CliLog log) throws IOException {
        this(path, log, IDLE_TIMEOUT_MS);
    }

    /** With another idle timeout (tests). */
    ControlServer(Path path, CliLog log, long idleTimeoutMs) throws IOException {
        this.idleTimeoutMs = idleTimeoutMs;
        this.path = path.toAbsolutePath();
        this.log = log;
        Path dir = this.path.getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir,
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        if (Files.exists(this.path)) {
            try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(this.path))) {
                throw new IOException(this.path + " is in use by another running process (remove it if that is wrong)");
            } catch (IOException e) {
                if (e.getMessage() != null && e.getMessage().contains("in use by another")) throw e;
                Files.deleteIfExists(this.path); // stale: left by a process that died
            }
        }
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(this.path), MAX_CONNECTIONS);
            Files.setPosixFilePermissions(this.path, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        builtins();
        acceptor = Thread.ofPlatform().daemon().name("ringlink-control").unstarted(this::accept);
        reaper = Thread.ofPlatform().daemon().name("ringlink-control-idle").unstarted(this::reap);
    }

    Path path() {
        return path;
    }

    /** Registers {@code name} (before {@link #start()}). */
    void register(String name, String usage, int minArgs, int maxArgs, Handler h) {
        commands.put(name, new Command(usage, minArgs, maxArgs, h));
    }

    void start() {
        acceptor.start();
        reaper.start();
    }

    private void builtins() {
        register("list-commands", "", 0, 0, a -> {
            StringBuilder sb = new StringBuilder("The available commands are:\n");
            for (var e : commands.entrySet()) {
                sb.append(String.format("  %-23s %s", e.getKey(), e.getValue().usage()).stripTrailing()).append('\n');
            }
            return sb.toString();
        });
        register("version", "", 0, 0, a -> new Main.Version().getVersion()[0] + "\n");
    }

    private void accept() {
        while (!closed) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                if (!closed) log.log(CliLog.Level.ERROR, "control",
                        "accept failed, control socket stops: " + e.getMessage());
                return;
            }
            if (conns.size() >= MAX_CONNECTIONS) {
                log.log(CliLog.Level.WARN, "control", "more than " + MAX_CONNECTIONS + " connections: one refused");
                closeQuietly(ch); // the client sees EOF at once and may retry
                continue;
            }
            Conn c = new Conn(ch);
            conns.add(c);
            Thread.ofVirtual().name("ringlink-control-conn").start(() -> serve(c));
        }
    }

    /** Closes connections that made no progress within the idle timeout. */
    private void reap() {
        while (!closed) {
            try {
                Thread.sleep(Math.min(1000, idleTimeoutMs / 4 + 1));
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Conn c : conns) {
                if (now - c.lastProgress > idleTimeoutMs * 1_000_000) {
                    log.log(CliLog.Level.DEBUG, "control", "closing a connection idle for " + idleTimeoutMs + " ms");
                    closeQuietly(c.ch);
                }
            }
        }
    }

    private void serve(Conn c) {
        Json.Framer framer = new Json.Framer(MAX_MESSAGE);
        byte[] in = new byte[4096];
        ByteBuffer bb = ByteBuffer.wrap(in);
        try {
            while (!closed) {
                bb.clear();
                int n = c.ch.read(bb);
                if (n < 0) return;
                int off = 0;
                while (off < n) {
                    int used;
                    try {
                        used = framer.feed(in, off, n - off);
                    } catch (IllegalArgumentException e) {
                        log.log(CliLog.Level.WARN, "control",
                                "malformed request, connection closed: " + e.getMessage());
                        send(c, reply(null, null, "malformed request: " + e.getMessage()));
                        return;
                    }
                    off += used;
                    if (framer.complete()) {
                        c.lastProgress = System.nanoTime();
                        send(c, handle(framer.take()));
                    }
                }
            }
        } catch (IOException e) {
            // the client went away, or the idle reaper closed it
        } finally {
            conns.remove(c);
            closeQuietly(c.ch);
        }
    }

    private void send(Conn c, String msg) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(msg.getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) {
            if (c.ch.write(out) > 0) c.lastProgress = System.nanoTime();
        }
    }

    /** One request's reply (never throws: whatever goes wrong becomes the error text). */
    String handle(String text) {
        Object id = null;
        try {
            if (!(Json.parse(text) instanceof Map<?, ?> m))
                    throw new CommandException("a request must be a JSON object");
            id = m.get("id");
            if (!m.containsKey("id") || id == null)
                    throw new CommandException("a request needs an \"id\" (notifications are not supported)");
            if (!(m.get("method") instanceof String method)) throw new CommandException("\"method\" must be a string");
            if (!(m.get("params") instanceof List<?> params)) throw new CommandException("\"params\" must be an array");
            for (Object k : m.keySet()) {
                if (!List.of("id", "method", "params").contains(k))
                        throw new CommandException("unexpected member \"" + k + "\" in a request");
            }
            List<String> args = new ArrayList<>(params.size());
            for (Object p : params) {
                if (!(p instanceof String s)) throw new CommandException("\"params\" must be strings");
                args.add(s);
            }
            Command cmd = commands.get(method);
            if (cmd == null) throw new CommandException("\"" + method
                    + "\" is not a valid command (use list-commands to see the commands)");
            if (args.size() < cmd.minArgs() || args.size() > cmd.maxArgs()) {
                String want = cmd.minArgs() == cmd.maxArgs() ? "exactly " + cmd.minArgs()
                        : cmd.maxArgs() == Integer.MAX_VALUE ? "at least " + cmd.minArgs()
                        : cmd.minArgs() + " to " + cmd.maxArgs();
                throw new CommandException("\"" + method + "\" command takes " + want + " arguments (usage: " + method
                        + " " + cmd.usage() + ")");
            }
            String result;
            log.log(CliLog.Level.DEBUG, "control", method + (args.isEmpty() ? "" : " " + String.join(" ", args)));
            synchronized (commandLock) {
                result = cmd.handler().run(args);
            }
            if (result.length() > MAX_REPLY)
                    throw new CommandException("reply longer than " + MAX_REPLY + " characters");
            return reply(id, result, null);
        } catch (CommandException | IllegalArgumentException | IllegalStateException e) {
            return reply(id, null, e.getMessage());
        } catch (Exception | LinkageError e) {
            return reply(id, null, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static String reply(Object id, String result, String error) {
        Map<String, Object> r = new java.util.LinkedHashMap<>();
        r.put("id", id);
        r.put("result", result);
        r.put("error", error == null ? null : error.endsWith("\n") ? error : error + "\n");
        return Json.write(r);
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** Stops listening, closes every connection and removes the socket file. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        closeQuietly(server);
        for (Conn c : conns) closeQuietly(c.ch);
        reaper.interrupt();
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            log.log(CliLog.Level.WARN, "control", "cannot remove " + path + ": " + e.getMessage());
        }
    }
}
