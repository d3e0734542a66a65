package ringlink.udp;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Parsing of the {@code ADDR:PORT} forms in specs: {@code 10.0.0.1:4789}, {@code [fd00::1]:4789}, {@code ::1} (port
 * default).
 */
public final class UdpAddress {
    private UdpAddress() {}

    /**
     * Parses {@code s} as an address with an optional port ({@code defaultPort} when absent; −1
     * means the port is required). IPv6 addresses with a port are written in brackets.
     */
    public static InetSocketAddress parse(String s, int defaultPort, String what) {
        String t = s.trim();
        String host;
        String port = null;
        if (t.startsWith("[")) {
            int close = t.indexOf(']');
            if (close < 0) throw new IllegalArgumentException(what + " '" + s + "': missing ']'");
            host = t.substring(1, close);
            String rest = t.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":"))
                        throw new IllegalArgumentException(what + " '" + s + "': expected :PORT after ']'");
                port = rest.substring(1);
            }
        } else if (t.indexOf(':') != t.lastIndexOf(':')) {
            host = t; // bare IPv6 address: no port
        } else {
            int c = t.indexOf(':');
            host = c < 0 ? t : t.substring(0, c);
            port = c < 0 ? null : t.substring(c + 1);
        }
        if (host.isEmpty()) throw new IllegalArgumentException(what + " '" + s + "': empty address");
        int p;
        if (port == null) {
            if (defaultPort < 0) throw new IllegalArgumentException(what + " '" + s
                    + "': missing :PORT (e.g. 10.0.0.1:4789 or [fd00::1]:4789)");
            p = defaultPort;
        } else {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (p < 0 || p > 65535)
                    throw new IllegalArgumentException(what + " '" + s + "': port '" + port + "' not in [0, 65535]");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), p);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(what + " '" + s + "': unknown host '" + host + "'");
        }
    }

    /** A comma-separated list of {@link #parse} forms. */
    public static List<InetSocketAddress> parseList(String s, int defaultPort, String what) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (String part : s.split(",")) {
            if (!part.isBlank()) out.add(parse(part, defaultPort, what));
        }
        return out;
    }
}
