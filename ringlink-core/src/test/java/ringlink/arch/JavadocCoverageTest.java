package ringlink.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.DocumentationTool;
import javax.tools.JavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import ringlink.testing.Env;

/**
 * Every public type and member of the exported packages has a javadoc comment (issue 17): runs
 * the JDK's javadoc over module {@code ringlink.core} with doclint's {@code missing} group and
 * fails on any "no comment" warning. The packaged javadoc build leaves {@code missing} out
 * (root pom.xml) because the group also reports documented methods without
 * {@code @param}/{@code @return}/{@code @throws} tags and default constructors, which the
 * project's one-sentence style does not write; those are ignored here too
 * (docs/JAVADOC-TODO.md counts them). Internal packages are not documented by javadoc at all, so
 * they are not checked. About 10-20 s (the doclet also writes the HTML, into a temporary
 * directory).
 */
class JavadocCoverageTest {
    @Test
    void everyExportedMemberHasAComment(@TempDir Path out) {
        DocumentationTool javadoc = ToolProvider.getSystemDocumentationTool();
        assertNotNull(javadoc, "no javadoc tool in this runtime (a JDK is needed, not a JRE)");
        DiagnosticCollector<JavaFileObject> diags = new DiagnosticCollector<>();
        Path sources = Env.projectDir().resolve("src/main/java");
        List<String> options = List.of("-quiet", "-locale", "en_US", "-Xdoclint:missing", "-Xmaxwarns", "100000",
                "-d", out.toString(),
                "--module-source-path", "ringlink.core=" + sources,
                "--module", "ringlink.core");
        boolean ok = javadoc.getTask(null, null, diags, null, options, null).call();

        TreeSet<String> undocumented = new TreeSet<>();
        TreeSet<String> errors = new TreeSet<>();
        for (Diagnostic<? extends JavaFileObject> d : diags.getDiagnostics()) {
            String where = (d.getSource() == null ? "?" : sources.relativize(Path.of(d.getSource().toUri())))
                    + ":" + d.getLineNumber();
            String msg = d.getMessage(Locale.ROOT);
            if (d.getKind() == Diagnostic.Kind.ERROR) errors.add(where + ": " + msg);
            else if (msg.equals("no comment")) undocumented.add(where);
        }
        assertTrue(ok && errors.isEmpty(), "javadoc failed: " + errors);
        assertEquals(List.of(), List.copyOf(undocumented),
                "public members of exported packages without a javadoc comment (write one sentence each)");
    }
}
