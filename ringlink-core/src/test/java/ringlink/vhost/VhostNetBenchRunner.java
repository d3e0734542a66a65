package ringlink.vhost;

import java.nio.file.Path;
import java.time.Duration;
import ringlink.testing.qemu.GuestResult;
import ringlink.testing.qemu.QemuGuest;

/**
 * Host side of the vhost-net benchmark ({@code bench/vhostnet-bench.sh}): boots the QEMU guest
 * with the host's {@code /usr} shared (for dpdk-testpmd and its plugins) and runs
 * {@link VhostNetGuestBench} there. Prints the guest's {@code BENCH} lines; exits 1 with the
 * console log if the guest run failed. The JVM is pinned to guest CPU 1 like testpmd's forwarding
 * lcore and the guest side pins the kernel's vhost workers to CPU 0, in both cases. (With only
 * the load thread pinned the JIT warmed up twice as fast, but one run in five crashed the guest
 * JVM in freshly compiled code, which we suspect is TCG and code patched across vCPUs.)
 *
 * <p>Arguments: {@code [SECONDS [methods...]]}.
 */
public final class VhostNetBenchRunner {
    private VhostNetBenchRunner() {}

    public static void main(String[] args) throws Exception {
        String[] a = new String[args.length + 1];
        a[0] = "bench";
        System.arraycopy(args, 0, a, 1, args.length);
        // -Drlvnb.jvm="FLAGS" adds guest JVM flags (e.g. -Drlvnb.warmup=MS for a fixed warm-up, -XX:+PrintCompilation).
        java.util.List<String> jvm =
                new java.util.ArrayList<>(java.util.List.of("-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xmx384m"));
        String extra = System.getProperty("rlvnb.jvm", "").trim();
        if (!extra.isEmpty()) jvm.addAll(java.util.Arrays.asList(extra.split("\\s+")));
        GuestResult r = QemuGuest.builder("vhostnet-bench")
                .shareJdk()
                .shareBuildDir()
                .share(Path.of("/usr"), "/usr", false)
                .modules("pktgen")
                .timeout(Duration.ofSeconds(600))
                .script("taskset -c 1 " + QemuGuest.java(jvm,
                        VhostNetGuestMain.class.getName(), a))
                .run();
        if (!r.succeeded()) {
            System.err.println(r.describeFailure());
            System.exit(1);
        }
        r.console().lines().filter(l -> l.startsWith("BENCH")).forEach(System.out::println);
        System.out.println("(QEMU TCG guest, " + r.elapsed().toSeconds() + " s; console log " + r.logFile() + ")");
    }
}
