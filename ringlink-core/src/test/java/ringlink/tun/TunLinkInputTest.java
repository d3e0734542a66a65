package ringlink.tun;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.LinkClosedException;
import ringlink.link.LinkStats;
import ringlink.link.Offloads;
import ringlink.packet.Checksum;
import ringlink.packet.Framing;
import ringlink.packet.Gso;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.Errno;
import ringlink.sys.Fd;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.sys.SysException;
import ringlink.sys.UnixSocket;

/**
 * The TUN link's packet handling against hostile or odd input, without a kernel device: the
 * link runs over one end of a SOCK_SEQPACKET socket pair, which has the same one-message-per-
 * readv semantics as a TUN queue, and the test plays the kernel on the other end.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TunLinkInputTest {
    static final Offloads TSO = Offloads.of(Offloads.CSUM | Offloads.TSO4 | Offloads.TSO6 | Offloads.USO);
    UnixSocket[] sp;
    TunLink link;
    final PacketBatch batch = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
    final Arena arena = Arena.ofShared();
    final MemorySegment buf = arena.allocate(200_000);

    @BeforeEach
    void setUp() throws Exception {
        open(TSO, true);
    }

    private void open(Offloads o, boolean gro) throws Exception {
        open(o, gro, true);
    }

    private void open(Offloads o, boolean gro, boolean dataValid) throws Exception {
        if (link != null) link.close();
        if (sp != null) sp[1].close();
        sp = UnixSocket.pair(UnixSocket.SOCK_SEQPACKET);
        sp[0].fd().setNonBlocking(true);
        link = new FaultyTunLink(sp[0].fd(), o, dataValid, gro);
    }

    /** Chooses writes for the "kernel" to refuse: an errno for this write, or 0 to let it through. */
    interface WriteFault {
        int before(int gsoType, boolean coalesced);
    }

    /** The link with the test's seam: a refused write fails like the kernel's writev would. */
    static final class FaultyTunLink extends TunLink {
        WriteFault writeFault;

        FaultyTunLink(Fd fd, Offloads o, boolean dataValid, boolean gro) throws IOException {
            super("test", "none", fd, Layer.L3, 1500, o, VirtioNetHdr.SIZE, dataValid, gro, false);
        }

        @Override
        long writev(MemorySegment iov, int n, int gsoType, boolean coalesced) throws IOException {
            int e = writeFault == null ? 0 : writeFault.before(gsoType, coalesced);
            if (e != 0) throw new SysException("writev (injected)", e, "test");
            return super.writev(iov, n, gsoType, coalesced);
        }
    }

    @AfterEach
    void tearDown() {
        link.close();
        sp[1].close();
        batch.close();
        arena.close();
    }

    private void kernelSends(byte[]... msgs) throws Exception {
        for (byte[] m : msgs) {
            MemorySegment.copy(m, 0, buf, ValueLayout.JAVA_BYTE, 0, m.length);
            assertEquals(m.length, sp[1].fd().write(buf, m.length));
        }
    }

    private byte[] kernelReceives() throws Exception {
        long n = sp[1].fd().read(buf, buf.byteSize());
        assertTrue(n > 0, "expected a message from the link");
        return buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
    }

    private static byte[] plainHdr() { return Pkt.vhdr(0, 0, 0, 0, 0, 0); }

    private int receiveAll() throws Exception {
        batch.clear();
        return link.receive(batch);
    }

    @Test
    void plainPacketsArriveInOneBurst() throws Exception {
        byte[] p = Pkt.tcp4(1, 0x10, 1, new byte[100]);
        kernelSends(Pkt.concat(plainHdr(), p), Pkt.concat(plainHdr(), p), Pkt.concat(plainHdr(), p));
        assertEquals(3, receiveAll());
        assertArrayEquals(p, batch.data(2).toArray(ValueLayout.JAVA_BYTE));
        assertEquals(0, receiveAll(), "drained: non-blocking read says EAGAIN");
        assertEquals(3, link.counters().snapshot().rxPackets());
    }

    @Test
    void truncatedReadsAreCountedAndSkipped() throws Exception {
        byte[] good = Pkt.concat(plainHdr(), Pkt.tcp4(1, 0x10, 1, new byte[10]));
        kernelSends(new byte[] {1, 2, 3}, new byte[10], good);
        assertEquals(1, receiveAll());
        LinkStats s = link.counters().snapshot();
        assertEquals(2, s.rxDrops());
        assertEquals(2, s.errors());
        assertTrue(link.lastError().contains("truncated"), link.lastError());
    }

    @Test
    void oversizedPacketIsDroppedNotTruncatedIntoTheBatch() throws Exception {
        byte[] huge = new byte[10 + link.maxReceiveSize() + 1000];
        huge[10] = 0x45;
        kernelSends(huge, Pkt.concat(plainHdr(), Pkt.tcp4(1, 0x10, 1, new byte[10])));
        assertEquals(1, receiveAll());
        assertEquals(1, link.counters().snapshot().rxDrops());
    }

    @Test
    void lyingSuperpacketsAreDroppedAndTheReaderGoesOn() throws Exception {
        byte[] p = Pkt.tcp4(1, 0x10, 1, new byte[3000]);
        byte[] good = Pkt.concat(plainHdr(), Pkt.tcp4(1, 0x10, 1, new byte[10]));
        kernelSends(
                // gso_size 0
                Pkt.concat(Pkt.vhdr(1, VirtioNetHdr.GSO_TCPV4, 40, 0, 20, 16), p),
                // TCPV6 type on an IPv4 packet
                Pkt.concat(Pkt.vhdr(1, VirtioNetHdr.GSO_TCPV6, 40, 1000, 20, 16), p),
                // csum_start pointing past the transport header
                Pkt.concat(Pkt.vhdr(1, VirtioNetHdr.GSO_TCPV4, 40, 1000, 2000, 16), p),
                // UDP_L4 on a TCP packet
                Pkt.concat(Pkt.vhdr(1, VirtioNetHdr.GSO_UDP_L4, 40, 1000, 20, 6), p),
                // superpacket without NEEDS_CSUM
                Pkt.concat(Pkt.vhdr(0, VirtioNetHdr.GSO_TCPV4, 40, 1000, 20, 16), p),
                // UFO: never accepted
                Pkt.concat(Pkt.vhdr(1, VirtioNetHdr.GSO_UDP, 40, 1000, 20, 16), p),
                // unknown flag bits
                Pkt.concat(Pkt.vhdr(0x80, 0, 0, 0, 0, 0), p),
                // IP total length larger than what arrived
                Pkt.concat(Pkt.vhdr(1, VirtioNetHdr.GSO_TCPV4, 40, 1000, 20, 16), java.util.Arrays.copyOf(p, 1000)),
                good);
        assertEquals(1, receiveAll());
        assertEquals(50, batch.length(0), "only the good packet");
        LinkStats s = link.counters().snapshot();
        assertEquals(8, s.rxDrops());
        assertEquals(8, s.errors());
    }

    @Test
    void wrongHdrLenIsCorrectedNotRejected() throws Exception {
        byte[] p = Pkt.tcp4(1, 0x10, 1, new byte[3000]);
        // the forwarding-path bug: hdr_len covers headers plus a whole segment
        kernelSends(Pkt.concat(Pkt.vhdr(1, VirtioNetHdr.GSO_TCPV4, 40 + 1000, 1000, 20, 16), p));
        assertEquals(1, receiveAll());
        assertEquals(40, batch.hdrLen(0));
        assertEquals(1, link.counters().snapshot().superpackets());
    }

    @Test
    void needsCsumIsCompletedWhenCsumWasNotNegotiated() throws Exception {
        open(Offloads.NONE, false);
        byte[] p = Pkt.udp6(new byte[333]);
        byte[] partial = p.clone();
        // what a sender leaves for offload: the pseudo-header sum in the field
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(p.length);
            MemorySegment.copy(p, 0, m, ValueLayout.JAVA_BYTE, 0, p.length);
            int ps = Checksum.fold(Checksum.pseudoHeader(m, 0, 17, p.length - 40));
            partial[46] = (byte) (ps >> 8);
            partial[47] = (byte) ps;
        }
        kernelSends(Pkt.concat(Pkt.vhdr(VirtioNetHdr.F_NEEDS_CSUM, 0, 0, 0, 40, 6), partial));
        assertEquals(1, receiveAll());
        assertFalse(batch.needsCsum(0));
        assertArrayEquals(p, batch.data(0).toArray(ValueLayout.JAVA_BYTE), "checksum completed");
    }

    @Test
    void plainWritesCarryDataValid() throws Exception {
        byte[] p = Pkt.tcp4(5, 0x18, 1, new byte[50]);
        batch.clear();
        int i = batch.add();
        MemorySegment.copy(p, 0, batch.memory(), ValueLayout.JAVA_BYTE, batch.dataOffset(i), p.length);
        batch.setLength(i, p.length);
        assertEquals(1, link.transmit(batch));
        byte[] got = kernelReceives();
        assertEquals(VirtioNetHdr.F_DATA_VALID, got[0]);
        assertArrayEquals(p, java.util.Arrays.copyOfRange(got, 10, got.length));
    }

    @Test
    void packetNeedingAnOffloadTheWriteLacksIsACallerError() throws Exception {
        open(Offloads.NONE, false);
        batch.clear();
        int i = batch.add();
        batch.setLength(i, 60);
        // UFO: no kernel write path takes it from us (and no ingress lets one in)
        batch.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_UDP, 40, 10, 20, 16);
        assertThrows(IllegalArgumentException.class, () -> link.transmit(batch));
    }

    /**
     * TUNSETOFFLOAD governs only what the kernel hands us: a superpacket written with the
     * virtio-net header is segmented by the kernel whatever was negotiated, so a link that
     * negotiated nothing still takes it whole (one write, its metadata in the header).
     */
    @Test
    void superpacketGoesWholeWhateverWasNegotiated() throws Exception {
        open(Offloads.NONE, false);
        assertEquals(Offloads.NONE, link.offloads());
        for (int bit : new int[] {Offloads.CSUM, Offloads.TSO4, Offloads.TSO6, Offloads.TSO_ECN}) {
            assertTrue(link.transmitOffloads().has(bit),
                    "writes take " + Offloads.of(bit) + ": " + link.transmitOffloads());
        }
        byte[] p = Pkt.tcp4(1, 0x10, 1, new byte[3000]);
        batch.clear();
        int i = batch.add();
        MemorySegment.copy(p, 0, batch.memory(), ValueLayout.JAVA_BYTE, batch.dataOffset(i), p.length);
        batch.setLength(i, p.length);
        batch.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 40, 1448, 20, 16);
        assertEquals(1, link.transmit(batch));
        byte[] got = kernelReceives();
        assertArrayEquals(Pkt.vhdr(VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 40, 1448, 20, 16),
                java.util.Arrays.copyOf(got, 10), "the superpacket's metadata in the header");
        assertArrayEquals(p, java.util.Arrays.copyOfRange(got, 10, got.length), "the whole superpacket in one write");
        LinkStats s = link.counters().snapshot();
        assertEquals(1, s.txPackets());
        assertEquals(1, s.superpackets());
    }

    @Test
    void kernelReleaseParsing() {
        assertTrue(TunDevice.atLeast("6.18.44-fc-v1300", 6, 2));
        assertTrue(TunDevice.atLeast("6.2.0", 6, 2));
        assertTrue(TunDevice.atLeast("7.0", 6, 2));
        assertFalse(TunDevice.atLeast("6.1.112-cloud", 6, 2));
        assertFalse(TunDevice.atLeast("5.19", 6, 2));
        assertFalse(TunDevice.atLeast("", 6, 2));
        assertFalse(TunDevice.atLeast("garbage", 6, 2));
    }

    /** Appends TCP segments with contiguous sequence numbers; returns their payloads. */
    private List<byte[]> addRun(int n, int mss, int lastLen) {
        List<byte[]> pays = new ArrayList<>();
        int seq = 1000;
        for (int k = 0; k < n; k++) {
            byte[] pay = new byte[k == n - 1 ? lastLen : mss];
            for (int x = 0; x < pay.length; x++) pay[x] = (byte) (k * 31 + x);
            byte[] p = Pkt.tcp4(seq, 0x10, 100 + k, pay);
            seq += pay.length;
            int i = batch.add();
            MemorySegment.copy(p, 0, batch.memory(), ValueLayout.JAVA_BYTE, batch.dataOffset(i), p.length);
            batch.setLength(i, p.length);
            pays.add(pay);
        }
        return pays;
    }

    @Test
    void groCoalescesARunIntoOneSuperpacketThatSegmentsBackToTheOriginals() throws Exception {
        batch.clear();
        List<byte[]> pays = addRun(5, 1000, 300);
        byte[][] originals = new byte[5][];
        for (int k = 0; k < 5; k++) originals[k] = batch.data(k).toArray(ValueLayout.JAVA_BYTE);
        assertEquals(5, link.transmit(batch));
        byte[] got = kernelReceives();
        assertEquals(VirtioNetHdr.F_NEEDS_CSUM, got[0]);
        assertEquals(VirtioNetHdr.GSO_TCPV4, got[1]);
        assertEquals(10 + 40 + 4300, got.length, "one write: header, headers, all payloads");
        assertEquals(1, link.counters().snapshot().superpackets());
        assertEquals(5, link.counters().snapshot().txPackets());
        // segment what was written and compare with what went in
        try (PacketBatch sb = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
                PacketBatch out = new PacketBatch(16, 2048)) {
            int i = sb.add();
            MemorySegment.copy(got, 10, sb.memory(), ValueLayout.JAVA_BYTE, sb.dataOffset(i), got.length - 10);
            sb.setLength(i, got.length - 10);
            MemorySegment h = MemorySegment.ofArray(got);
            VirtioNetHdr.decode(h, 0, sb, i);
            assertEquals(1000, sb.gsoSize(i));
            assertEquals(40, sb.hdrLen(i));
            assertEquals(5, new Gso().segment(sb, i, Framing.IP, out));
            for (int k = 0; k < 5; k++) {
                byte[] seg = out.data(k).toArray(ValueLayout.JAVA_BYTE);
                // IDs are renumbered from the first as the kernel does; everything else identical
                assertArrayEquals(originals[k], seg, "segment " + k);
            }
        }
        assertEquals(pays.size(), 5);
    }

    @Test
    void udpRunsBecomeOneUsoSuperpacketThatSegmentsBackToTheOriginals() throws Exception {
        batch.clear();
        byte[][] originals = new byte[5][];
        for (int k = 0; k < 5; k++) {
            byte[] pay = new byte[k == 4 ? 123 : 700];
            for (int x = 0; x < pay.length; x++) pay[x] = (byte) (k + x * 7);
            originals[k] = Pkt.udp6(pay);
            int i = batch.add();
            MemorySegment.copy(originals[k], 0, batch.memory(), ValueLayout.JAVA_BYTE, batch.dataOffset(i),
                    originals[k].length);
            batch.setLength(i, originals[k].length);
        }
        assertEquals(5, link.transmit(batch));
        byte[] got = kernelReceives();
        assertEquals(VirtioNetHdr.GSO_UDP_L4, got[1]);
        assertEquals(10 + 48 + 4 * 700 + 123, got.length);
        try (PacketBatch sb = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
                PacketBatch out = new PacketBatch(16, 2048)) {
            int i = sb.add();
            MemorySegment.copy(got, 10, sb.memory(), ValueLayout.JAVA_BYTE, sb.dataOffset(i), got.length - 10);
            sb.setLength(i, got.length - 10);
            VirtioNetHdr.decode(MemorySegment.ofArray(got), 0, sb, i);
            assertEquals(5, new Gso().segment(sb, i, Framing.IP, out));
            for (int k = 0; k < 5; k++)
                    assertArrayEquals(originals[k], out.data(k).toArray(ValueLayout.JAVA_BYTE), "datagram " + k);
        }
    }

    @Test
    void withoutChecksumTrustOnlyVouchedPacketsAreMerged() throws Exception {
        open(TSO, true, false);
        batch.clear();
        addRun(3, 1000, 1000);
        assertEquals(3, link.transmit(batch));
        for (int k = 0; k < 3; k++) {
            byte[] got = kernelReceives();
            assertEquals(10 + 1040, got.length, "not merged: checksums unverified");
            assertEquals(0, got[0], "and not marked DATA_VALID");
        }
        batch.clear();
        addRun(3, 1000, 1000);
        for (int k = 0; k < 3; k++) batch.setFlags(k, VirtioNetHdr.F_DATA_VALID);
        assertEquals(3, link.transmit(batch));
        assertEquals(10 + 40 + 3000, kernelReceives().length, "merged: the source vouched for them");
    }

    @Test
    void groDoesNotMergeAcrossAGapOrFlags() throws Exception {
        batch.clear();
        addRun(3, 1000, 1000);
        // a segment with a sequence gap, then one with FIN
        byte[] gap = Pkt.tcp4(999_999, 0x10, 1, new byte[1000]);
        byte[] fin = Pkt.tcp4(999_999 + 1000, 0x11, 2, new byte[1000]);
        for (byte[] p : new byte[][] {gap, fin}) {
            int i = batch.add();
            MemorySegment.copy(p, 0, batch.memory(), ValueLayout.JAVA_BYTE, batch.dataOffset(i), p.length);
            batch.setLength(i, p.length);
        }
        assertEquals(5, link.transmit(batch));
        assertEquals(10 + 40 + 3000, kernelReceives().length);
        assertEquals(10 + 1040, kernelReceives().length);
        assertEquals(10 + 1040, kernelReceives().length);
    }

    @Test
    void einvalOnGroWriteTurnsCoalescingOffAndLosesNothing() throws Exception {
        ((FaultyTunLink) link).writeFault = (gsoType, coalesced) -> coalesced ? Errno.EINVAL : 0;
        batch.clear();
        addRun(4, 1000, 1000);
        assertEquals(4, link.transmit(batch));
        for (int k = 0; k < 4; k++) assertEquals(10 + 1040, kernelReceives().length, "segment " + k + " written alone");
        assertFalse(link.groEnabled());
        LinkStats s = link.counters().snapshot();
        assertEquals(4, s.txPackets());
        assertEquals(1, s.errors());
        assertEquals(0, s.txDrops());
    }

    @Test
    void einvalOnAPlainWriteDropsOnlyThatPacket() throws Exception {
        int[] calls = {0};
        ((FaultyTunLink) link).writeFault = (gsoType, coalesced) -> calls[0]++ == 1 ? Errno.EINVAL : 0;
        batch.clear();
        for (int k = 0; k < 3; k++) {
            byte[] p = Pkt.tcp4(k * 5000, 0x18, k, new byte[20]); // PSH: never coalesced
            int i = batch.add();
            MemorySegment.copy(p, 0, batch.memory(), ValueLayout.JAVA_BYTE, batch.dataOffset(i), p.length);
            batch.setLength(i, p.length);
        }
        assertEquals(3, link.transmit(batch));
        LinkStats s = link.counters().snapshot();
        assertEquals(2, s.txPackets());
        assertEquals(1, s.txDrops());
        assertEquals(1, s.errors());
    }

    @Test
    void closeBeforeWaitingMeansNoSleep() throws Exception {
        link.close();
        assertFalse(link.prepareToWait());
        assertFalse(link.readyFd().isOpen());
        assertThrows(LinkClosedException.class, this::receiveAll);
    }

    @Test
    void closeWakesAWaitingReader() throws Exception {
        Thread closer = new Thread(() -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException ignored) {
                // closes early then
            }
            link.close();
        });
        closer.start();
        assertEquals(0, receiveAll());
        assertTrue(link.prepareToWait());
        int rev = PollSet.pollOne(link.readyFd(), PollfdLayout.POLLIN, 10_000);
        assertTrue((rev & PollfdLayout.POLLIN) != 0, "woken by close");
        link.finishWait();
        assertFalse(link.readyFd().isOpen(), "wake-up descriptors released once the reader is out");
        assertThrows(LinkClosedException.class, this::receiveAll);
        assertThrows(LinkClosedException.class, () -> link.transmit(batch));
        closer.join();
    }

    /** close() from another thread wakes a thread asleep in an epoll set of its own over readyFd. */
    @Test
    void closeWakesAnEpollSleeper() throws Exception {
        assertEquals(0, receiveAll());
        ringlink.testing.CloseWake.assertCloseWakesEpollSleeper(link);
        assertFalse(link.readyFd().isOpen(), "wake-up descriptors released once the reader is out");
    }
}
