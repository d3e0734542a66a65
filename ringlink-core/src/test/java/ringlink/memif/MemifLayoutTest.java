package ringlink.memif;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.sys.UnixSocket;
import ringlink.vhostuser.Testpmd;

/**
 * The {@code *Layout} classes checked byte for byte against DPDK on the wire (no Debian package
 * ships {@code memif.h}, so there is no gcc probe): a raw socket reads testpmd's own HELLO (as
 * server) and its whole client set-up (INIT, ADD_REGION, ADD_RING ×2, CONNECT), and the ring and
 * descriptor fields are read in the memory it creates, each at our offsets, against values we
 * chose in its devargs (id, secret, ring size, buffer size) or can derive (file size, ring
 * placement).
 */
class MemifLayoutTest {
    @TempDir Path tmp;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void testpmdServerHello() throws Exception {
        MemifDpdkTest.requireTestpmd();
        Path sock = tmp.resolve("rlmif-l1.sock");
        try (Testpmd pmd = Testpmd.start("rlmifl1", "net_memif0,role=server,socket=" + sock + ",socket-abstract=no",
                30_000, "--forward-mode=rxonly");
             Arena a = Arena.ofConfined()) {
            long end = System.currentTimeMillis() + 10_000;
            while (!Files.exists(sock) && System.currentTimeMillis() < end) Thread.sleep(20);
            try (UnixSocket s = UnixSocket.connect(sock, UnixSocket.SOCK_SEQPACKET)) {
                MemorySegment m = a.allocate(256);
                long n = recv(s, m, null);
                assertEquals(MemifMsgLayout.SIZE, n);
                assertEquals(MemifMsgLayout.MEMIF_MSG_TYPE_HELLO, u16(m, MemifMsgLayout.OFF_TYPE));
                long b = MemifMsgLayout.OFF_BODY;
                assertTrue(str(m, b + MemifMsgHelloLayout.OFF_NAME, 32).startsWith("DPDK"), str(m, b, 32));
                assertEquals(MemifMsgLayout.MEMIF_VERSION, u16(m, b + MemifMsgHelloLayout.OFF_MIN_VERSION));
                assertEquals(MemifMsgLayout.MEMIF_VERSION, u16(m, b + MemifMsgHelloLayout.OFF_MAX_VERSION));
                assertEquals(MemifConfig.MAX_LOG2_RING_SIZE,
                        m.get(ValueLayout.JAVA_BYTE, b + MemifMsgHelloLayout.OFF_MAX_LOG2_RING_SIZE));
                // testpmd has one queue pair; DPDK advertises its pair limit in both ring fields.
                assertEquals(u16(m, b + MemifMsgHelloLayout.OFF_MAX_M2S_RING),
                        u16(m, b + MemifMsgHelloLayout.OFF_MAX_S2M_RING));
                // Nothing past the hello body: the layout's size is where the bytes end.
                for (long i = b + MemifMsgHelloLayout.SIZE; i < MemifMsgLayout.SIZE; i++)
                        assertEquals(0, m.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
            }
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void testpmdClientSetUp() throws Exception {
        MemifDpdkTest.requireTestpmd();
        Path sock = tmp.resolve("rlmif-l2.sock");
        int id = 0x01020304, log2 = 9, bsize = 1536;
        try (UnixSocket l = UnixSocket.listen(sock, UnixSocket.SOCK_SEQPACKET, 1);
             Testpmd pmd = Testpmd.start("rlmifl2",
                     "net_memif0,role=client,id=" + id + ",secret=abc,rsize=" + log2 + ",bsize=" + bsize
                     + ",socket=" + sock + ",socket-abstract=no", 30_000, "--forward-mode=rxonly");
             Arena a = Arena.ofConfined()) {
            UnixSocket s = l.accept(20_000);
            assertNotNull(s, "testpmd did not connect");
            try (s) {
                MemorySegment m = a.allocate(256);
                long b = MemifMsgLayout.OFF_BODY;
                m.fill((byte) 0);
                m.set(ValueLayout.JAVA_SHORT, MemifMsgLayout.OFF_TYPE, (short) MemifMsgLayout.MEMIF_MSG_TYPE_HELLO);
                m.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MIN_VERSION,
                        (short) MemifMsgLayout.MEMIF_VERSION);
                m.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_VERSION,
                        (short) MemifMsgLayout.MEMIF_VERSION);
                m.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_REGION, (short) 3);
                m.set(ValueLayout.JAVA_BYTE, b + MemifMsgHelloLayout.OFF_MAX_LOG2_RING_SIZE, (byte) 14);
                s.send(m, MemifMsgLayout.SIZE);

                assertEquals(MemifMsgLayout.SIZE, recv(s, m, null));
                assertEquals(MemifMsgLayout.MEMIF_MSG_TYPE_INIT, u16(m, MemifMsgLayout.OFF_TYPE));
                assertEquals(MemifMsgLayout.MEMIF_VERSION, u16(m, b + MemifMsgInitLayout.OFF_VERSION));
                assertEquals(id, m.get(ValueLayout.JAVA_INT_UNALIGNED, b + MemifMsgInitLayout.OFF_ID));
                assertEquals(MemifMsgLayout.MEMIF_INTERFACE_MODE_ETHERNET,
                        m.get(ValueLayout.JAVA_BYTE, b + MemifMsgInitLayout.OFF_MODE));
                assertEquals("abc", str(m, b + MemifMsgInitLayout.OFF_SECRET, MemifMsgInitLayout.SECRET_SIZE));
                assertTrue(str(m, b + MemifMsgInitLayout.OFF_NAME, 32).startsWith("DPDK"),
                        str(m, b + MemifMsgInitLayout.OFF_NAME, 32));
                ack(s, m);

                Fd[] fd = new Fd[1];
                assertEquals(MemifMsgLayout.SIZE, recv(s, m, fd));
                assertEquals(MemifMsgLayout.MEMIF_MSG_TYPE_ADD_REGION, u16(m, MemifMsgLayout.OFF_TYPE));
                assertEquals(0, u16(m, b + MemifMsgAddRegionLayout.OFF_INDEX));
                long size = m.get(ValueLayout.JAVA_LONG_UNALIGNED, b + MemifMsgAddRegionLayout.OFF_SIZE);
                assertNotNull(fd[0], "ADD_REGION without its fd");
                assertEquals(fd[0].size(), size, "region size vs the memfd's size");
                // DPDK's region: two rings (S2M, M2S) of 2^log2 descriptors, then one buffer per slot.
                long ringBytes = MemifRingLayout.ringBytes(log2);
                assertEquals(2 * ringBytes + 2L * (1 << log2) * bsize, size);
                ack(s, m);

                try (Mapping map =
                        Mapping.map(fd[0], size, Mapping.PROT_READ, Mapping.MAP_SHARED, 0, "testpmd region")) {
                    fd[0].close();
                    MemorySegment r = map.segment();
                    for (int dir = 0; dir < 2; dir++) {
                        Fd[] ev = new Fd[1];
                        assertEquals(MemifMsgLayout.SIZE, recv(s, m, ev));
                        assertEquals(MemifMsgLayout.MEMIF_MSG_TYPE_ADD_RING, u16(m, MemifMsgLayout.OFF_TYPE));
                        assertEquals(dir == 0 ? MemifMsgAddRingLayout.MEMIF_MSG_ADD_RING_FLAG_S2M : 0,
                                u16(m, b + MemifMsgAddRingLayout.OFF_FLAGS));
                        assertEquals(0, u16(m, b + MemifMsgAddRingLayout.OFF_INDEX));
                        assertEquals(0, u16(m, b + MemifMsgAddRingLayout.OFF_REGION));
                        long off = m.get(ValueLayout.JAVA_INT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_OFFSET)
                                & 0xffffffffL;
                        assertEquals(dir * ringBytes, off);
                        assertEquals(log2, m.get(ValueLayout.JAVA_BYTE, b + MemifMsgAddRingLayout.OFF_LOG2_RING_SIZE));
                        assertEquals(0, u16(m, b + MemifMsgAddRingLayout.OFF_PRIVATE_HDR_SIZE));
                        assertNotNull(ev[0]);
                        assertEquals("anon_inode:[eventfd]", ev[0].target());
                        ev[0].close();
                        // The ring DPDK initialised: cookie, head and tail 0, descriptor j of ring
                        // dir pointing at buffer (dir * slots + j) after the rings, length bsize.
                        assertEquals(MemifMsgLayout.MEMIF_COOKIE,
                                r.get(ValueLayout.JAVA_INT, off + MemifRingLayout.OFF_COOKIE));
                        assertEquals(0, u16(r, off + MemifRingLayout.OFF_HEAD));
                        assertEquals(0, u16(r, off + MemifRingLayout.OFF_TAIL));
                        for (int j : new int[] {0, 1, (1 << log2) - 1}) {
                            long d = off + MemifRingLayout.OFF_DESC + j * MemifDescLayout.SIZE;
                            assertEquals(0, u16(r, d + MemifDescLayout.OFF_REGION));
                            assertEquals(bsize, r.get(ValueLayout.JAVA_INT, d + MemifDescLayout.OFF_LENGTH));
                            assertEquals(2 * ringBytes + ((long) dir * (1 << log2) + j) * bsize,
                                    r.get(ValueLayout.JAVA_INT, d + MemifDescLayout.OFF_OFFSET) & 0xffffffffL);
                        }
                        ack(s, m);
                    }
                    assertEquals(MemifMsgLayout.SIZE, recv(s, m, null));
                    assertEquals(MemifMsgLayout.MEMIF_MSG_TYPE_CONNECT, u16(m, MemifMsgLayout.OFF_TYPE));
                    assertEquals("net_memif0", str(m, b + MemifMsgConnectLayout.OFF_IF_NAME, 32));
                    // Refuse politely: DISCONNECT's reason lands in testpmd's log at our offset.
                    m.fill((byte) 0);
                    m.set(ValueLayout.JAVA_SHORT, MemifMsgLayout.OFF_TYPE,
                            (short) MemifMsgLayout.MEMIF_MSG_TYPE_DISCONNECT);
                    byte[] why = "rl-layout-check".getBytes(StandardCharsets.UTF_8);
                    MemorySegment.copy(why, 0, m, ValueLayout.JAVA_BYTE, b + MemifMsgDisconnectLayout.OFF_STRING,
                            why.length);
                    s.send(m, MemifMsgLayout.SIZE);
                }
            }
        }
    }

