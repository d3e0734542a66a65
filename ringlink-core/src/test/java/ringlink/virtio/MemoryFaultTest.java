package ringlink.virtio;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What HotSpot does when a mapped file shrinks under a {@code MemorySegment} access (issue 15
 * item 3): the SIGBUS becomes an {@code InternalError} in the accessing thread, in the
 * interpreter, in C1 and C2 code and in bulk copies, and the JVM lives on, for every access form
 * Ringlink uses on memory a peer may shrink ({@link MemoryFaultProbe#KINDS}). Not for every form
 * Java has: a 16- or 8-bit release/opaque/volatile store (or a CAS) not compiled inline aborts
 * HotSpot's x86 SIGBUS handler, which is why {@code VirtqLayout} stores 16-bit ring fields with a
 * fence and a plain store (put {@code U16.setRelease} back in {@code setRelease16} and the
 * {@code -Xint} and {@code -Xcomp} runs abort). The fault is also raised
 * asynchronously, at the thread's next safepoint poll, so the {@code deliver} kind checks that
 * {@code Mapping.deliverFaults} raises it inside the try block that converts it. The vhost-user
 * data path relies on all of this to turn a peer's {@code ftruncate} into {@code MEMORY_FAULT}.
 * Each mode runs {@link MemoryFaultProbe} in a child JVM.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class MemoryFaultTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "interpreter, -Xint, 2",
        "c1, -XX:TieredStopAtLevel=1, 3000",
        "c2, -XX:-TieredCompilation, 3000",
        "xcomp, -Xcomp, 2",
    })
    void jvmSurvivesAFaultInMappedMemory(String name, String flag, int warm) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", flag));
        // else -Xcomp compiles the world
        if (flag.equals("-Xcomp")) cmd.add("-XX:CompileOnly=ringlink.virtio.MemoryFaultProbe::*");
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), MemoryFaultProbe.class.getName(),
                String.valueOf(warm)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        for (String kind : MemoryFaultProbe.KINDS) {
            assertTrue(out.contains("ok " + kind + " java.lang.InternalError"), () -> name + ": " + out);
        }
        assertFalse(out.contains("bad "), out);
        assertTrue(out.contains("alive"), out);
    }
}
