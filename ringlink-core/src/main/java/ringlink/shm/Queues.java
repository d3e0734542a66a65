package ringlink.shm;

import static ringlink.shm.RxPacketLayout.*;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import ringlink.packet.PacketBatch;
import ringlink.sys.EventFd;
import ringlink.sys.SysException;
import ringlink.sys.ClosedFdException;

/**
 * The four directions of a sharedmem queue pair. A client transmits on its TX queue
 * ({@link ClientTx}) and receives on its RX queue ({@link ClientRx}); the server uses the same two
 * queues the other way round ({@link ServerRx} on the client's TX queue, {@link ServerTx} on its RX
 * queue). Each reads descriptors the peer wrote, so every field is read once into a local,
 * validated, then used (a peer rewriting memory under us cannot turn a checked value into an
 * unchecked one).
 */
final class Queues {
    private Queues() {}

    /** What a link receives from. */
    interface Inbound {
        /**
         * Appends up to what fits in {@code batch}; returns how many were appended, dropped ones counted in
         * {@code drops[0]}.
         */
        int receive(PacketBatch batch, long[] drops) throws CorruptQueueException;

        /** True if something may be received (for the sleep protocol). */
        boolean ready();
    }

    /** What a link transmits into. */
    interface Outbound {
        /**
         * Takes packets [from, to); returns how many were taken. {@code stats[0]} counts those
         * dropped (empty or larger than {@code maxSize}), {@code stats[1]} the bytes sent.
         */
        int transmit(PacketBatch batch, int from, int to, int maxSize, long[] stats) throws CorruptQueueException,
                SysException, ClosedFdException;
    }

    /** Signals {@code event} unless the consumer said (in its shared-data word) that it is busy. */
    static void notifyPeer(MemorySegment shared, EventFd event) throws SysException, ClosedFdException {
        // Pairs with the consumer's "store ENABLED, then re-check the pipe": our release store of
        // the slot header must be visible before we read its state (Dekker), hence the full fence.
        VarHandle.fullFence();
        if ((int) SharedDataLayout.STATE.getVolatile(shared, 0L) != SharedDataLayout.EVENTFD_DISABLED) {
            event.signal();
        }
    }

    static long u32(MemorySegment s, long off, VarHandle h) {
        return ((int) h.get(s, off)) & 0xffff_ffffL;
    }

    /** How many {@code bufferSize} buffers the client carves its data region into (at most 2^24). */
    static int bufferCount(MemorySegment data, int bufferSize, String name) {
        long n = data.byteSize() / bufferSize;
        if (n < 1) {
            throw new IllegalArgumentException(name + ": data region of " + data.byteSize() + " bytes holds no "
                    + bufferSize + "-byte buffer");
        }
        return (int) Math.min(n, 1 << 24);
    }

    /**
     * Ends a received packet at {@code batch} slot {@code i}: kept (length {@code total}) if it
     * fitted and every byte came, else taken back out of the batch and counted in {@code drops[0]}.
     *
     * @return true if kept
     */
    static boolean keep(PacketBatch batch, int i, boolean fits, long copied, long total, long[] drops) {
        if (!fits || copied < total || total == 0) {
            batch.setCount(batch.count() - 1);
            drops[0]++;
            return false;
        }
        batch.setLength(i, (int) total);
        return true;
    }

    /**
     * The two transmitting directions: one loop that drops empty and oversized packets, sends the
     * rest one by one and, if anything went out, flushes and wakes the peer once per batch.
     * Only {@link #send} differs (client buffers vs buffers the client posted); it has exactly
     * these two implementations, so its call stays at most bimorphic.
     */
    abstract static sealed class Sender implements Outbound permits ClientTx, ServerTx {
        private final PipeTx out;
        private final MemorySegment shared;
        private final EventFd event;

        Sender(PipeTx out, MemorySegment shared, EventFd event) {
            this.out = out;
            this.shared = shared;
            this.event = event;
        }

        /** Before a batch: takes back what the peer returned. */
        abstract void prepare() throws CorruptQueueException;

