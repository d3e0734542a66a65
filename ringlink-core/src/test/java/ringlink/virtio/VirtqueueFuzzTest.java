package ringlink.virtio;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzzing (Jazzer) of the device side of split and packed rings (and the driver
 * side reading a device's used entries), through {@link RingFuzzHarness}.
 *
 * <p>It runs in its own surefire execution ({@code virtio-fuzz}, integration-test phase, so in
 * {@code mvnw verify}): it first replays the committed corpus in
 * {@code src/test/resources/ringlink/virtio/VirtqueueFuzzTestInputs/fuzzRings}, then, with
 * {@code JAZZER_FUZZ=1}, fuzzes for {@code maxDuration}. The normal test JVM excludes this class
 * (Jazzer instruments its JVM); {@link RingFuzzRegressionTest} replays the corpus there. New
 * coverage goes to {@code target/.cifuzz-corpus}; a crashing input is reported with the file to
 * add to the inputs directory as a regression case.
 */
class VirtqueueFuzzTest {
    @FuzzTest(maxDuration = "20s")
    void fuzzRings(byte[] input) {
        RingFuzzHarness.run(input);
    }
}
