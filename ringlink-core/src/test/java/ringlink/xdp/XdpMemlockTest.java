package ringlink.xdp;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.testing.Env;

/**
 * Without CAP_IPC_LOCK the kernel (6.18 included) charges a UMEM to RLIMIT_MEMLOCK and answers
 * ENOBUFS past it; the error must say what to do. Runs child JVMs with CAP_IPC_LOCK dropped.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class XdpMemlockTest {
    static final String DEV = "rlxdm0";

    @AfterAll
    static void cleanUp() {
        Netns.removeVeth(DEV);
    }

    static String probe(String... args) {
        String java = ProcessHandle.current().info().command().orElse("java");
        String cp = System.getProperty("java.class.path");
        String cmd = "ulimit -l 8192; exec '" + java + "' --enable-native-access=ALL-UNNAMED -cp '" + cp + "' "
                + MemlockProbeMain.class.getName() + " " + String.join(" ", args);
        return Env.run(40, "capsh", "--drop=cap_ipc_lock", "--", "-c", cmd);
    }

    @Test
    void aUmemBeyondMemlockFailsWithAdvice() throws Exception {
        Env.requireNetns();
        Env.requireProgram("capsh", "libcap2-bin");
        Netns.removeVeth(DEV);
        Netns.sh("ip link add " + DEV + " type veth peer name rlxdm1 && ip link set " + DEV
                + " up && ip link set rlxdm1 up");
        // 4 MiB fits under 8 MiB.
        String ok = probe(DEV, "2048");
        assertTrue(ok.contains("OK"), ok);
        // 16 MiB: our pre-check refuses before mapping anything and says how to fix it.
        String pre = probe(DEV, "8192");
        assertTrue(pre.contains("ERR") && pre.contains("RLIMIT_MEMLOCK") && pre.contains("CAP_IPC_LOCK")
                && pre.contains("frames=4096 fits"), pre);
        // And what the kernel itself says (ENOBUFS) is turned into the same advice.
        String kernel = probe(DEV, "8192", "raw");
        assertTrue(kernel.contains("ENOBUFS") && kernel.contains("RLIMIT_MEMLOCK") && kernel.contains("ulimit -l"),
                kernel);
    }
}
