package ringlink.vhostuser;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzzing (Jazzer) of the vhost-user message decoder and back-end state machine
 * through {@link MessageFuzzHarness}. Like the virtio ring fuzzer it runs in its own surefire
 * execution ({@code vhostuser-fuzz}, in {@code mvnw verify}): it replays the committed corpus in
 * {@code src/test/resources/ringlink/vhostuser/VhostUserFuzzTestInputs/fuzzMessages}, then fuzzes
 * for {@code maxDuration}. {@link MessageFuzzRegressionTest} replays the corpus plus seeded
 * mutations in the normal test JVM.
 */
class VhostUserFuzzTest {
    @FuzzTest(maxDuration = "20s")
    void fuzzMessages(byte[] input) {
        MessageFuzzHarness.run(input);
    }
}
