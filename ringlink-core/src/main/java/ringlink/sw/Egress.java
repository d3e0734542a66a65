package ringlink.sw;

import static ringlink.sw.VlanTags.tag;
import static ringlink.sw.VlanTags.untag;

import java.io.IOException;
import ringlink.link.LinkClosedException;
import ringlink.link.LinkFailedException;
import ringlink.packet.OffloadFallback;
import ringlink.packet.PacketBatch;

/**
 * The transmit side of one polling thread ({@link Poller}): a run of packets of its receive batch
 * to a port, under the port's lock. Offload translation for a port without the offload (the
 * software fallback, {@link OffloadFallback}), VLAN tags per egress port, flow-hash steering over a
 * multi-queue port's enabled queues, and the bounded retry of a full port (spin 5 µs, then park;
 * give up after {@link Switch#DEFAULT_TX_RETRY} without progress; docs/ARCHITECTURE.md,
 * "Back-pressure"). Every failure of the destination is counted and reported here, never thrown
 * back at the port the packets came from.
 *
 * <p>One per poller, used by its thread only; nothing allocated per packet (the per-run queue
 * array, the segmentation scratch batch and the fallback's sink are made once).
 */
final class Egress {
    private final Switch sw;
    /** The poller's receive batch, whose packets leave from here; replaced with it ({@link Poller} adopt). */
    PacketBatch rx;
    private PacketBatch scratch;
    /** The transmit queue of each packet of a run to a multi-queue port. */
    private final int[] txq;
    /** The software checksum/segmentation for ports without an offload (one per thread: it keeps scratch). */
    private final OffloadFallback fallback;
    /** How long a full port gets to make room before the rest of a run is dropped (0: drop at once). */
    private final long retryNanos;

    Egress(Switch sw, PacketBatch rx, PacketBatch scratch, int batchSize, Segmenter segmenter, long retryNanos) {
        this.sw = sw;
        this.rx = rx;
        this.scratch = scratch;
        this.txq = new int[batchSize];
        this.fallback = new OffloadFallback(segmenter::segment);
        this.retryNanos = retryNanos;
    }

    /** Makes the segmentation scratch buffers at least {@code bufferSize} bytes (a port added at run time). */
    void fitScratch(int bufferSize) {
        if (bufferSize > scratch.bufferSize()) {
            PacketBatch bigger = new PacketBatch(scratch.capacity(), bufferSize);
            scratch.close();
            scratch = bigger;
        }
    }

    /** Frees the scratch batch; after the thread ended. */
    void free() {
        scratch.close();
    }

    /**
     * Forwards packets {@code [from, to)} of the receive batch to {@code q}, fixing in software
     * those whose offload metadata {@code q} does not accept.
     */
    void sendTo(Port q, int from, int to, int vid) {
        q.lock();
        try {
            if (!q.up) {
                q.txDrop(DropReason.PORT_DOWN, to - from);
                return;
            }
            // what it takes whole (a TAP: superpackets, whatever it negotiated)
            var offloads = q.link.transmitOffloads();
            int i = from;
            while (i < to && q.up) {
                int j = i;
                while (j < to && offloads.accepts(rx, j)) j++;
                if (j > i) transmit(q, rx, i, j, vid);
                if (j == to) break;
                fixup(q, j, vid);
                i = j + 1;
            }
        } finally {
            q.unlock();
        }
    }

    /** Packet {@code k} needs an offload {@code q} lacks: finish its checksum, or segment it. */
    private void fixup(Port q, int k, int vid) {
        fixPort = q;
        fixVid = vid;
        try {
            // single writer of the counters: we hold q's lock
            if (fallback.fix(rx, k, scratch, fixSink)) q.segmented = q.segmented + 1;
            else q.checksummed = q.checksummed + 1;
        } catch (RuntimeException e) {
            q.txDrop(DropReason.OFFLOAD, 1);
            if (rx.isGso(k)) sw.offloadProblem(q, e);
        }
    }

    /** Where {@link #fixup}'s packets go: {@code fixPort}, tagged for {@code fixVid}; made once, not per packet. */
    private Port fixPort;
    private int fixVid;
    private final OffloadFallback.Sink<RuntimeException> fixSink = (b, from, to) -> {
        transmit(fixPort, b, from, to, fixVid);
        return fixPort.up;
    };

    /** One transmit call (the packets tagged for {@code q} around it if needed); caller holds q's lock. */
    private void transmit(Port q, PacketBatch b, int from, int to, int vid) {
        PortVlan qv = q.vlan;
        boolean tag = qv != null && qv.tagged(vid);
        if (tag) {
            for (int k = from; k < to; k++) {
                if (!tag(b, k, vid)) {
                    // Not enough headroom to insert the tag (a transport placed data at the buffer start).
                    for (int u = from; u < k; u++) untag(b, u);
                    q.txDrop(DropReason.VLAN, to - from);
                    return;
                }
            }
        }
        if (q.queues.length == 1) {
            send(q, 0, b, from, to);
        } else {
            // Runs of packets for one queue, each flow to the queue its hash picks among those enabled.
            int enabled = q.refreshEnabled();
            for (int k = from; k < to; k++) txq[k - from] = q.txQueue(FlowHash.of(b, k), enabled);
            int k = from;
            while (k < to) {
                int e = k + 1;
                while (e < to && txq[e - from] == txq[k - from]) e++;
                if (q.up) send(q, txq[k - from], b, k, e);
                else q.txDrop(DropReason.PORT_DOWN, e - k);
                k = e;
            }
        }
        if (tag) {
            for (int k = from; k < to; k++) untag(b, k);
        }
    }