    static void ack(UnixSocket s, MemorySegment m) throws Exception {
        m.fill((byte) 0);
        m.set(ValueLayout.JAVA_SHORT, MemifMsgLayout.OFF_TYPE, (short) MemifMsgLayout.MEMIF_MSG_TYPE_ACK);
        s.send(m, MemifMsgLayout.SIZE);
    }

    static long recv(UnixSocket s, MemorySegment m, Fd[] fd) throws Exception {
        assertTrue(PollSet.pollOne(s.fd(), PollfdLayout.POLLIN, 20_000) > 0, "no message from testpmd");
        m.fill((byte) 0);
        UnixSocket.Received r = s.receive(m, m.byteSize(), 1);
        if (fd != null) fd[0] = r.fds().length > 0 ? r.fds()[0] : null;
        else for (Fd f : r.fds()) f.close();
        return r.bytes();
    }

    static int u16(MemorySegment m, long off) {
        return m.get(ValueLayout.JAVA_SHORT_UNALIGNED, off) & 0xffff;
    }

    static String str(MemorySegment m, long off, int max) {
        int n = 0;
        while (n < max && m.get(ValueLayout.JAVA_BYTE, off + n) != 0) n++;
        byte[] b = new byte[n];
        MemorySegment.copy(m, ValueLayout.JAVA_BYTE, off, b, 0, n);
        return new String(b, StandardCharsets.UTF_8);
    }
}
