package dev.baton.proxy;

import dev.baton.proxy.config.BatonConfig;
import dev.baton.proxy.config.ConfigException;
import dev.baton.proxy.config.ConfigLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code baton-proxy --config FILE}, {@code --check-config FILE}, {@code --version}, {@code --help}. Exit code 2 with
 * one line on standard error for anything that stops it from starting: bad arguments, a config problem, an address
 * it cannot listen on.
 */
@Command(name = "baton-proxy", mixinStandardHelpOptions = true, versionProvider = BatonProxyMain.Version.class,
        usageHelpAutoWidth = true,
        description = "Starts Baton with the YAML config FILE (keys in docs/configuration.md).",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:--check-config found the config valid; --help, --version",
                "2:bad arguments, a config problem, an address Baton cannot listen on"})
public final class BatonProxyMain implements Callable<Integer> {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(BatonProxyMain.class);
    private static final String USAGE = "(usage: baton-proxy --config FILE)";

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "The config to start Baton with.")
    Path config;

    @Option(names = "--check-config", paramLabel = "FILE",
            description = "Loads and validates FILE, prints what it describes or its one-line error, and exits; starts nothing.")
    Path checkConfig;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The running Baton once {@code --config} has started it; null for every other use. */
    private BatonProxy started;

    private BatonProxyMain() {
    }

    /** Netty's leak detector level; see {@link #productionDefaults}. */
    static final String LEAK_DETECTION_LEVEL = "io.netty.leakDetection.level";

    /**
     * Turns Netty's buffer leak detector off unless a level was given ({@code -Dio.netty.leakDetection.level=...} in
     * BATON_JAVA_OPTS): its default samples every hundredth buffer with a stack trace, which costs CPU on every query
     * (docs/benchmarks.md). Tests set paranoid and keep it. Must run before Netty's first class loads.
     */
    static void productionDefaults(java.util.Properties system) {
        if (system.getProperty(LEAK_DETECTION_LEVEL) == null && system.getProperty("io.netty.leakDetectionLevel") == null) {
            system.setProperty(LEAK_DETECTION_LEVEL, "disabled");
        }
    }

    public static void main(String[] args) {
        productionDefaults(System.getProperties());
        BatonProxyMain main = new BatonProxyMain();
        int exit = run(main, new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
        if (main.started == null) {
            System.exit(exit);
        }
        BatonProxy proxy = main.started;
        Runtime.getRuntime().addShutdownHook(new Thread(proxy::close, "baton-shutdown"));
        reloadOnHangup(proxy);
    }

    /**
     * SIGHUP reloads the config file (as {@code systemctl reload} and {@code kill -HUP} send it) instead of ending the
     * JVM. {@code sun.misc.Signal} is in the JDK's {@code jdk.unsupported} module, open to every application.
     */
    static void reloadOnHangup(BatonProxy proxy) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
                try {
                    proxy.reload(); // logs what it did
                } catch (RuntimeException e) {
                    log.error("config reload on SIGHUP failed", e);
                }
            });
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            log.warn("cannot reload on SIGHUP here ({}); use baton reload or POST /api/v1/reload", e.getMessage());
            return;
        }
        if (hangupIgnored(java.nio.file.Path.of("/proc/self/status"))) {
            // The JVM accepts the handler but leaves an inherited "ignore" in place: kill -HUP would do nothing.
            log.warn("SIGHUP is ignored in this process (inherited from whatever started Baton, such as nohup), so kill -HUP "
                    + "and systemctl reload do nothing; use baton reload or POST /api/v1/reload, or start Baton without nohup");
        }
    }

    /** Whether the kernel ignores SIGHUP for this process, from the SigIgn mask of {@code status}; false where unknown. */
    static boolean hangupIgnored(java.nio.file.Path status) {
        try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(status)) {
            return lines.filter(line -> line.startsWith("SigIgn:")).findFirst()
                    .map(line -> (Long.parseUnsignedLong(line.substring("SigIgn:".length()).trim(), 16) & 1L) != 0)
                    .orElse(false);
        } catch (java.io.IOException | RuntimeException e) {
            return false; // not Linux, or a format this does not know: nothing to warn about
        }
    }

    /** Runs the command line with the given streams and returns the exit code; {@code --config} starts Baton. */
    static int run(PrintWriter out, PrintWriter err, String... args) {
        return run(new BatonProxyMain(), out, err, args);
    }

    private static int run(BatonProxyMain main, PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(main);
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((e, a) -> {
            if (e instanceof CommandLine.UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
                err.println("baton-proxy: unknown argument '" + unmatched.getUnmatched().get(0) + "' " + USAGE);
            } else if (e instanceof CommandLine.MissingParameterException missing && missing.getMissing().size() == 1
                    && missing.getMissing().get(0) instanceof CommandLine.Model.OptionSpec option) {
                err.println("baton-proxy: " + option.longestName() + " needs a file " + USAGE);
            } else {
                err.println("baton-proxy: " + e.getMessage() + " " + USAGE);
            }
            return 2;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        if (config != null && checkConfig != null) {
            err.println("baton-proxy: give either --config or --check-config, not both " + USAGE);
            return 2;
        }
        if (checkConfig != null) {
            return check(checkConfig, spec.commandLine().getOut(), err);
        }
        if (config == null) {
            err.println("baton-proxy: no config given " + USAGE);
            return 2;
        }
        try {
            started = BatonProxy.start(ConfigLoader.load(config));
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return 2;
        }
        return 0;
    }

    /** {@code --check-config}: what the file describes, with any warning, or its one-line error. */
    private static int check(Path file, PrintWriter out, PrintWriter err) {
        BatonConfig loaded;
        try {
            loaded = ConfigLoader.load(file, warning -> err.println("warning: " + warning));
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return 2;
        }
        out.println("config OK: " + summary(loaded));
        return 0;
    }

    static String summary(BatonConfig config) {
        return config.clusterType().configName() + " cluster of " + config.nodes().size() + " node(s) "
                + config.nodes().stream().map(Object::toString).collect(Collectors.joining(", ", "[", "]"))
                + ", listen " + config.listen() + ", admin " + config.adminListen();
    }

    static String version() {
        String v = BatonProxyMain.class.getPackage().getImplementationVersion();
        return v == null ? "development build" : v;
    }

    /** {@code --version}: the version the jar's manifest names. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"baton-proxy " + version()};
        }
    }
}
