package ringlink.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code ringlink} command. */
@Command(name = "ringlink", mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Fast, safe packet I/O for the JVM: links over virtio, vhost, TUN/TAP, AF_XDP and shared memory.",
        subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Reads the version from the jar manifest (falls back to "dev"). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"ringlink " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
