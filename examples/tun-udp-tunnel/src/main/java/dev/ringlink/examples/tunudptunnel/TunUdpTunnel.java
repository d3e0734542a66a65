package dev.ringlink.examples.tunudptunnel;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import ringlink.link.IdleStrategy;
import ringlink.link.Link;
import ringlink.link.LinkLoop;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;

/**
 * The skeleton of a VPN: IP packets from a TUN device travel as UDP datagrams to the other end,
 * and datagrams from there come out of the TUN device. One {@link LinkLoop} thread serves both
 * links. Encryption and authentication are what a real VPN adds in {@link #toPeer} and
 * {@link #fromPeer} (in place in the batch, or into a second batch): here packets go as they are.
 *
 * <pre>
 * # end A (listens, learns its peer from the first datagram):
 * sudo java ... TunUdpTunnel rlvpn0 10.83.0.1/24 'udp:0.0.0.0:4789?accept=any'
 * # end B (knows A):
 * sudo java ... TunUdpTunnel rlvpn0 10.83.0.2/24 'udp:0.0.0.0:4789?remote=A_ADDRESS:4789'
 * </pre>
 */
public final class TunUdpTunnel {
    private TunUdpTunnel() {}

    /** TUN → UDP: each IP packet becomes one datagram to the peer (peer 0 of the udp link). */
    static void toPeer(PacketBatch batch, Link udp) throws IOException {
        send(batch, udp);
    }

    /** UDP → TUN: each datagram's payload is one IP packet. */
    static void fromPeer(PacketBatch batch, Link tun) throws IOException {
        send(batch, tun);
    }

    private static void send(PacketBatch batch, Link out) throws IOException {
        int n = batch.count(), sent = out.transmit(batch);
        if (sent < n) out.counters().txDropped(n - sent); // a full socket buffer: drop, as IP would
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: TunUdpTunnel TUN-NAME ADDR/PREFIX UDP-SPEC");
            System.exit(2);
        }
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(done::countDown));
        // offload=none: a datagram carries one plain IP packet (no superpackets across the tunnel)
        try (Link tun = Links.open("tun:" + args[0] + "?offload=none&addr=" + args[1]);
             Link udp = Links.open(args[2]);
             LinkLoop loop = LinkLoop.builder().name("tun-udp")
                     .idleStrategy(IdleStrategy.spinThenSleep(Duration.ofNanos(30_000)))
                     .build()) {
            loop.register(tun, (from, batch) -> toPeer(batch, udp));
            loop.register(udp, (from, batch) -> fromPeer(batch, tun));
            System.out.println("tunnel " + tun.name() + " <-> " + udp.name() + " (Ctrl-C stops)");
            while (!done.await(5, TimeUnit.SECONDS)) {
                System.out.println("tun " + tun.counters().snapshot() + " | udp " + udp.counters().snapshot());
            }
        }
    }
}