    /** One transmit call on queue {@code qi} of {@code q}, with its accounting; caller holds q's lock. */
    private void send(Port q, int qi, PacketBatch b, int from, int to) {
        int ok;
        try {
            int n = q.queues[qi].transmit(b, from, to);
            if (n > 0) q.stalled = false; // it drains again: a full moment is worth a retry again
            if (n < to - from && retryNanos > 0) n += retry(q, qi, b, from + n, to);
            if (n < to - from) {
                q.txDrop(DropReason.BACKPRESSURE, to - from - n);
                if (q.queueCounters != null) q.queueCounters[qi].txDropped(to - from - n);
            }
            ok = n;
        } catch (IllegalArgumentException e) {
            // The port renegotiated its offloads under us; the packets are lost, the port lives on.
            q.txDrop(DropReason.OFFLOAD, to - from);
            ok = 0;
        } catch (LinkClosedException | LinkFailedException | ringlink.sys.ClosedFdException e) {
            q.txDrop(DropReason.PORT_DOWN, to - from);
            ok = 0;
            sw.portDown(q, e);
        } catch (IOException | RuntimeException e) {
            // E.g. the kernel refusing one write: those packets are lost, the link goes on.
            // A packet from one port must never be able to take another port down.
            q.txDrop(DropReason.TX_ERROR, to - from);
            ok = 0;
            sw.transmitProblem(q, e);
        } catch (Error e) {
            // OutOfMemoryError, an InternalError from a fault in q's mapped memory,
            // StackOverflowError: q is broken, not the port the packets came from.
            q.txDrop(DropReason.PORT_DOWN, to - from);
            ok = 0;
            sw.portDown(q, e);
        }
        if (ok > 0) {
            long bytes = 0;
            int superOut = 0;
            for (int k = from; k < from + ok; k++) {
                bytes += b.length(k);
                if (b.isGso(k)) superOut++;
            }
            if (superOut > 0) q.superOut = q.superOut + superOut; // single writer: we hold q's lock
            q.counters.transmitted(ok, bytes);
            if (q.queueCounters != null) q.queueCounters[qi].transmitted(ok, bytes);
        }
    }

    /**
     * The queue took only part of a run: it is full right now. Rather than drop at once (which a
     * TCP sender pays for with a retransmission), give its consumer time to drain, as OVS-DPDK
     * retries a vhost-user enqueue, and so delay this poller's sources instead (the batch behind
     * this run waits, so the ingress queues fill and the kernel or the peer pushes back on the
     * sender). Bounded three ways (docs/ARCHITECTURE.md, "Back-pressure"):
     * <ul>
     *   <li>the retry goes on while the queue takes packets, and ends after {@link #retryNanos}
     *       without progress, or after {@value #RETRY_CAP} times that in all;</li>
     *   <li>after the first microseconds of spinning it yields the CPU between offers: on a
     *       loaded machine the consumer (a guest's vCPU, a second process) may need this very
     *       CPU to drain, and spinning would only keep it out;</li>
     *   <li>a port whose retry ended without taking anything is marked {@link Port#stalled}: runs
     *       to it are dropped at once until it takes a packet again, so a port that stays full
     *       (a dead or stopped peer) costs the others one timeout, not one per run.</li>
     * </ul>
     * What it still does not take is dropped (BACKPRESSURE) by the caller. Errors are left for
     * the next transmit to meet and report.
     */
    private int retry(Port q, int qi, PacketBatch b, int from, int to) {
        if (q.stalled) return 0;
        long start = System.nanoTime(), progress = start;
        int sent = 0;
        while (from + sent < to) {
            long now = System.nanoTime();
            if (now - progress < SPIN_NANOS) Thread.onSpinWait();
            else java.util.concurrent.locks.LockSupport.parkNanos(PARK_NANOS);
            int n;
            try {
                n = q.queues[qi].transmit(b, from + sent, to);
            } catch (IOException | RuntimeException e) {
                break;
            }
            now = System.nanoTime();
            if (n > 0) {
                sent += n;
                progress = now;
            } else if (now - progress > retryNanos) {
                break;
            }
            if (now - start > RETRY_CAP * retryNanos) break;
        }
        if (sent > 0) q.retried = q.retried + sent; // single writer: we hold q's lock
        else q.stalled = true;
        return sent;
    }

    /** A retry spins this long after the last progress before it starts yielding the CPU. */
    private static final long SPIN_NANOS = 5_000;
    /** How long a retry sleeps between offers once it stopped spinning (the kernel's timer slack adds ~50 µs). */
    private static final long PARK_NANOS = 10_000;
    /** A retry of one run lasts at most this many times {@link #retryNanos}. */
    private static final int RETRY_CAP = 4;
}
