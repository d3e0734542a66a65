package ringlink.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Compiles a small C program with gcc and reads back {@code name value} lines: how tests check
 * hand-written layouts and constants against the real kernel/libc headers.
 *
 * <pre>{@code
 * Map<String, Long> v = CProbe.run("#include <linux/virtio_ring.h>",
 *         "P(sizeof(struct vring_desc)); P(offsetof(struct vring_desc, len));");
 * }</pre>
 * Inside the body, {@code P(expr)} prints {@code "expr value"}.
 */
public final class CProbe {
    private CProbe() {}

    public static Map<String, Long> run(String includes, String body) {
        return run(includes, body, new String[0]);
    }

    /** As {@link #run(String, String)}, with extra gcc arguments (include paths of a library's headers). */
    public static Map<String, Long> run(String includes, String body, String... gccArgs) {
        Path gcc = Env.requireProgram("gcc", "gcc");
        try {
            Path dir = Files.createTempDirectory("ringlink-cprobe");
            Path src = dir.resolve("probe.c");
            Path exe = dir.resolve("probe");
            Files.writeString(src, """
                    #define _GNU_SOURCE
                    #include <stdio.h>
                    #include <stddef.h>
                    %s
                    #define P(x) printf("%%s %%lld\\n", #x, (long long)(x))
                    int main(void) { %s return 0; }
                    """.formatted(includes, body));
            java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(gcc.toString(), "-O0", "-w"));
            cmd.addAll(java.util.List.of(gccArgs));
            cmd.addAll(java.util.List.of("-o", exe.toString(), src.toString()));
            Env.run(60, cmd.toArray(String[]::new));
            String out = Env.run(30, exe.toString());
            Map<String, Long> m = new LinkedHashMap<>();
            for (String line : out.split("\n")) {
                int sp = line.lastIndexOf(' ');
                if (sp > 0) m.put(line.substring(0, sp), Long.parseLong(line.substring(sp + 1)));
            }
            Files.deleteIfExists(exe);
            Files.deleteIfExists(src);
            Files.deleteIfExists(dir);
            return m;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Starts a list of expected values, checked with one probe: a layout test names each C
     * expression once, next to the Java constant it must equal.
     * <pre>{@code
     * CProbe.expect()
     *         .that("sizeof(struct vring_desc)", VringDescLayout.SIZE)
     *         .that("VRING_DESC_F_NEXT", VringDescLayout.F_NEXT)
     *         .check("#include <linux/virtio_ring.h>");
     * }</pre>
     */
    public static Expect expect() {
        return new Expect();
    }

    /** C expressions and the values our layouts and constants give them; see {@link #expect()}. */
    public static final class Expect {
        private final Map<String, Long> want = new LinkedHashMap<>();

        private Expect() {}

        /** The C expression {@code cExpr} must evaluate to {@code value}. */
        public Expect that(String cExpr, long value) {
            if (want.putIfAbsent(cExpr, value) != null) throw new IllegalArgumentException("expected twice: " + cExpr);
            return this;
        }

        /**
         * Compiles one probe printing every expression (after {@code includes}, with
         * {@code gccArgs}) and fails listing every value that differs.
         */
        public void check(String includes, String... gccArgs) {
            StringBuilder body = new StringBuilder();
            for (String e : want.keySet()) body.append("P(").append(e).append(");\n");
            Map<String, Long> got = run(includes, body.toString(), gccArgs);
            java.util.List<String> bad = new java.util.ArrayList<>();
            want.forEach((e, v) -> {
                if (!v.equals(got.get(e))) bad.add(e + ": the C compiler says " + got.get(e) + ", ours is " + v);
            });
            if (!bad.isEmpty()) {
                throw new AssertionError(bad.size() + " of " + want.size() + " differ:\n  " + String.join("\n  ", bad));
            }
        }
    }
}
