package ringlink.cli.demo;

/**
 * One part of the demo: a transport (or a reference) between two network namespaces. Each step
 * is its own class; {@link DemoCommand} runs them in order, one cleanup after each. The bench
 * runs some of them quietly as cells ({@code ringlink.cli.NetnsCells}, {@code TunnelCells}).
 */
public interface DemoStep {
    /** The name {@code --steps} selects it by. */
    String name();

    String title();

    /** What a success shows the user. */
    String proves();

    /** Null if the step can run here, else why not. */
    String unavailable(DemoContext c);

    /** Runs the step; everything it creates is registered in {@code c.cleanup()}. */
    Outcome run(DemoContext c) throws Exception;

    /**
     * A step's result for the summary; {@code retransmits} are the iperf3 sender's (-1 when the
     * step ran no iperf3), {@code gbps} the receiver's rate (NaN without iperf3).
     */
    record Outcome(String status, String ping, String throughput, String note, long retransmits, double gbps) {
        public Outcome(String status, String ping, String throughput, String note) {
            this(status, ping, throughput, note, -1, Double.NaN);
        }

        /** An "ok" outcome with an iperf3 result. */
        public static Outcome ok(String ping, DemoTools.Iperf r) {
            return new Outcome("ok", ping, r.rate(), "", r.retransmits(), r.gbps());
        }
    }
}
