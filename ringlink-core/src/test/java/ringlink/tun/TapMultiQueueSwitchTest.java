package ringlink.tun;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.LinkDevice;
import ringlink.link.Links;
import ringlink.sw.PortStats;
import ringlink.sw.QueueStats;
import ringlink.sw.Switch;
import ringlink.testing.Env;

/**
 * Two TAP devices of four queues each ({@code tap:NAME?queues=4}), each a switch port, in two
 * namespaces: iperf3 with 8 parallel streams crosses; the kernel spreads the streams over the
 * queues it transmits on, and the switch polls all of them and steers each flow to one queue.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TapMultiQueueSwitchTest {
    static final String NS_A = "rltm-nsa", NS_B = "rltm-nsb";
    static final String IF_A = "rltm-a0", IF_B = "rltm-b0";

    @Test
    void iperfWithEightStreamsOverFourQueuesEachWay() throws Exception {
        Env.requireTun();
        Env.requireNetns();
        Env.requireProgram("iperf3", "iperf3");
        Env.requireProgram("ping", "iputils-ping");
        Netns a = null, b = null;
        Switch sw = null;
        LinkDevice da = null, db = null;
        try {
            a = Netns.create(NS_A);
            b = Netns.create(NS_B);
            da = Links.openDevice("tap:" + IF_A + "?queues=4&up=false");
            db = Links.openDevice("tap:" + IF_B + "?queues=4&up=false");
            assertEquals(4, da.queueCount());
            assertEquals("tap:" + IF_A, da.name());
            a.adopt(IF_A, "10.77.9.1/24", "fd77:9::1/64");
            b.adopt(IF_B, "10.77.9.2/24", "fd77:9::2/64");
            sw = Switch.builder().threads(2).port(da).port(db).build();
            LinkDevice ownedA = da, ownedB = db;
            da = db = null; // the switch owns them now
            sw.start();
            assertEquals(2, sw.pollerCount());
            assertSame(ownedA.queue(0), sw.port(0));
            a.exec(20, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.9.2");
            Iperf.Result tcp = Iperf.run(a, b, "10.77.9.2", 3, "-P", "8");
            Iperf.Result rev = Iperf.run(a, b, "10.77.9.2", 3, "-P", "8", "-R");
            var stats = sw.stats();
            StringBuilder sb = new StringBuilder();
            for (PortStats p : stats.ports()) {
                sb.append(p.name());
                for (QueueStats q : p.queues()) {
                    sb.append(String.format(" q%d rx %d tx %d", q.queue(), q.forwarded().rxPackets(),
                            q.forwarded().txPackets()));
                }
                sb.append('\n');
            }
            System.out.printf("tap 4 queues, 8 streams: %.2f Gbit/s, reverse %.2f Gbit/s%n%s", tcp.gbps(), rev.gbps(),
                    sb);
            assertTrue(tcp.bitsPerSecond() > 0 && rev.bitsPerSecond() > 0);
            for (PortStats p : stats.ports()) {
                assertEquals(4, p.queues().size(), p.name());
                int rxQueues = 0, txQueues = 0;
                long rx = 0;
                for (QueueStats q : p.queues()) {
                    if (q.forwarded().rxPackets() > 0) rxQueues++;
                    if (q.forwarded().txPackets() > 0) txQueues++;
                    rx += q.forwarded().rxPackets();
                }
                assertEquals(p.forwarded().rxPackets(), rx, "per-queue rx adds up: " + sb);
                // Eight streams (plus their ACKs) each way over four queues: more than one queue
                // carries them in both directions (one would mean no spreading at all).
                assertTrue(rxQueues >= 2,
                        p.name() + ": the kernel spread the streams over " + rxQueues + " queues\n" + sb);
                assertTrue(txQueues >= 2,
                        p.name() + ": the switch steered the flows into " + txQueues + " queues\n" + sb);
            }
        } finally {
            if (sw != null) sw.close();
            if (da != null) da.close();
            if (db != null) db.close();
            if (a != null) a.close();
            if (b != null) b.close();
        }
    }
}
