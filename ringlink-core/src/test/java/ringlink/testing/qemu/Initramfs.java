package ringlink.testing.qemu;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.GZIPOutputStream;

/**
 * The guest's initramfs in two parts, concatenated into one initrd (the kernel unpacks
 * consecutive cpio archives, compressed or not, into the same rootfs):
 * <ol>
 *   <li>a <em>base</em> archive (gzip) with busybox, kernel modules with their dependencies and
 *       the host's glibc, built once per set of inputs and cached under {@code target/} (the key
 *       is a hash of every input's path, size and mtime, so a kernel or busybox upgrade rebuilds);
 *   <li>a small uncompressed <em>job</em> archive with {@code /init} and the test's script,
 *       written for every run.
 * </ol>
 */
final class Initramfs {
    /** Bumped when the layout of the base archive changes, to invalidate old caches. */
    private static final int FORMAT = 1;

    /** glibc pieces the host JDK (and other dynamically linked host programs) need. */
    static final List<String> GLIBC = List.of(
            "/lib64/ld-linux-x86-64.so.2",
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/x86_64-linux-gnu/libm.so.6",
            "/lib/x86_64-linux-gnu/libdl.so.2",
            "/lib/x86_64-linux-gnu/libpthread.so.0",
            "/lib/x86_64-linux-gnu/librt.so.1",
            "/lib/x86_64-linux-gnu/libgcc_s.so.1",
            "/lib/x86_64-linux-gnu/libz.so.1");

    private Initramfs() {}

    /** Where the kernel release's modules are. */
    static Path moduleDir(String kernelRelease) {
        return Path.of("/lib/modules", kernelRelease);
    }

    /**
     * The modules to load for {@code wanted} (names like {@code vhost_net} or {@code 9pnet_virtio}),
     * dependencies first, as paths relative to the module directory.
     */
    static List<String> resolveModules(String kernelRelease, Set<String> wanted) throws IOException {
        Path dir = moduleDir(kernelRelease);
        Map<String, List<String>> deps = new LinkedHashMap<>();
        Map<String, String> byName = new LinkedHashMap<>();
        for (String line : Files.readAllLines(dir.resolve("modules.dep"))) {
            int colon = line.indexOf(':');
            if (colon < 0) continue;
            String mod = line.substring(0, colon).trim();
            List<String> d = new ArrayList<>();
            for (String x : line.substring(colon + 1).trim().split("\\s+")) {
                if (!x.isEmpty()) d.add(x);
            }
            deps.put(mod, d);
            byName.put(moduleName(mod), mod);
        }
        Set<String> order = new LinkedHashSet<>();
        for (String w : wanted) {
            String path = byName.get(w.replace('-', '_'));
            if (path == null) {
                // Built into the kernel (modules.builtin) is fine: nothing to load.
                if (isBuiltin(dir, w)) continue;
                throw new IOException("kernel module '" + w + "' is neither in " + dir.resolve("modules.dep")
                        + " nor built in");
            }
            visit(path, deps, order, new TreeSet<>());
        }
        return new ArrayList<>(order);
    }

    private static boolean isBuiltin(Path dir, String name) throws IOException {
        Path b = dir.resolve("modules.builtin");
        if (!Files.exists(b)) return false;
        for (String line : Files.readAllLines(b)) {
            if (moduleName(line.trim()).equals(name.replace('-', '_'))) return true;
        }
        return false;
    }

    /** Depth-first so that every module comes after what it depends on. */
    private static void visit(String mod, Map<String, List<String>> deps, Set<String> order, Set<String> stack) {
        if (order.contains(mod) || !stack.add(mod)) return;
        for (String d : deps.getOrDefault(mod, List.of())) visit(d, deps, order, stack);
        order.add(mod);
    }

    private static String moduleName(String path) {
        String f = path.substring(path.lastIndexOf('/') + 1);
        int ko = f.indexOf(".ko");
        return (ko >= 0 ? f.substring(0, ko) : f).replace('-', '_');
    }

