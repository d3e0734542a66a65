package ringlink.cli.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** The bench's reader of the kernel's per-socket UDP drop counters. */
class ProcNetUdpTest {
    /** Rows as Linux 6.1 prints them (IPv4 and IPv6), two sockets on port 4789 (0x12B5). */
    static final String TEXT = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref \
            pointer drops
             12: 0100007F:12B5 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41243 2 \
            0000000000000000 17
             40: 0100007F:BAFF 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41244 2 \
            0000000000000000 5
              sl  local_address                         remote_address                        st tx_queue rx_queue tr \
            tm->when retrnsmt   uid  timeout inode ref pointer drops
              7: 00000000000000000000000000000000:12B5 00000000000000000000000000000000:0000 07 00000000:00000000 \
            00:00000000 00000000     0        0 41245 2 0000000000000000 3
            """;

    @Test
    void sumsTheDropsOfThePortsSocketsOverBothFamilies() {
        assertEquals(20, ProcNetUdp.parse(TEXT, 4789));
        assertEquals(5, ProcNetUdp.parse(TEXT, 0xBAFF));
        assertEquals(0, ProcNetUdp.parse(TEXT, 1), "no socket on the port");
        assertEquals(0, ProcNetUdp.parse("garbage\n\n", 4789));
    }

    @Test
    void readsThisNamespacesTable() throws Exception {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            assertEquals(0, ProcNetUdp.drops(null, s.getLocalPort()), "a fresh socket has dropped nothing");
        }
        assertTrue(ProcNetUdp.drops(null, 1) >= 0);
    }
}
