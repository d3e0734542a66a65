package ringlink.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import ringlink.cli.bench.BenchCommand;
import ringlink.cli.demo.DemoCommand;
import ringlink.cli.support.Terminal;

/** Entry point of the {@code ringlink} command. */
@Command(name = "ringlink", mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description =
                {"Fast, safe packet I/O for the JVM: links over virtio, vhost, TUN/TAP, AF_XDP and shared memory.", ""},
        commandListHeading = "Commands:%n",
        footer = {"", "A link is named by a spec, scheme:target?key=value (e.g. tap:rl0?offload=tso); 'ringlink links' "
                + "lists the schemes in this build.",
            "", "Start with 'sudo ./ringlink demo'. 'ringlink COMMAND --help' tells more."},
        subcommands =
                {DemoCommand.class, SwitchCommand.class, CtlCommand.class, CaptureCommand.class, BenchCommand.class,
            LinksCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with Ringlink's error handling: a failure prints one clear line, not a stack trace. */
    public static CommandLine commandLine() {
        CommandLine cmd = new CommandLine(new Main());
        cmd.setUsageHelpWidth(100);
        cmd.setUsageHelpAutoWidth(true);
        // 'ringlink ctl port/show --json': everything after the command is the command's.
        cmd.getSubcommands().get("ctl").setStopAtPositional(true);
        cmd.setExecutionExceptionHandler((e, c, parsed) -> {
            c.getErr().println("ringlink " + c.getCommandName() + ": "
                    + (e.getMessage() == null ? e.toString() : e.getMessage()));
            if (System.getenv("RINGLINK_DEBUG") != null) e.printStackTrace(c.getErr());
            else c.getErr().println("(set RINGLINK_DEBUG=1 for the stack trace)");
            return 1;
        });
        return cmd;
    }

    /** True when standard output is an interactive terminal (status lines rewrite themselves then). */
    public static boolean isTty() {
        return Terminal.stdoutIsTty();
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
