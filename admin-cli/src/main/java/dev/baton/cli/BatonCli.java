package dev.baton.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code baton}: the operator's command line for a running Baton. It talks to the admin API and nothing else.
 * Exit codes: 0 success, 1 the command ran and the answer is bad (or Baton is unreachable), 2 bad usage.
 */
@Command(name = "baton", mixinStandardHelpOptions = true, versionProvider = BatonCli.Version.class,
        description = "Talks to a running Baton's admin API.",
        subcommands = {BatonCli.Health.class})
public final class BatonCli implements Runnable {

    @Option(names = "--url", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "Admin API of the Baton to ask (default: $BATON_URL or http://127.0.0.1:6034).")
    String url = System.getenv().getOrDefault("BATON_URL", "http://127.0.0.1:6034");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the command line with the given streams; returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new BatonCli());
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

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
    }

    /** {@code baton health}: can Baton route, and to which writer? */
    @Command(name = "health", description = "Shows whether Baton can route clients and to which writer; exit 1 if not.")
    static final class Health implements java.util.concurrent.Callable<Integer> {
        private static final Pattern FIELD = Pattern.compile("\"(\\w+)\":(?:\"((?:[^\"\\\\]|\\\\.)*)\"|(\\d+))");

        @CommandLine.ParentCommand
        BatonCli parent;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            HttpResponse<String> response = get(parent.url, "/healthz");
            String body = response.body();
            PrintWriter out = spec.commandLine().getOut();
            if (response.statusCode() == 200) {
                out.println("ok: writer " + field(body, "writer") + " (epoch " + field(body, "epoch") + "), "
                        + field(body, "sessions") + " client session(s)");
                return 0;
            }
            if (response.statusCode() == 503) {
                out.println("no writer: " + field(body, "reason"));
                return 1;
            }
            throw new IllegalStateException(parent.url + " answered HTTP " + response.statusCode() + ": " + body.strip());
        }

        private static String field(String json, String name) {
            Matcher m = FIELD.matcher(json);
            while (m.find()) {
                if (m.group(1).equals(name)) {
                    return m.group(2) != null ? m.group(2).replace("\\\"", "\"").replace("\\\\", "\\") : m.group(3);
                }
            }
            return "?";
        }
    }

    static HttpResponse<String> get(String base, String path) throws IOException, InterruptedException {
        URI uri;
        try {
            uri = URI.create(base.replaceAll("/+$", "") + path);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--url '" + base + "' is not a URL");
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
        try {
            return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new IOException("cannot reach Baton's admin API at " + base + " (is Baton running? is --url right?)");
        }
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
