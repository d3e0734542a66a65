package ringlink.cli.demo;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import ringlink.cli.support.Shell;

/**
 * A tiny QEMU guest for the demo: Debian's kernel, an initramfs of busybox-static and the
 * virtio-net modules, networking configured by {@code /init}. QEMU runs TCG (no KVM here) and
 * connects to the vhost-user socket of a Ringlink switch port (our back-end listens).
 */
public final class GuestVm implements AutoCloseable {
    private final Path dir;
    private final Process qemu;

    private GuestVm(Path dir, Process qemu) {
        this.dir = dir;
        this.qemu = qemu;
    }

    /** Why a guest cannot run here, or null. */
    public static String unavailable() {
        if (Shell.which("qemu-system-x86_64") == null)
                return "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)";
        if (!Files.isExecutable(Path.of("/bin/busybox")) && !Files.isExecutable(Path.of("/usr/bin/busybox"))) {
            return "busybox-static not installed";
        }
        return kernel() == null ? "no Debian kernel in /boot (apt-get install linux-image-amd64)" : null;
    }

    /** The newest /boot/vmlinuz-* with its modules directory. */
    static Path kernel() {
        try (var s = Files.list(Path.of("/boot"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("vmlinuz-"))
                    .filter(p -> Files.isDirectory(Path.of("/lib/modules", p.getFileName().toString().substring(8))))
                    .sorted().reduce((a, b) -> b).orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Boots a guest whose eth0 (virtio-net over vhost-user: QEMU connects to {@code socket}, where
     * a back-end must already listen) gets {@code cidr}. The guest prints {@code RINGLINK-GUEST-READY}
     * when its network is configured ({@link #awaitReady}).
     *
     * <p>With {@code queuePairs} &gt; 1 the device is multi-queue ({@code mq=on}, one vCPU per
     * pair; the back-end must offer as many): after it is up, the guest pings {@code peer} once
     * from each vCPU, so each of its transmit queues carries a packet.
     */
    public static GuestVm start(Path dir, Path socket, String mac, String cidr, String peer,
            int queuePairs) throws IOException {
        Path kernel = kernel();
        String version = kernel.getFileName().toString().substring(8);
        Path initrd = dir.resolve("initrd.cpio");
        List<String> modules = modules(version, List.of("virtio_pci", "virtio_net"));
        StringBuilder init = new StringBuilder("""
                #!/bin/busybox sh
                /bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
                /bin/busybox --install -s
                mount -t proc proc /proc
                mount -t sysfs sys /sys
                mount -t devtmpfs dev /dev
                """);
        for (String m : modules) init.append("insmod /lib/modules/").append(Path.of(m).getFileName()).append('\n');
        init.append("""
                ip link set lo up
                for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; sleep 1; done
                ip link set eth0 up
                ip addr add %s dev eth0
                echo RINGLINK-GUEST-READY
                (sleep 2; c=0; while [ $c -lt %d ]; do taskset -c $c ping -c 1 -W 5 %s >/dev/null; c=$((c+1)); done) &
                while true; do sleep 3600; done
                """.formatted(cidr, queuePairs, peer));
        try (OutputStream out = Files.newOutputStream(initrd)) {
            Cpio c = new Cpio(out);
            for (String d : List.of("bin", "lib", "lib/modules", "proc", "sys", "dev")) c.dir(d);
            Path busybox =
                    Files.isExecutable(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");
            c.file("bin/busybox", Files.readAllBytes(busybox), 0755);
            c.file("init", init.toString().getBytes(StandardCharsets.UTF_8), 0755);
            for (String m : modules) {
                c.file("lib/modules/" + Path.of(m).getFileName(),
                        Files.readAllBytes(Path.of("/lib/modules", version, m)), 0644);
            }
            c.end();
        }
        String mq = queuePairs > 1 ? ",mq=on" : "";
        Process q = new ProcessBuilder("qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-smp",
                Integer.toString(queuePairs), "-m", "512",
                "-object", "memory-backend-memfd,id=mem,size=512M,share=on", "-numa", "node,memdev=mem",
                "-kernel", kernel.toString(), "-initrd", initrd.toString(),
                "-append", "console=ttyS0 panic=-1 loglevel=4",
                "-nodefaults", "-nographic", "-no-reboot", "-serial", "file:" + dir.resolve("console.log"),
                "-chardev", "socket,id=c0,path=" + socket,
                // vectors=0: no MSI-X, which TCG guests handle slowly and the back-end does not need.
                "-netdev", "vhost-user,id=n0,chardev=c0,queues=" + queuePairs,
                "-device", "virtio-net-pci,netdev=n0,vectors=0" + mq + ",mac=" + mac)
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile()).start();
        return new GuestVm(dir, q);
    }

    /** Waits for the guest's network (TCG boots take a while on a busy machine). */
    public void awaitReady(long seconds) throws IOException {
        Path console = dir.resolve("console.log");
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (Files.exists(console)
                    && Files.readString(console, StandardCharsets.ISO_8859_1).contains("RINGLINK-GUEST-READY")) return;
            if (!qemu.isAlive()) throw new IOException("the guest stopped; its console ends with:\n" + consoleTail());
            sleep(200);
        }
        throw new IOException("the guest did not configure its network within " + seconds
                + " s; its console ends with:\n" + consoleTail());
    }

    private String consoleTail() throws IOException {
        Path console = dir.resolve("console.log");
        if (!Files.exists(console)) return "(nothing)";
        List<String> l = Files.readString(console, StandardCharsets.ISO_8859_1).lines().toList();
        return String.join("\n", l.subList(Math.max(0, l.size() - 12), l.size()));
    }

    @Override
    public void close() {
        qemu.destroy();
        try {
            if (!qemu.waitFor(5, TimeUnit.SECONDS)) qemu.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The modules (paths relative to /lib/modules/VERSION) for {@code wanted}, dependencies first. */
    static List<String> modules(String version, List<String> wanted) throws IOException {
        Map<String, List<String>> deps = new HashMap<>();
        Map<String, String> byName = new HashMap<>();
        for (String line : Files.readAllLines(Path.of("/lib/modules", version, "modules.dep"))) {
            int colon = line.indexOf(':');
            if (colon < 0) continue;
            String mod = line.substring(0, colon);
            String rest = line.substring(colon + 1).trim();
            deps.put(mod, rest.isEmpty() ? List.of() : List.of(rest.split("\\s+")));
            String name = Path.of(mod).getFileName().toString().replaceAll("\\.ko(\\..*)?$", "").replace('-', '_');
            byName.put(name, mod);
        }
        Set<String> order = new LinkedHashSet<>();
        for (String w : wanted) {
            String mod = byName.get(w);
            if (mod == null) continue; // built in
            addWithDeps(mod, deps, order);
        }
        for (String m : order) {
            if (!m.endsWith(".ko"))
                    throw new IOException("compressed kernel module " + m + " (busybox insmod needs plain .ko)");
        }
        return new ArrayList<>(order);
    }

    private static void addWithDeps(String mod, Map<String, List<String>> deps, Set<String> order) {
        if (order.contains(mod)) return;
        for (String d : deps.getOrDefault(mod, List.of())) addWithDeps(d, deps, order);
        order.add(mod);
    }

    /** A cpio "newc" archive writer (what the kernel unpacks as an initramfs). */
    static final class Cpio {
        private final OutputStream out;
        private int ino = 1;
        private long written;

        Cpio(OutputStream out) {
            this.out = out;
        }

        void dir(String name) throws IOException {
            entry(name, 040755, new byte[0]);
        }

        void file(String name, byte[] data, int mode) throws IOException {
            entry(name, 0100000 | mode, data);
        }

        void end() throws IOException {
            entry("TRAILER!!!", 0, new byte[0]);
            out.flush();
        }

        private void entry(String name, int mode, byte[] data) throws IOException {
            byte[] n = (name + "\0").getBytes(StandardCharsets.UTF_8);
            ByteArrayOutputStream h = new ByteArrayOutputStream();
            h.writeBytes("070701".getBytes(StandardCharsets.US_ASCII));
            int[] fields = {ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, n.length, 0};
            for (int f : fields) h.writeBytes(String.format("%08x", f).getBytes(StandardCharsets.US_ASCII));
            write(h.toByteArray());
            write(n);
            pad();
            write(data);
            pad();
        }

        private void write(byte[] b) throws IOException {
            out.write(b);
            written += b.length;
        }

        private void pad() throws IOException {
            while (written % 4 != 0) write(new byte[1]);
        }
    }
}