        /** Writes packet {@code i} ({@code len} bytes, 1..maxSize) to the out pipe; false if it does not fit now. */
        abstract boolean send(PacketBatch batch, int i, int len) throws CorruptQueueException;

        @Override
        public final int transmit(PacketBatch batch, int from, int to, int maxSize, long[] stats)
                throws CorruptQueueException, SysException, ClosedFdException {
            prepare();
            int taken = 0;
            for (int i = from; i < to; i++) {
                int len = batch.length(i);
                if (len == 0 || len > maxSize) {
                    stats[0]++;
                } else if (send(batch, i, len)) {
                    stats[1] += len;
                } else {
                    break;
                }
                taken++;
            }
            if (out.pending()) {
                out.flush();
                notifyPeer(shared, event);
            }
            return taken;
        }
    }

    // ------------------------------------------------------------------------------------------

    /** Client side of the TX queue: owns the data region's buffers, sends packet descriptors. */
    static final class ClientTx extends Sender {
        private final PipeTx packets;
        private final PipeRx completions;
        private final MemorySegment data;
        private final int bufferSize;
        private final int buffers;
        private final int[] free;
        private int freeTop;
        private final int[] chain;      // next buffer of the same packet, −1 at the end
        private final boolean[] inFlight; // by packet id (= its first buffer)
        private final String name;

        ClientTx(QueueConfig.Mapped m, EventFd event, int bufferSize, String name) {
            this(m, event, bufferSize, name + " TX queue",
                    new PipeTx(m.txPipe.segment(), name + " TX queue packet pipe"));
        }

        private ClientTx(QueueConfig.Mapped m, EventFd event, int bufferSize, String name, PipeTx packets) {
            super(packets, m.sharedState(), event);
            this.name = name;
            this.packets = packets;
            this.completions = new PipeRx(m.rxPipe.segment(), name + " completion pipe");
            this.data = m.data.segment();
            this.bufferSize = bufferSize;
            this.buffers = bufferCount(data, bufferSize, name);
            this.free = new int[buffers];
            this.chain = new int[buffers];
            this.inFlight = new boolean[buffers];
            for (int i = 0; i < buffers; i++) free[i] = buffers - 1 - i;
            freeTop = buffers;
        }

        @Override
        void prepare() throws CorruptQueueException {
            long off;
            MemorySegment ring = completions.ring();
            while ((off = completions.pull()) >= 0) {
                if (completions.size() != TxPacketLayout.SIZEOF_COMPLETION) {
                    throw new CorruptQueueException(name + ": completion of " + completions.size()
                            + " bytes (expected 8)");
                }
                long id = (long) TxPacketLayout.U64.get(ring, off);
                if (id < 0 || id >= buffers || !inFlight[(int) id]) {
                    throw new CorruptQueueException(name + ": completion for packet id " + Long.toUnsignedString(id)
                            + ", which is not in flight");
                }
                inFlight[(int) id] = false;
                for (int b = (int) id; b >= 0; b = chain[b]) free[freeTop++] = b;
            }
            completions.flush();
        }

        @Override
        boolean send(PacketBatch batch, int i, int len) throws CorruptQueueException {
            MemorySegment ring = packets.ring();
            int n = (len + bufferSize - 1) / bufferSize;
            if (freeTop < n) return false;
            long d = packets.push(TxPacketLayout.descriptorSize(n));
            if (d < 0) return false;
            int first = free[freeTop - 1];
            TxPacketLayout.U64.set(ring, d + TxPacketLayout.PACKET_ID, (long) first);
            TxPacketLayout.U32.set(ring, d + TxPacketLayout.PACKET_SIZE, len);
            TxPacketLayout.U32.set(ring, d + TxPacketLayout.PACKET_RESERVED, 0);
            long s = batch.dataOffset(i);
            int prev = -1;
            for (int k = 0; k < n; k++) {
                int b = free[--freeTop];
                if (prev >= 0) chain[prev] = b;
                prev = b;
                int piece = Math.min(bufferSize, len - k * bufferSize);
                long bo = (long) b * bufferSize;
                MemorySegment.copy(batch.memory(), s + (long) k * bufferSize, data, bo, piece);
                long bd = d + TxPacketLayout.bufferDescriptor(k);
                TxPacketLayout.U64.set(ring, bd + TxPacketLayout.BUFFER_OFFSET, bo);
                TxPacketLayout.U32.set(ring, bd + TxPacketLayout.BUFFER_SIZE, bufferSize);
            }
            chain[prev] = -1;
            inFlight[first] = true;
            return true;
        }
    }

