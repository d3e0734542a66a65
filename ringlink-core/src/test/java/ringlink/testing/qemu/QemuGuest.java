package ringlink.testing.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import ringlink.testing.Env;

/**
 * Boots Debian's kernel under QEMU (TCG) with a generated initramfs and runs one shell script as
 * the guest's job: the way tests reach kernel features the host lacks (vhost-net) and act as a
 * virtio guest for vhost-user backends.
 *
 * <pre>{@code
 * GuestResult r = QemuGuest.builder("vhostnet")
 *         .shareJdk().shareBuildDir()
 *         .script(QemuGuest.java("ringlink.vhost.GuestMain", "selftest"))
 *         .run();
 * r.assertSuccess();   // fails with the guest console log attached
 * }</pre>
 *
 * <p>The guest: busybox (every applet installed in /bin), the kernel modules asked for (plus
 * their dependencies; the default set gives virtio-pci, 9p, virtio-net, tun/tap and vhost-net),
 * glibc from the host, /proc /sys /dev /tmp /dev/shm mounted, {@code lo} up. 9p shares are
 * mounted at the path given (read-only shares with {@code cache=loose}, which makes the JDK start
 * several times faster). The job's exit code comes back through the serial console
 * ({@value #EXIT_MARKER}N), then the guest powers off; QEMU is always killed when the run ends.
 *
 * <p>Extra QEMU arguments (a vhost-user netdev, a shared-memory backend) are passed with
 * {@link Builder#qemuArgs}. The kernel's own network drivers are loaded, so
 * {@code -device virtio-net-pci,...} shows up as {@code eth0} in the guest.
 */
public final class QemuGuest {
    /** The line the init prints with the job's exit status. */
    public static final String EXIT_MARKER = "RINGLINK-GUEST-EXIT=";
    /** The line the init prints just before it runs the job. */
    public static final String START_MARKER = "RINGLINK-GUEST-START";

    /** Modules every guest gets: virtio-pci + 9p for the shares, and the network devices. */
    public static final Set<String> DEFAULT_MODULES = Set.of("virtio_pci", "9pnet_virtio", "9p", "virtio_net",
            "tun", "tap", "vhost_net", "af_packet", "veth");

    private QemuGuest() {}

    /** A new guest named {@code name} (used for log files). */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** The host's JDK (the one running the tests), shared with the guest at the same path. */
    public static Path jdkHome() {
        return Path.of(System.getProperty("java.home"));
    }

    /**
     * A shell command that runs {@code mainClass} from {@code target/classes} and
     * {@code target/test-classes} with the host's JDK in the guest (needs {@link Builder#shareJdk()}
     * and {@link Builder#shareBuildDir()}). JVM flags suit a slow emulated CPU: C1 only, serial GC,
     * no perf data file.
     */
    public static String java(String mainClass, String... args) {
        return java(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xss2m", "-Xmx384m"),
                mainClass, args);
    }

    /**
     * Like {@link #java(String, String...)} with {@code jvmFlags} instead of the default tuning
     * (e.g. full C2 for a benchmark). Native-access flags and the class path are always added.
     */
    public static String java(List<String> jvmFlags, String mainClass, String... args) {
        Path build = Env.buildDir();
        StringBuilder sb = new StringBuilder();
        sb.append(jdkHome().resolve("bin/java"));
        for (String f : jvmFlags) sb.append(' ').append(shellQuote(f));
        sb.append(" --enable-native-access=ALL-UNNAMED --illegal-native-access=deny")
                .append(" -Dringlink.buildDir=").append(build)
                .append(" -cp ").append(build.resolve("classes")).append(':').append(build.resolve("test-classes"))
                .append(' ').append(mainClass);
        for (String a : args) sb.append(' ').append(shellQuote(a));
        return sb.toString();
    }

