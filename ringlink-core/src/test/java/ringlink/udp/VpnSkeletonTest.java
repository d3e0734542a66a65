package ringlink.udp;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.testing.Env;
import ringlink.tun.LinkRelay;

/**
 * The TUN ↔ UDP VPN skeleton of docs/parts/udp.md, run: two TUN devices (moved into namespaces
 * {@code rluvpa}/{@code rluvpb}), each relayed to a udp link, the two udp links talking over
 * loopback. Ping and a short iperf3 from one namespace to the other go TUN → UDP datagram → TUN.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class VpnSkeletonTest {
    static final String NS_A = "rluvpa", NS_B = "rluvpb", TUN_A = "rluvpa0", TUN_B = "rluvpb0";

    @Test
    void pingAndIperfThroughTunUdpTun() throws Exception {
        Env.requireNetns();
        Env.requireTun();
        Env.requireProgram("ping", "iputils-ping");
        Env.requireProgram("iperf3", "iperf3");
        cleanup();
        Env.run(10, "ip", "netns", "add", NS_A);
        Env.run(10, "ip", "netns", "add", NS_B);
        try (UdpLink ua = (UdpLink) Links.open("udp:127.0.0.1:0?accept=any&rcvbuf=4194304");
             UdpLink ub = (UdpLink) Links.open("udp:127.0.0.1:0?remote=127.0.0.1:" + ua.localAddress().getPort()
                     + "&rcvbuf=4194304");
             Link ta = Links.open("tun:" + TUN_A + "?offload=none");
             Link tb = Links.open("tun:" + TUN_B + "?offload=none")) {
            // ua learns ub as its peer 0 from the first datagram (accept=any); ub has ua as remote 0
            adopt(NS_A, TUN_A, "10.83.0.1/24");
            adopt(NS_B, TUN_B, "10.83.0.2/24");
            try (LinkRelay r1 = LinkRelay.start(tb, ub); LinkRelay r2 = LinkRelay.start(ub, tb);
                 LinkRelay r3 = LinkRelay.start(ta, ua); LinkRelay r4 = LinkRelay.start(ua, ta)) {
                // B speaks first so that A learns where B is
                String p = Env.run(30, "ip", "netns", "exec", NS_B, "ping", "-c", "3", "-i", "0.2", "-W", "3",
                        "10.83.0.1");
                assertTrue(p.contains(" 0% packet loss"), p);
                p = Env.run(30, "ip", "netns", "exec", NS_A, "ping", "-c", "3", "-i", "0.2", "-W", "3", "10.83.0.2");
                assertTrue(p.contains(" 0% packet loss"), p);
                Process s = new ProcessBuilder("ip", "netns", "exec", NS_A, "iperf3", "-s", "-1", "-B", "10.83.0.1")
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                try {
                    Thread.sleep(500);
                    String r = Env.run(60, "ip", "netns", "exec", NS_B, "iperf3", "-c", "10.83.0.1", "-t", "2",
                            "--connect-timeout", "5000");
                    assertTrue(r.contains("receiver"), r);
                    System.out.println("VPN skeleton iperf3: "
                            + r.lines().filter(l -> l.contains("receiver")).findFirst().orElse(""));
                } finally {
                    s.destroyForcibly();
                }
                assertTrue(ua.peers().size() == 1, "A learned B's endpoint");
            }
        } finally {
            cleanup();
        }
    }

    static void adopt(String ns, String ifname, String cidr) {
        Env.run(10, "ip", "link", "set", ifname, "netns", ns);
        Env.run(10, "ip", "-n", ns, "addr", "add", cidr, "dev", ifname);
        Env.run(10, "ip", "-n", ns, "link", "set", ifname, "up");
        Env.run(10, "ip", "-n", ns, "link", "set", "lo", "up");
    }

    static void cleanup() {
        Env.runQuiet(10, "ip", "netns", "del", NS_A);
        Env.runQuiet(10, "ip", "netns", "del", NS_B);
    }
}
