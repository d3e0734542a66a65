package ringlink.cli.bench.harness;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;
import ringlink.sys.Bpf;
import ringlink.sys.CpuAffinity;
import ringlink.sys.Fd;
import ringlink.sys.Pointers;
import ringlink.sys.SysException;
import ringlink.xdp.BpfAssembler;
import ringlink.xdp.BpfAttrLayout;
import ringlink.xdp.XdpProgram;

/**
 * A traffic source that makes frames in the kernel, the way xdp-trafficgen does, written with
 * bpf(2) only: a two-instruction XDP program {@code return bpf_redirect(ifindex, 0)} run with
 * {@code BPF_PROG_RUN} and {@code BPF_F_TEST_XDP_LIVE_FRAMES} (kernel >= 5.18). Each run sends
 * one template frame {@code repeat} times, in batches of 64, through the program; every
 * {@code XDP_REDIRECT} goes out through the target's {@code ndo_xdp_xmit}. On a veth that puts
 * the frames straight into the peer's receive ring (no skb, no qdisc), so the peer's NAPI and
 * whatever XDP program or XSK it feeds are the limit, not the source.
 *
 * <p>Why not xdp-trafficgen itself: Debian bookworm's xdp-tools 1.3.1 does not load on kernel
 * 6.18 (its skeleton has a tracepoint program on {@code xdp_redirect_map_err}, which the kernel
 * no longer has: "failed to find kernel BTF type ID"). trafgen (AF_PACKET TX ring) reached only
 * ~1.2 Mpps over both CPUs, no better than testpmd's copy-mode AF_XDP TX.
 *
 * <p>A veth drops redirected frames unless the receiving end has NAPI (GRO on, or a native XDP
 * program); the benchmark turns GRO on. The frames go through the receiver's softirq on the CPU
 * that runs this source (the flush at the end of each batch schedules NAPI locally), so pin the
 * source and the receiver's user-space thread to different CPUs.
 */
public final class LiveFrameSource implements AutoCloseable {
    /** linux/bpf.h: BPF_PROG_TEST_RUN (alias BPF_PROG_RUN). */
    static final int BPF_PROG_TEST_RUN = 10;
    /** linux/bpf.h: BPF_F_TEST_XDP_LIVE_FRAMES. */
    static final int BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;
    /** Helper number of bpf_redirect. */
    static final int BPF_FUNC_redirect = 23;
    // union bpf_attr, the "test" variant
    static final long OFF_PROG_FD = 0, OFF_RETVAL = 4, OFF_DATA_SIZE_IN = 8, OFF_DATA_IN = 16, OFF_REPEAT = 32,
            OFF_DURATION = 36, OFF_FLAGS = 64, OFF_BATCH_SIZE = 72;
    /** Frames per run: ~0.05-0.3 s at the rates seen here, so a stop request is seen quickly. */
    static final int REPEAT = 1 << 18;

    private final Fd prog;
    private final byte[] frame;
    private final AtomicLong sent = new AtomicLong();
    private volatile boolean stop;
    private Thread thread;
    private volatile Throwable failure;

    private LiveFrameSource(Fd prog, byte[] frame) {
        this.prog = prog;
        this.frame = frame;
    }

    /** Loads the program that redirects every frame to {@code ifindex}; {@code frame} is the template. */
    public static LiveFrameSource toInterface(int ifindex, byte[] frame) throws IOException {
        if (frame.length < 14 || frame.length > 3000)
                throw new IllegalArgumentException("frame length " + frame.length);
        BpfAssembler asm = new BpfAssembler()
                .mov64Imm(BpfAssembler.R1, ifindex)
                .mov64Imm(BpfAssembler.R2, 0)
                .call(BPF_FUNC_redirect)
                .exit();
        return new LiveFrameSource(XdpProgram.load(asm, "rl_gen_redir"), frame);
    }

    /** Starts the sending thread, pinned to {@code cpu} (-1: not pinned). */
    public void start(int cpu) {
        thread = Thread.ofPlatform().name("xdp-live-source").daemon().start(() -> {
            try {
                if (cpu >= 0) CpuAffinity.pinCurrentThread(cpu);
                run();
            } catch (Throwable t) {
                failure = t;
            }
        });
    }

    private void run() throws IOException {
        int pf = prog.acquire();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment data = a.allocate(frame.length, 8);
            MemorySegment.copy(frame, 0, data, ValueLayout.JAVA_BYTE, 0, frame.length);
            MemorySegment attr = a.allocate(BpfAttrLayout.SIZE, 8);
            while (!stop) {
                attr.fill((byte) 0);
                attr.set(ValueLayout.JAVA_INT, OFF_PROG_FD, pf);
                attr.set(ValueLayout.JAVA_INT, OFF_DATA_SIZE_IN, frame.length);
                Pointers.store(attr, OFF_DATA_IN, data);
                attr.set(ValueLayout.JAVA_INT, OFF_REPEAT, REPEAT);
                attr.set(ValueLayout.JAVA_INT, OFF_FLAGS, BPF_F_TEST_XDP_LIVE_FRAMES);
                try {
                    Bpf.call(BPF_PROG_TEST_RUN, attr, "BPF_PROG_RUN live frames");
                } catch (SysException e) {
                    throw new IOException("the kernel refused BPF_PROG_RUN with live frames (needs >= 5.18): "
                            + e.getMessage(), e);
                }
                // The run counts frames the program redirected; whether the veth took them the
                // receiver's counters say (a full ring drops them in ndo_xdp_xmit).
                sent.addAndGet(REPEAT);
            }
        } finally {
            prog.release();
        }
    }

    /** Frames handed to the program so far. */
    public long sent() { return sent.get(); }

    /** Throws what stopped the sending thread, if anything did. */
    public void check() throws IOException {
        Throwable t = failure;
        if (t instanceof IOException e) throw e;
        if (t != null) throw new IOException("live-frame source failed", t);
    }

    @Override
    public void close() {
        stop = true;
        if (thread != null) {
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        prog.close();
    }
}