    /** Quotes {@code s} for a POSIX shell. */
    public static String shellQuote(String s) {
        if (s.matches("[A-Za-z0-9_./:=,@%+-]+")) return s;
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** Skips (or fails in CI) unless QEMU, busybox and a Debian kernel with modules are here. */
    public static void requireAvailable() {
        Env.requireProgram("qemu-system-x86_64", "qemu-system-x86");
        Env.requireFile(Path.of("/bin/busybox"), "static busybox (Debian package busybox-static)");
        Env.require(kernelRelease() != null,
                "a Debian kernel (/boot/vmlinuz-* with /lib/modules/<release>; Debian package linux-image-amd64)");
        Env.require(Files.isReadable(kernel()), "a readable kernel image " + kernel() + " (run as root)");
    }

    /** The kernel release used: {@code -Dringlink.qemu.kernelRelease} or the newest /boot/vmlinuz-* with modules. */
    public static String kernelRelease() {
        String p = System.getProperty("ringlink.qemu.kernelRelease");
        if (p != null) return p;
        try (var s = Files.list(Path.of("/boot"))) {
            return s.map(x -> x.getFileName().toString())
                    .filter(n -> n.startsWith("vmlinuz-"))
                    .map(n -> n.substring("vmlinuz-".length()))
                    .filter(r -> Files.exists(Path.of("/lib/modules", r, "modules.dep")))
                    .sorted().reduce((a, b) -> b).orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    static Path kernel() {
        return Path.of("/boot/vmlinuz-" + kernelRelease());
    }

    /** A directory shared into the guest over 9p. */
    public record Share(Path hostPath, String guestPath, boolean writable) {}

    /** Configures and runs one guest. Not reusable across threads; {@link #run()} may be called more than once. */
    public static final class Builder {
        private final String name;
        private int memoryMb = 1024;
        private int cpus = 2;
        private Duration timeout = Duration.ofSeconds(150);
        private final Set<String> modules = new LinkedHashSet<>(DEFAULT_MODULES);
        private final List<Share> shares = new ArrayList<>();
        private final List<String> qemuArgs = new ArrayList<>();
        private final List<String> extraBaseFiles = new ArrayList<>();
        private final Map<String, String> files = new LinkedHashMap<>();
        private final List<String> kernelArgs = new ArrayList<>();
        private String script = "true";

        private Builder(String name) {
            if (!name.matches("[A-Za-z0-9_.-]+"))
                    throw new IllegalArgumentException("guest name must be a plain word: " + name);
            this.name = name;
        }

        public Builder memoryMb(int mb) { this.memoryMb = mb; return this; }
        public Builder cpus(int n) { this.cpus = n; return this; }
        /** Bound on the whole run (boot + job); QEMU is killed when it passes. */
        public Builder timeout(Duration d) { this.timeout = d; return this; }
        /** More kernel modules to load (names as in {@code modules.dep}, e.g. {@code vhost_vsock}). */
        public Builder modules(String... names) { modules.addAll(Arrays.asList(names)); return this; }
        /** Host files (e.g. a static helper binary) put into the cached base archive at the same path. */
        public Builder hostFiles(String... paths) { extraBaseFiles.addAll(Arrays.asList(paths)); return this; }
        /** A text file (e.g. a config) written into the guest at {@code path} for this run only. */
        public Builder file(String path, String content) { files.put(path, content); return this; }
        /** Arguments appended to the QEMU command line (netdevs, devices, memory backends). */
        public Builder qemuArgs(String... args) { qemuArgs.addAll(Arrays.asList(args)); return this; }
        /** Arguments appended to the kernel command line. */
        public Builder kernelArgs(String... args) { kernelArgs.addAll(Arrays.asList(args)); return this; }
        /** The job: a POSIX shell (busybox ash) script. Its exit status is the run's result. */
        public Builder script(String script) { this.script = script; return this; }

        /** Shares {@code host} into the guest at {@code guestPath} over 9p. */
        public Builder share(Path host, String guestPath, boolean writable) {
            shares.add(new Share(host.toAbsolutePath(), guestPath, writable));
            return this;
        }

        /** Shares the host's JDK read-only at the same path. */
        public Builder shareJdk() {
            return share(jdkHome(), jdkHome().toString(), false);
        }

        /** Shares Maven's {@code target/} directory writable at the same path (classes, test classes, outputs). */
        public Builder shareBuildDir() {
            return share(Env.buildDir(), Env.buildDir().toString(), true);
        }

        /**
         * Boots the guest in the background (for tests that drive QEMU while the guest runs,
         * e.g. live migration); the caller closes the handle, which kills QEMU.
         */
        public Running start() throws IOException {
            Prepared pr = prepare();
            Process p =
                    new ProcessBuilder(pr.cmd).redirectErrorStream(true).redirectOutput(pr.qemuOut.toFile()).start();
            return new Running(name, p, pr.cmd, pr.console, pr.qemuOut, pr.initrd, pr.runDir);
        }

        private record Prepared(List<String> cmd, Path runDir, Path initrd, Path console, Path qemuOut) {}

        private Prepared prepare() throws IOException {
            String release = kernelRelease();
            if (release == null) throw new IOException("no kernel with modules found in /boot and /lib/modules");
            Path work = Env.buildDir().resolve("qemu");
            Files.createDirectories(work);
            Path base =
                    Initramfs.base(work.resolve("cache"), release, modules, Path.of("/bin/busybox"), extraBaseFiles);

            String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("HHmmss-SSS"));
            Path runDir = Files.createTempDirectory(work, name + "-" + stamp + "-");
            Path initrd = runDir.resolve("initrd.img");
            Path console = runDir.resolve("console.log");
            Path qemuOut = runDir.resolve("qemu.out");

            Map<String, String> jobFiles = new LinkedHashMap<>();
            jobFiles.put("/init", initScript());
            jobFiles.put("/job.sh", script + "\n");
            jobFiles.putAll(files);
            Initramfs.concat(base, Initramfs.job(jobFiles), initrd);

            List<String> cmd = new ArrayList<>(List.of(
                    "qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-smp", Integer.toString(cpus),
                    "-m", memoryMb + "M", "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
                    "-monitor", "none", "-serial", "file:" + console,
                    "-kernel", kernel().toString(), "-initrd", initrd.toString(),
                    "-append", "console=ttyS0 panic=-1 loglevel=4 rdinit=/init " + String.join(" ", kernelArgs)));
            for (int i = 0; i < shares.size(); i++) {
                Share s = shares.get(i);
                cmd.add("-virtfs");
                cmd.add("local,path=" + s.hostPath() + ",mount_tag=rl" + i + ",security_model=none"
                        + (s.writable() ? "" : ",readonly=on"));
            }
            cmd.addAll(qemuArgs);
            return new Prepared(cmd, runDir, initrd, console, qemuOut);
        }

        /** Boots the guest, runs the job and returns its outcome (never throws for a failing job). */
        public GuestResult run() throws IOException, InterruptedException {
            Prepared pr = prepare();
            List<String> cmd = pr.cmd;
            Path initrd = pr.initrd, console = pr.console, qemuOut = pr.qemuOut;
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(qemuOut.toFile()).start();
            Thread killer = new Thread(p::destroyForcibly, "qemu-killer-" + name);
            Runtime.getRuntime().addShutdownHook(killer);
            Integer exit = null;
            boolean timedOut = false;
            try {
                long deadline = t0 + timeout.toNanos();
                Pattern marker = Pattern.compile(Pattern.quote(EXIT_MARKER) + "(-?\\d+)");
                while (true) {
                    String log = read(console);
                    Matcher m = marker.matcher(log);
                    if (m.find()) {
                        exit = Integer.parseInt(m.group(1));
                        // Give the guest a moment to power off cleanly; it is killed below anyway.
                        p.waitFor(3, TimeUnit.SECONDS);
                        break;
                    }
                    if (!p.isAlive()) break;
                    if (System.nanoTime() > deadline) {
                        timedOut = true;
                        break;
                    }
                    Thread.sleep(100);
                }
            } finally {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                try {
                    Runtime.getRuntime().removeShutdownHook(killer);
                } catch (IllegalStateException ignored) {
                    // JVM shutting down: the hook runs anyway
                }
            }
            Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
            Files.deleteIfExists(initrd);
            return new GuestResult(name, exit == null ? -1 : exit, timedOut, read(console), read(qemuOut),
                    String.join(" ", cmd), console, elapsed);
        }

        private String initScript() {
            StringBuilder sb = new StringBuilder();
            sb.append("""
                    #!/bin/busybox sh
                    /bin/busybox --install -s /bin
                    # rootfs starts world-writable; programs that check their paths (DPDK's plugin loader) refuse that
                    /bin/busybox chmod 755 /
                    export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
                    mount -t proc proc /proc
                    mount -t sysfs sys /sys
                    mount -t devtmpfs dev /dev
                    mkdir -p /dev/pts /dev/shm /dev/hugepages
                    mount -t devpts devpts /dev/pts
                    mount -t tmpfs shm /dev/shm
                    mount -t tmpfs tmp /tmp
                    mount -t tmpfs run /run
                    mkdir -p /var/tmp && ln -sfn /run /var/run
                    setup_failed=0
                    for m in $(cat /etc/ringlink-modules); do
                      insmod "$m" || { echo "ringlink-init: insmod $m failed"; setup_failed=1; }
                    done
                    """);
            for (int i = 0; i < shares.size(); i++) {
                Share s = shares.get(i);
                String dir = shellQuote(s.guestPath());
                String opts = "trans=virtio,version=9p2000.L,msize=512000"
                        + (s.writable() ? ",cache=mmap" : ",cache=loose,ro");
                sb.append("mkdir -p ").append(dir).append('\n');
                sb.append("mount -t 9p -o ").append(opts).append(" rl").append(i).append(' ').append(dir)
                        .append(" || { echo \"ringlink-init: mounting 9p share rl").append(i).append(" at ")
                        .append(s.guestPath()).append(" failed\"; setup_failed=1; }\n");
            }
            sb.append("""
                    ip link set lo up
                    cd /tmp
                    if [ "$setup_failed" = 0 ]; then
                      echo %s
                      sh -e /job.sh
                      rc=$?
                    else
                      rc=125
                    fi
                    echo %s$rc
                    sync
                    poweroff -f
                    """.formatted(START_MARKER, EXIT_MARKER));
            return sb.toString();
        }
    }

    /**
     * A guest QEMU started with {@link Builder#start()}: its console can be watched, a second
     * QEMU with the same command line (a live-migration destination) started from it, and
     * {@link #close()} kills it.
     */
    public static final class Running implements AutoCloseable {
        private final String name;
        private final Process process;
        private final List<String> cmd;
        private final Path console;
        private final Path qemuOut;
        private final Path initrd; // deleted by the source's close (a copy shares it)
        private final Path runDir;
        private final Thread killer;

        Running(String name, Process process, List<String> cmd, Path console, Path qemuOut, Path initrd, Path runDir) {
            this.name = name;
            this.process = process;
            this.cmd = List.copyOf(cmd);
            this.console = console;
            this.qemuOut = qemuOut;
            this.initrd = initrd;
            this.runDir = runDir;
            this.killer = new Thread(process::destroyForcibly, "qemu-killer-" + name);
            Runtime.getRuntime().addShutdownHook(killer);
        }

        /** The QEMU process. */
        public Process process() { return process; }

        /** The QEMU command line. */
        public List<String> command() { return cmd; }

        /** The guest's serial console so far. */
        public String console() throws IOException { return read(console); }

        /** QEMU's own output so far (stdout and stderr). */
        public String qemuOutput() throws IOException { return read(qemuOut); }

        /** Waits (bounded) until the console holds {@code text}; false on timeout or QEMU exit. */
        public boolean awaitConsole(String text, Duration timeout) throws IOException, InterruptedException {
            long end = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < end) {
                if (read(console).contains(text)) return true;
                if (!process.isAlive()) return read(console).contains(text);
                Thread.sleep(100);
            }
            return false;
        }

        /**
         * Starts a second QEMU with the same command line passed through {@code rewrite} (e.g.
         * another vhost-user socket and monitor path), its own console file and
         * {@code extraArgs} appended (e.g. {@code -incoming unix:...}).
         */
        public Running startCopy(String suffix, java.util.function.UnaryOperator<String> rewrite, String... extraArgs)
                throws IOException {
            Path c2 = runDir.resolve("console-" + suffix + ".log");
            List<String> cmd2 = new ArrayList<>();
            for (String a : cmd) cmd2.add(rewrite.apply(a));
            int i = cmd2.indexOf(rewrite.apply("file:" + console));
            if (i < 0) throw new IllegalStateException("no serial console in " + cmd2);
            cmd2.set(i, "file:" + c2);
            cmd2.addAll(Arrays.asList(extraArgs));
            Path out2 = runDir.resolve("qemu-" + suffix + ".out");
            Process p = new ProcessBuilder(cmd2).redirectErrorStream(true).redirectOutput(out2.toFile()).start();
            return new Running(name + "-" + suffix, p, cmd2, c2, out2, null, runDir);
        }

        /** Kills QEMU (and removes the source's initrd). */
        @Override
        public void close() throws IOException, InterruptedException {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            try {
                Runtime.getRuntime().removeShutdownHook(killer);
            } catch (IllegalStateException ignored) {
                // JVM shutting down: the hook runs anyway
            }
            if (initrd != null) Files.deleteIfExists(initrd);
        }

        @Override
        public String toString() { return "QEMU guest " + name + " (" + String.join(" ", cmd) + ")"; }
    }

    private static String read(Path p) throws IOException {
        if (!Files.exists(p)) return "";
        return new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
    }
}
