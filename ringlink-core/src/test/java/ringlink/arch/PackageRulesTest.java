package ringlink.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import ringlink.testing.Env;

/**
 * Rules about the shape of the packages that the compiler does not check (issue 16, section 4),
 * read from the sources of {@code src/main/java} (comments and string literals removed first):
 * <ul>
 * <li>no cycles among the {@code ringlink.*} packages (subpackages count as packages of their
 *     own: {@code cli}, {@code cli.bench}, {@code cli.demo}, {@code cli.support}, ...);</li>
 * <li>only the CLI ({@code ringlink.cli} and below) starts processes; the library never does;</li>
 * <li>raw addresses are made into segments ({@code MemorySegment.ofAddress}, {@code reinterpret})
 *     only in {@code ringlink.sys}; building a pointer from a segment's {@code address()} (stored
 *     into native memory, or pointer arithmetic) only in {@code sys} and in the files listed in
 *     {@link #POINTER_BUILDERS}, a list that may only shrink.</li>
 * </ul>
 */
class PackageRulesTest {
    /**
     * The main sources of the library and of the CLI module beside it (the rules span both: the
     * CLI's packages must not form cycles either, and only they may start processes).
     */
    private static final List<Path> MAIN = List.of(Env.projectDir().resolve("src/main/java"),
            Env.projectDir().resolve("../ringlink-cli/src/main/java").normalize());
    private static final Pattern PACKAGE = Pattern.compile("^package\\s+([\\w.]+);", Pattern.MULTILINE);
    /** A qualified reference to a ringlink class, in an import or inline: {@code ringlink.a.b.Class}. */
    private static final Pattern REFERENCE = Pattern.compile("\\bringlink((?:\\.[a-z][a-z0-9_]*)+)\\.[A-Z]");

    /**
     * Files outside {@code sys} that still build native pointers from {@code address()} instead of
     * through {@code sys.Pointers} or a {@code sys} layout. Known debt (docs/ARCHITECTURE.md), not
     * a licence: a new file here fails the test.
     */
    private static final Set<String> POINTER_BUILDERS = Set.of(); // empty: every pointer is built in sys

    /** A main source file: its path under src/main/java, its package, its code without comments and strings. */
    record Source(String path, String pkg, String code) {}

    static List<Source> sources() throws IOException {
        List<Source> out = new ArrayList<>();
        for (Path root : MAIN) {
            if (!Files.isDirectory(root)) throw new IOException("no sources at " + root);
            try (Stream<Path> s = Files.walk(root)) {
                for (Path p : s.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
                    String text = Files.readString(p);
                    Matcher m = PACKAGE.matcher(text);
                    String pkg = m.find() ? m.group(1) : "";
                    out.add(new Source(root.relativize(p).toString(), pkg, code(text)));
                }
            }
        }
        return out;
    }