    /**
     * The cached base archive for {@code kernelRelease} with {@code modules}, built if missing.
     */
    static Path base(Path cacheDir, String kernelRelease, Set<String> modules, Path busybox, List<String> extraFiles)
            throws IOException {
        List<String> mods = resolveModules(kernelRelease, modules);
        Path modDir = moduleDir(kernelRelease);
        List<Path> inputs = new ArrayList<>();
        inputs.add(busybox);
        for (String m : mods) inputs.add(modDir.resolve(m));
        for (String g : GLIBC) inputs.add(Path.of(g));
        for (String e : extraFiles) inputs.add(Path.of(e));

        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        StringBuilder key = new StringBuilder("format " + FORMAT + "\nkernel " + kernelRelease + "\n");
        for (Path p : inputs) {
            Path real = p.toRealPath();
            key.append(p).append(' ').append(Files.size(real)).append(' ')
                    .append(Files.getLastModifiedTime(real).toMillis()).append('\n');
        }
        String hash =
                HexFormat.of().formatHex(md.digest(key.toString().getBytes(StandardCharsets.UTF_8))).substring(0, 16);
        Path out = cacheDir.resolve("initramfs-base-" + hash + ".cpio.gz");
        if (Files.exists(out)) return out;

        Files.createDirectories(cacheDir);
        Path tmp = Files.createTempFile(cacheDir, "initramfs-", ".tmp");
        try {
            try (OutputStream os = new GZIPOutputStream(Files.newOutputStream(tmp), 1 << 16);
                 Cpio c = new Cpio(os)) {
                for (String d : List.of("/bin", "/sbin", "/etc", "/proc", "/sys", "/dev", "/tmp", "/run", "/mnt",
                        "/root", "/usr/bin", "/usr/sbin")) {
                    c.dir(d);
                }
                // The kernel opens /dev/console before running /init; without it init has no output.
                c.charDevice("/dev/console", 0600, 5, 1);
                c.charDevice("/dev/null", 0666, 1, 3);
                c.file("/bin/busybox", 0755, Files.readAllBytes(busybox));
                c.symlink("/bin/sh", "busybox");
                for (String g : GLIBC) {
                    Path p = Path.of(g);
                    if (Files.exists(p)) c.file(g, 0755, Files.readAllBytes(p.toRealPath()));
                }
                for (String e : extraFiles) {
                    c.file(e, 0755, Files.readAllBytes(Path.of(e).toRealPath()));
                }
                StringBuilder order = new StringBuilder();
                for (String m : mods) {
                    c.file("/lib/modules/" + kernelRelease + "/" + m, 0644, Files.readAllBytes(modDir.resolve(m)));
                    order.append("/lib/modules/").append(kernelRelease).append('/').append(m).append('\n');
                }
                c.file("/etc/ringlink-modules", 0644, order.toString().getBytes(StandardCharsets.UTF_8));
                c.file("/etc/passwd", 0644, "root:x:0:0:root:/root:/bin/sh\n".getBytes(StandardCharsets.UTF_8));
                c.file("/etc/group", 0644, "root:x:0:\n".getBytes(StandardCharsets.UTF_8));
                c.file("/etc/hosts", 0644, "127.0.0.1 localhost guest\n".getBytes(StandardCharsets.UTF_8));
            }
            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return out;
    }

    /** The per-run archive: {@code files} (path to content, all executable). */
    static byte[] job(Map<String, String> files) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (Cpio c = new Cpio(bo)) {
            for (var e : files.entrySet()) {
                c.file(e.getKey(), 0755, e.getValue().getBytes(StandardCharsets.UTF_8));
            }
        }
        return bo.toByteArray();
    }

    /** Writes base + job as one initrd; the job starts 512-byte aligned (zero padding is skipped). */
    static void concat(Path base, byte[] job, Path out) throws IOException {
        try (OutputStream os = Files.newOutputStream(out)) {
            long n = Files.copy(base, os);
            int pad = (int) ((512 - (n & 511)) & 511);
            os.write(new byte[pad]);
            os.write(job);
        }
    }
}
