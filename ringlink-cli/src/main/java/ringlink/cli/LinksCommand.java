package ringlink.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import ringlink.link.Links;

/** {@code ringlink links}: the link schemes this build knows and their parameters. */
@Command(name = "links", mixinStandardHelpOptions = true,
        description = "Lists the link schemes in this build (each transport registers one) and their spec forms.")
final class LinksCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        out.println("Link specs: scheme:target?key=value&key=value");
        for (var p : Links.providers().values()) out.println("  " + p.usage());
        out.flush();
    }
}
