package dev.baton.cli;

import dev.baton.cli.commands.CheckCommand;
import dev.baton.cli.commands.CompletionCommand;
import dev.baton.cli.commands.EventsCommand;
import dev.baton.cli.commands.HealthCommand;
import dev.baton.cli.commands.MaintenanceCommand;
import dev.baton.cli.commands.ReloadCommand;
import dev.baton.cli.commands.StatusCommand;
import dev.baton.cli.commands.SwitchoverCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.PrintWriter;

/**
 * {@code baton}: the operator's command line for a running Baton. It talks to the admin API and nothing else.
 * Exit codes: 0 success, 1 the command ran and the answer is bad (or Baton is unreachable), 2 bad usage.
 */
@Command(name = "baton", mixinStandardHelpOptions = true, scope = ScopeType.INHERIT, versionProvider = BatonCli.Version.class,
        description = "Talks to a running Baton's admin API.",
        subcommands = {HealthCommand.class, StatusCommand.class, EventsCommand.class, SwitchoverCommand.class,
                MaintenanceCommand.class, CheckCommand.class, ReloadCommand.class, CompletionCommand.class})
public final class BatonCli implements Runnable {

    @Option(names = "--url", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "Admin API of the Baton to ask (default: $BATON_URL or http://127.0.0.1:6034).")
    String url = System.getenv().getOrDefault("BATON_URL", "http://127.0.0.1:6034");

    @Option(names = "--token", scope = ScopeType.INHERIT, paramLabel = "TOKEN",
            description = "Bearer token of the admin API (default: $BATON_TOKEN).")
    String token = System.getenv("BATON_TOKEN");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the command line with the given streams; returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = commandLine();
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((ex, a) -> {
            err.println("baton: " + ex.getMessage() + " (see baton --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            err.println("baton: " + ex.getMessage());
            return 1;
        });
        return cli.execute(args);
    }

    /** The command model: every command, option and parameter, as parsing and shell completion see them. */
    public static CommandLine commandLine() {
        return new CommandLine(new BatonCli());
    }

    /** The admin API of the Baton the options name. */
    public AdminClient client() {
        return new AdminClient(url, token);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
    }

    /** Version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = BatonCli.class.getPackage().getImplementationVersion();
            return new String[]{"baton " + (v == null ? "development build" : v)};
        }
    }
}