    /** The text with comments, string and char literals blanked (so javadoc mentions are no dependencies). */
    static String code(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        int i = 0, n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
                int e = s.indexOf("*/", i + 2);
                i = e < 0 ? n : e + 2;
                sb.append(' ');
            } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
                while (i < n && s.charAt(i) != '\n') i++;
            } else if (c == '"' && s.startsWith("\"\"\"", i)) {
                int e = s.indexOf("\"\"\"", i + 3);
                i = e < 0 ? n : e + 3;
                sb.append("\"\"");
            } else if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < n && s.charAt(j) != c && s.charAt(j) != '\n') j += s.charAt(j) == '\\' ? 2 : 1;
                i = j + 1;
                sb.append(c).append(c);
            } else {
                sb.append(c);
                i++;
            }
        }
        return sb.toString();
    }

    /** Package → the ringlink packages its classes refer to (imports and qualified names). */
    static Map<String, Set<String>> packageGraph(List<Source> sources) {
        Map<String, Set<String>> g = new TreeMap<>();
        for (Source s : sources) {
            Set<String> deps = g.computeIfAbsent(s.pkg(), k -> new TreeSet<>());
            Matcher m = REFERENCE.matcher(s.code());
            while (m.find()) {
                String target = "ringlink" + m.group(1);
                if (!target.equals(s.pkg())) deps.add(target);
            }
        }
        g.values().forEach(d -> d.retainAll(g.keySet())); // references to classes, not packages, of ours only
        return g;
    }

    /** The strongly connected components with more than one package (Tarjan). */
    static List<List<String>> cycles(Map<String, Set<String>> g) {
        Map<String, Integer> index = new HashMap<>(), low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new java.util.HashSet<>();
        List<List<String>> out = new ArrayList<>();
        int[] counter = {0};
        for (String v : g.keySet()) {
            if (!index.containsKey(v)) strongConnect(v, g, index, low, stack, onStack, out, counter);
        }
        return out;
    }

    private static void strongConnect(String v, Map<String, Set<String>> g, Map<String, Integer> index,
            Map<String, Integer> low,
            Deque<String> stack, Set<String> onStack, List<List<String>> out, int[] counter) {
        index.put(v, counter[0]);
        low.put(v, counter[0]++);
        stack.push(v);
        onStack.add(v);
        for (String w : g.getOrDefault(v, Set.of())) {
            if (!index.containsKey(w)) {
                strongConnect(w, g, index, low, stack, onStack, out, counter);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            List<String> comp = new ArrayList<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                comp.add(w);
            } while (!w.equals(v));
            if (comp.size() > 1) out.add(comp.stream().sorted().toList());
        }
    }

    @Test
    void noPackageCycles() throws IOException {
        Map<String, Set<String>> g = packageGraph(sources());
        assertTrue(g.containsKey("ringlink.cli.support") && g.containsKey("ringlink.sys"),
                "found the packages: " + g.keySet());
        StringBuilder why = new StringBuilder();
        for (List<String> c : cycles(g)) {
            why.append("cycle among ").append(c).append(":\n");
            for (String p : c) why.append("  ").append(p).append(" -> ").append(g.get(p)).append('\n');
        }
        assertTrue(why.isEmpty(), why.toString());
    }

    @Test
    void theCycleFinderFindsACycle() {
        Map<String, Set<String>> g =
                new TreeMap<>(Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of("a")));
        assertEquals(List.of(List.of("a", "b", "c")), cycles(g));
        String c = code("x(\"ringlink.sw.Switch\", 'q') /* ringlink.cli.Main */ y // ringlink.tun.TunLink\n\"\"\"\nring"
                + "link.a.B\n\"\"\" z");
        assertTrue(c.startsWith("x(\"\", '')") && c.contains(" y") && c.endsWith(" z") && !c.contains("ringlink"), c);
    }

    @Test
    void onlyTheCliStartsProcesses() throws IOException {
        Pattern spawn = Pattern.compile(
                "\\bProcessBuilder\\b|Runtime\\s*\\.\\s*getRuntime\\s*\\(\\s*\\)\\s*\\.\\s*exec\\b|\\.exec\\s*\\(");
        List<String> bad = new ArrayList<>();
        for (Source s : sources()) {
            if (s.pkg().equals("ringlink.cli") || s.pkg().startsWith("ringlink.cli.")) continue;
            Matcher m = spawn.matcher(s.code());
            if (m.find()) bad.add(s.path() + ": " + m.group());
        }
        assertTrue(bad.isEmpty(),
                "the library must not start processes (a harness belongs in ringlink.cli or the tests):\n"
                + String.join("\n", bad));
    }

    @Test
    void rawAddressesBecomeSegmentsOnlyInSys() throws IOException {
        Pattern raw = Pattern.compile("MemorySegment\\s*\\.\\s*ofAddress\\s*\\(|\\.reinterpret\\s*\\(");
        List<String> bad = new ArrayList<>();
        for (Source s : sources()) {
            if (s.pkg().equals("ringlink.sys")) continue;
            Matcher m = raw.matcher(s.code());
            if (m.find()) bad.add(s.path() + ": " + m.group());
        }
        assertTrue(bad.isEmpty(), "only ringlink.sys turns raw addresses into segments:\n" + String.join("\n", bad));
    }

    @Test
    void pointersAreBuiltFromAddressesOnlyInSysAndTheKnownFiles() throws IOException {
        // address() stored into memory (a .set(LAYOUT, ...) of the same statement) or used in pointer arithmetic
        Pattern pointer = Pattern.compile("\\.set\\(\\s*[\\w.]+\\s*,[^;]*\\.address\\(\\)|\\.address\\(\\)\\s*[-+]");
        List<String> bad = new ArrayList<>();
        Set<String> stillThere = new TreeSet<>();
        for (Source s : sources()) {
            if (s.pkg().equals("ringlink.sys")) continue;
            Matcher m = pointer.matcher(s.code());
            if (!m.find()) continue;
            if (POINTER_BUILDERS.contains(s.path())) stillThere.add(s.path());
            else bad.add(s.path() + ": " + m.group());
        }
        assertTrue(bad.isEmpty(), "native pointers are built in ringlink.sys (a new file builds them itself):\n"
                + String.join("\n", bad));
        Set<String> gone = new TreeSet<>(POINTER_BUILDERS);
        gone.removeAll(stillThere);
        assertTrue(gone.isEmpty(), "no longer builds pointers, take it off POINTER_BUILDERS: " + gone);
    }
}