    // ------------------------------------------------------------------------------------------

    /** Client side of the RX queue: posts its buffers, receives what the server filled. */
    static final class ClientRx implements Inbound {
        private final PipeTx post;
        private final PipeRx consumed;
        private final MemorySegment data;
        private final int bufferSize;
        private final int buffers;
        private final int[] toPost;
        private int toPostTop;
        private final boolean[] posted;
        private final String name;

        ClientRx(QueueConfig.Mapped m, int bufferSize, String name) {
            this.name = name + " RX queue";
            this.post = new PipeTx(m.txPipe.segment(), this.name + " fill pipe");
            this.consumed = new PipeRx(m.rxPipe.segment(), this.name + " completion pipe");
            this.data = m.data.segment();
            this.bufferSize = bufferSize;
            this.buffers = bufferCount(data, bufferSize, this.name);
            this.toPost = new int[buffers];
            this.posted = new boolean[buffers];
            for (int i = 0; i < buffers; i++) toPost[i] = buffers - 1 - i;
            toPostTop = buffers;
        }

        /** Posts every buffer we hold (as many as the fill pipe takes). */
        void postBuffers() throws CorruptQueueException {
            MemorySegment ring = post.ring();
            while (toPostTop > 0) {
                long d = post.push(SIZEOF_POSTED_BUFFER);
                if (d < 0) break;
                int b = toPost[--toPostTop];
                posted[b] = true;
                U64.set(ring, d + POSTED_OFFSET, (long) b * bufferSize);
                U32.set(ring, d + POSTED_SIZE, bufferSize);
                U32.set(ring, d + POSTED_REMAINING_IN_GROUP, 0);
                U64.set(ring, d + POSTED_USER_DATA, 0L);
                U64.set(ring, d + POSTED_ID, (long) b);
            }
            post.flush();
        }

        @Override
        public int receive(PacketBatch batch, long[] drops) throws CorruptQueueException {
            MemorySegment ring = consumed.ring();
            MemorySegment dst = batch.memory();
            int got = 0;
            while (!batch.isFull()) {
                long d = consumed.pull();
                if (d < 0) break;
                int size = consumed.size();
                if (size < SIZEOF_CONSUMED_PACKET_HEADER
                        || (size - SIZEOF_CONSUMED_PACKET_HEADER) % SIZEOF_CONSUMED_BUFFER != 0) {
                    throw new CorruptQueueException(name + ": completion of " + size + " bytes is not 8 + 28*n");
                }
                int n = (size - SIZEOF_CONSUMED_PACKET_HEADER) / SIZEOF_CONSUMED_BUFFER;
                long total = u32(ring, d + CONSUMED_PACKET_SIZE, U32);
                int i = batch.add();
                long at = batch.dataOffset(i);
                boolean fits = total <= batch.room(i);
                long copied = 0;
                for (int k = 0; k < n; k++) {
                    long c = d + consumedBuffer(k);
                    long off = (long) U64.get(ring, c + CONSUMED_OFFSET);
                    long bs = u32(ring, c + CONSUMED_SIZE, U32);
                    long id = (long) U64.get(ring, c + CONSUMED_ID);
                    if (id < 0 || id >= buffers || !posted[(int) id]) {
                        throw new CorruptQueueException(name + ": completion returns buffer id "
                                + Long.toUnsignedString(id) + ", which was not posted");
                    }
                    if (off != id * bufferSize || bs > bufferSize) {
                        throw new CorruptQueueException(name + ": completion for buffer " + id + " points at ["
                                + Long.toUnsignedString(off) + ", +"
                                + bs + "), outside that buffer [" + id * bufferSize + ", +" + bufferSize
                                        + ") of the data region");
                    }
                    posted[(int) id] = false;
                    toPost[toPostTop++] = (int) id;
                    long piece = Math.min(bs, total - copied);
                    if (fits && piece > 0) MemorySegment.copy(data, off, dst, at + copied, piece);
                    if (piece > 0) copied += piece;
                }
                if (keep(batch, i, fits, copied, total, drops)) got++;
            }
            consumed.flush();
            postBuffers();
            return got;
        }

