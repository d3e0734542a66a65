package ringlink.cli.bench;

import java.time.Duration;

/**
 * One cell of the benchmark matrix: one transport (or the switch) at one packet size, run by
 * Ringlink or by the third-party peer it is compared with. Transports plug their cells in
 * through a {@link BenchCellProvider}.
 *
 * <p>Cells of the same {@link #group()} and {@link #size()} are compared: each non-reference
 * cell's median is divided by the {@link #reference()} cell's median from the same run.
 */
public interface BenchCell {
    /** What is compared, e.g. {@code "switch"}, {@code "vhost-user"}, {@code "netns iperf3"}. */
    String group();

    /**
     * Who moves the packets: {@code "ringlink"}, or the peer ({@code "testpmd"}, {@code "ovs-dpdk"}, {@code "kernel
     * veth"}).
     */
    String variant();

    /** True for the cell its group's ratios are relative to (usually the third-party peer). */
    boolean reference();

    /** Frame size in bytes, or 0 for a stream (e.g. iperf3 TCP), where Gbit/s is the measure. */
    int size();

    /** Null if the cell can run on this machine, else why not (shown in the table instead of numbers). */
    default String unavailable() {
        return null;
    }

    /**
     * The main class of the harness this cell runs in a child JVM (a class of
     * {@code ringlink.cli.bench.harness}, on the CLI's own class path), or null for a cell that
     * runs in this JVM or drives a script. Tests check that every one loads without the test
     * classpath.
     */
    default String harness() {
        return null;
    }

    /**
     * What the cell's last run measured with (CPUs, batch sizes, warm-up, order of the cases), as
     * its harness printed it, or null; results.json and the table's footer carry it so runs can be
     * compared setting by setting.
     */
    default String setting() {
        return null;
    }

    /**
     * True for a cell too slow for CI's {@code --quick} set that still has a quick form: with
     * {@code --quick} it runs only when {@code --only} is given (and matches it).
     */
    default boolean quickWhenSelected() {
        return false;
    }

    /**
     * Runs one repetition for about {@code duration} and returns what it measured. Everything the
     * cell creates (processes, namespaces, links) is gone when it returns or throws.
     */
    Measurement run(Duration duration) throws Exception;

    /**
     * One repetition's rates; for TCP stream cells also the sender's retransmissions (iperf3's
     * {@code end.sum_sent.retransmits}; NaN where not measured); for cells with UDP sockets the
     * kernel's drop count of the receiving sockets ({@code /proc/net/udp} {@code drops}; NaN
     * where not measured).
     */
    record Measurement(double pps, double gbps, double retransmits, double udpDrops) {
        /** Rates and retransmissions without UDP drops. */
        public Measurement(double pps, double gbps, double retransmits) {
            this(pps, gbps, retransmits, Double.NaN);
        }

        /** Rates without a retransmission count. */
        public Measurement(double pps, double gbps) {
            this(pps, gbps, Double.NaN);
        }

        /** This measurement with the receiving UDP sockets' drop count (negative: unknown, NaN). */
        public Measurement withUdpDrops(long drops) {
            return new Measurement(pps, gbps, retransmits, drops < 0 ? Double.NaN : drops);
        }

        /** From packets and bytes moved in {@code seconds}. */
        public static Measurement of(long packets, long bytes, double seconds) {
            return new Measurement(packets / seconds, bytes * 8 / seconds / 1e9);
        }
    }

    /** A label for tables: "switch 64B ringlink". */
    default String label() {
        return group() + " " + (size() == 0 ? "stream" : size() + "B") + " " + variant();
    }
}
