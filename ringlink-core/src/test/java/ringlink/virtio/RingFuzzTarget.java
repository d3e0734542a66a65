package ringlink.virtio;

/**
 * Entry point for Jazzer's standalone driver (e.g. corpus merging:
 * {@code java -cp <test classpath> com.code_intelligence.jazzer.Jazzer
 * --target_class=ringlink.virtio.RingFuzzTarget -merge=1 OUT IN...}).
 */
public final class RingFuzzTarget {
    private RingFuzzTarget() {}

    public static void fuzzerTestOneInput(byte[] data) {
        RingFuzzHarness.run(data);
    }
}