        @Override
        public boolean ready() {
            return consumed.ready();
        }
    }

    // ------------------------------------------------------------------------------------------

    /** Server side of the client's TX queue: reads the client's packets, returns completions. */
    static final class ServerRx implements Inbound {
        private final PipeRx packets;
        private final PipeTx completions;
        private final MemorySegment data;
        private final String name;

        ServerRx(QueueConfig.Mapped m, String name) {
            this.name = name + " TX queue";
            this.packets = new PipeRx(m.txPipe.segment(), this.name + " packet pipe");
            this.completions = new PipeTx(m.rxPipe.segment(), this.name + " completion pipe");
            this.data = m.data.segment();
        }

        @Override
        public int receive(PacketBatch batch, long[] drops) throws CorruptQueueException {
            MemorySegment ring = packets.ring();
            MemorySegment cring = completions.ring();
            MemorySegment dst = batch.memory();
            long dataSize = data.byteSize();
            int got = 0;
            while (!batch.isFull()) {
                long d = packets.pull();
                if (d < 0) break;
                int size = packets.size();
                if (size < TxPacketLayout.SIZEOF_PACKET_HEADER
                        || (size - TxPacketLayout.SIZEOF_PACKET_HEADER) % TxPacketLayout.SIZEOF_BUFFER_DESCRIPTOR
                                != 0) {
                    throw new CorruptQueueException(name + ": packet descriptor of " + size
                            + " bytes is not 16 + 12*n");
                }
                long c = completions.push(TxPacketLayout.SIZEOF_COMPLETION);
                if (c < 0) {
                    // No room to complete it: leave the packet for the next call (we flush per
                    // packet, so aborting un-pulls exactly this one).
                    packets.abort();
                    break;
                }
                long id = (long) TxPacketLayout.U64.get(ring, d + TxPacketLayout.PACKET_ID);
                long total = u32(ring, d + TxPacketLayout.PACKET_SIZE, TxPacketLayout.U32);
                int n = (size - TxPacketLayout.SIZEOF_PACKET_HEADER) / TxPacketLayout.SIZEOF_BUFFER_DESCRIPTOR;
                int i = batch.add();
                long at = batch.dataOffset(i);
                boolean fits = total <= batch.room(i);
                long copied = 0;
                for (int k = 0; k < n && copied < total; k++) {
                    long bd = d + TxPacketLayout.bufferDescriptor(k);
                    long off = (long) TxPacketLayout.U64.get(ring, bd + TxPacketLayout.BUFFER_OFFSET);
                    long bs = u32(ring, bd + TxPacketLayout.BUFFER_SIZE, TxPacketLayout.U32);
                    if (off < 0 || off > dataSize - bs) {
                        throw new CorruptQueueException(name + ": packet " + Long.toUnsignedString(id) + " buffer " + k
                                + " at ["
                                + Long.toUnsignedString(off) + ", +" + bs + ") lies outside the " + dataSize
                                        + "-byte data region");
                    }
                    long piece = Math.min(bs, total - copied);
                    if (fits) MemorySegment.copy(data, off, dst, at + copied, piece);
                    copied += piece;
                }
                packets.flush();
                TxPacketLayout.U64.set(cring, c + TxPacketLayout.COMPLETION_ID, id);
                if (keep(batch, i, fits, copied, total, drops)) got++;
            }
            completions.flush();
            return got;
        }

