package ringlink.tun;

import java.util.ArrayList;
import java.util.List;
import ringlink.testing.Env;

/** A network namespace for a test, created with `ip netns add` and removed by {@link #close()}. */
final class Netns implements AutoCloseable {
    final String name;

    private Netns(String name) {
        this.name = name;
    }

    /** Creates {@code name}, removing a leftover of the same name first (a crashed earlier run). */
    static Netns create(String name) {
        Env.runQuiet(10, "ip", "netns", "del", name);
        Env.run(10, "ip", "netns", "add", name);
        Netns n = new Netns(name);
        n.ip("link", "set", "lo", "up");
        return n;
    }

    /** {@code ip -n NAME args...}; fails the test on error. */
    String ip(String... args) {
        List<String> c = new ArrayList<>(List.of("ip", "-n", name));
        c.addAll(List.of(args));
        return Env.run(15, c.toArray(String[]::new));
    }

    /** Runs a command inside the namespace; fails the test on error. */
    String exec(long timeoutSeconds, String... cmd) {
        return Env.run(timeoutSeconds, prefixed(cmd));
    }

    String[] prefixed(String... cmd) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", name));
        c.addAll(List.of(cmd));
        return c.toArray(String[]::new);
    }

    /** Moves a host interface into this namespace and configures it: addresses, up. */
    void adopt(String ifname, String v4cidr, String v6cidr) {
        Env.run(10, "ip", "link", "set", ifname, "netns", name);
        ip("addr", "add", v4cidr, "dev", ifname);
        ip("addr", "add", v6cidr, "dev", ifname, "nodad");
        ip("link", "set", ifname, "up");
    }

    @Override
    public void close() {
        Env.runQuiet(10, "ip", "netns", "del", name);
    }
}
