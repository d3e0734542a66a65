package ringlink.xdp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import ringlink.testing.Env;

/** Creates and removes the netns/veth fixtures of the XDP tests (names start with "rlxd"). */
final class Netns {
    private Netns() {}

    static String sh(String cmd) {
        return Env.run(60, "sh", "-c", cmd);
    }

    static int shQuiet(String cmd) {
        return Env.runQuiet(60, "sh", "-c", cmd);
    }

    /** Runs {@code cmd} inside namespace {@code ns}. */
    static String in(String ns, String cmd) {
        return Env.run(60, "ip", "netns", "exec", ns, "sh", "-c", cmd);
    }

    /**
     * A veth pair: {@code host} stays in this namespace (where the XSK lives), {@code peer} moves
     * into namespace {@code ns} with address {@code peerIp}/24. Both up; GRO on the peer so it
     * accepts frames redirected into it by XDP (veth drops those without an XDP program or GRO).
     */
    static void veth(String ns, String host, String peer, String hostIp, String peerIp, int queues) {
        removeVeth(host);
        if (shQuiet("ip netns list | grep -qw " + ns) != 0) sh("ip netns add " + ns);
        sh("ip link add " + host + " numrxqueues " + queues + " numtxqueues " + queues + " type veth peer name " + peer
                + " numrxqueues " + queues + " numtxqueues " + queues);
        sh("ip link set " + peer + " netns " + ns);
        if (hostIp != null) sh("ip addr add " + hostIp + "/24 dev " + host);
        sh("ip link set " + host + " up");
        in(ns, "ip link set lo up; ip addr add " + peerIp + "/24 dev " + peer + "; ip link set " + peer + " up");
        // GRO on the namespace side lets veth accept XDP-redirected frames. TSO/GSO and checksum
        // offload off: an XSK carries neither superpackets nor "checksum still to do" metadata, so
        // the stack must hand it finished, frame-sized packets.
        in(ns, "ethtool -K " + peer + " gro on tso off gso off tx off >/dev/null 2>&1 || true");
        shQuiet("ethtool -K " + host + " gro on tso off gso off tx off");
    }

    static String mac(String ns, String dev) {
        String cmd = "cat /sys/class/net/" + dev + "/address";
        return (ns == null ? sh(cmd) : in(ns, cmd)).trim();
    }

    static long stat(String ns, String dev, String counter) {
        String cmd = "cat /sys/class/net/" + dev + "/statistics/" + counter;
        return Long.parseLong((ns == null ? sh(cmd) : in(ns, cmd)).trim());
    }

    static void removeVeth(String host) {
        if (Files.exists(Path.of("/sys/class/net", host))) shQuiet("ip link del " + host);
    }

    static void removeNs(String... names) {
        for (String n : names) shQuiet("ip netns del " + n);
    }

    /** Parses "aa:bb:cc:dd:ee:ff". */
    static byte[] macBytes(String mac) {
        String[] p = mac.split(":");
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) b[i] = (byte) Integer.parseInt(p[i], 16);
        return b;
    }

    /** The XDP programs attached to {@code dev} as `ip link` reports them ("" if none). */
    static String xdpOf(String dev) {
        String out = sh("ip -d link show dev " + dev);
        List<String> l = new ArrayList<>();
        for (String line : out.split("\n")) if (line.contains("xdp")) l.add(line.trim());
        return String.join("\n", l);
    }
}