        @Override
        public boolean ready() {
            return packets.ready();
        }
    }

    // ------------------------------------------------------------------------------------------

    /** Server side of the client's RX queue: fills buffers the client posted. */
    static final class ServerTx extends Sender {
        private static final int STASH = 4096;
        private static final int MASK = STASH - 1;
        private final PipeRx fill;
        private final PipeTx completions;
        private final MemorySegment data;
        private final String name;
        // Buffers pulled from the fill pipe and not yet returned: ours until a completion names them.
        private final long[] stOffset = new long[STASH];
        private final int[] stSize = new int[STASH];
        private final long[] stUser = new long[STASH];
        private final long[] stId = new long[STASH];
        private long stHead, stTail;

        ServerTx(QueueConfig.Mapped m, EventFd event, String name) {
            this(m, event, name + " RX queue", new PipeTx(m.rxPipe.segment(), name + " RX queue completion pipe"));
        }

        private ServerTx(QueueConfig.Mapped m, EventFd event, String name, PipeTx completions) {
            super(completions, m.sharedState(), event);
            this.name = name;
            this.fill = new PipeRx(m.txPipe.segment(), name + " fill pipe");
            this.completions = completions;
            this.data = m.data.segment();
        }

        @Override
        void prepare() throws CorruptQueueException {
            refill();
        }

        private void refill() throws CorruptQueueException {
            MemorySegment ring = fill.ring();
            long dataSize = data.byteSize();
            while (stTail - stHead < STASH) {
                long d = fill.pull();
                if (d < 0) break;
                if (fill.size() != SIZEOF_POSTED_BUFFER) {
                    throw new CorruptQueueException(name + ": posted buffer descriptor of " + fill.size()
                            + " bytes (expected 32)");
                }
                long off = (long) U64.get(ring, d + POSTED_OFFSET);
                long size = u32(ring, d + POSTED_SIZE, U32);
                if (size == 0 || off < 0 || off > dataSize - size) {
                    throw new CorruptQueueException(name + ": posted buffer [" + Long.toUnsignedString(off) + ", +"
                            + size
                            + ") is empty or lies outside the " + dataSize + "-byte data region");
                }
                int s = (int) (stTail++ & MASK);
                stOffset[s] = off;
                stSize[s] = (int) size;
                stUser[s] = (long) U64.get(ring, d + POSTED_USER_DATA);
                stId[s] = (long) U64.get(ring, d + POSTED_ID);
            }
            fill.flush();
        }

        @Override
        boolean send(PacketBatch batch, int i, int len) throws CorruptQueueException {
            MemorySegment cring = completions.ring();
            int n = 0;
            long have = 0;
            while (have < len) {
                if (stHead + n == stTail) {
                    refill();
                    if (stHead + n == stTail) break;
                }
                have += stSize[(int) ((stHead + n) & MASK)];
                n++;
            }
            if (have < len) return false;
            long c = completions.push(completionSize(n));
            if (c < 0) return false;
            U32.set(cring, c + CONSUMED_PACKET_SIZE, len);
            U32.set(cring, c + CONSUMED_PACKET_RESERVED, 0);
            long s = batch.dataOffset(i);
            int done = 0;
            for (int k = 0; k < n; k++) {
                int e = (int) (stHead++ & MASK);
                int piece = Math.min(stSize[e], len - done);
                MemorySegment.copy(batch.memory(), s + done, data, stOffset[e], piece);
                done += piece;
                long cb = c + consumedBuffer(k);
                U64.set(cring, cb + CONSUMED_OFFSET, stOffset[e]);
                U32.set(cring, cb + CONSUMED_SIZE, piece);
                U64.set(cring, cb + CONSUMED_USER_DATA, stUser[e]);
                U64.set(cring, cb + CONSUMED_ID, stId[e]);
            }
            return true;
        }
    }
}
