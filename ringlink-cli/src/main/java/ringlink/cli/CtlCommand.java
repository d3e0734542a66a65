package ringlink.cli;

import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import ringlink.cli.support.Json;

/** {@code ringlink ctl}: sends one command to a running switch's control socket, like {@code ovs-appctl}. */
@Command(name = "ctl", mixinStandardHelpOptions = true,
        description = {"Sends a command to a running 'ringlink switch --control' and prints the reply.",
            "",
            "The socket speaks Open vSwitch's unixctl protocol, so 'ovs-appctl -t PATH COMMAND' works as well.",
            "Exit status: 0 on success, 2 if the switch answered with an error, 1 if it could not be reached."},
        footer = {"", "Examples:",
            "  ringlink ctl list-commands",
            "  ringlink ctl port/add 'vhost-user:/run/vm1.sock?queues=2'   # QEMU connects; every queue pair served",
            "  ringlink ctl port/set tap:rl0 mac-limit=16",
            "  ringlink ctl -t /run/ringlink/sw1.ctl fdb/show",
            "  ringlink ctl port/show --json tap:rl0",
            "  ringlink ctl tunnel/show 'vxlan:10.0.0.1'                     # remote FDB: MAC -> remote, "
                    + "static/learned, age",
            "  ringlink ctl stats/show --json"})
final class CtlCommand implements Callable<Integer> {
    @Option(names = {"-t", "--target"}, paramLabel = "PATH",
            description = "The control socket (default: " + ControlServer.DEFAULT_PATH + ").")
    Path target = Path.of(ControlServer.DEFAULT_PATH);

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "Give up after this long (default: 30).")
    int timeout = 30;

    @Parameters(index = "0", paramLabel = "COMMAND", description = "The command (list-commands shows them).")
    String command;

    @Parameters(index = "1..*", paramLabel = "ARG", description = "Its arguments.")
    List<String> args = new ArrayList<>();

    PrintStream out = System.out;
    PrintStream err = System.err;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("method", command);
        req.put("params", args);
        req.put("id", 0);
        Map<?, ?> reply;
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(target))) {
            Thread watchdog = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(timeout * 1000L);
                    ch.close(); // unblocks the read below
                } catch (InterruptedException | java.io.IOException ignored) {
                    // done in time
                }
            });
            try {
                ByteBuffer o = ByteBuffer.wrap(Json.write(req).getBytes(StandardCharsets.UTF_8));
                while (o.hasRemaining()) ch.write(o);
                reply = read(ch);
            } catch (java.nio.channels.AsynchronousCloseException e) {
                err.println("ringlink ctl: " + target + ": no reply within " + timeout + " s");
                return 1;
            } finally {
                watchdog.interrupt();
            }
        } catch (java.net.SocketException | java.nio.file.NoSuchFileException e) {
            err.println("ringlink ctl: cannot connect to " + target + ": " + e.getMessage()
                    + " (is 'ringlink switch --control " + target + "' running, and are you allowed to use it?)");
            return 1;
        }
        if (reply == null) {
            err.println("ringlink ctl: " + target + " closed the connection without a reply");
            return 1;
        }
        Object error = reply.get("error");
        if (error != null) {
            err.print(error instanceof String s ? s : Json.write(error) + "\n");
            err.println("ringlink ctl: " + target + ": server returned an error");
            return 2;
        }
        Object result = reply.get("result");
        out.print(result instanceof String s ? s : Json.write(result) + "\n");
        out.flush();
        return 0;
    }

    /** Reads one reply (a JSON object); null on end of stream first. */
    static Map<?, ?> read(SocketChannel ch) throws java.io.IOException {
        Json.Framer f = new Json.Framer(ControlServer.MAX_REPLY + 4096);
        byte[] buf = new byte[8192];
        while (true) {
            ByteBuffer bb = ByteBuffer.wrap(buf);
            int n = ch.read(bb);
            if (n < 0) return null;
            int off = 0;
            while (off < n) {
                off += f.feed(buf, off, n - off);
                if (f.complete()) {
                    if (Json.parse(f.take()) instanceof Map<?, ?> m) return m;
                    throw new java.io.IOException("the reply is not a JSON object");
                }
            }
        }
    }
}
