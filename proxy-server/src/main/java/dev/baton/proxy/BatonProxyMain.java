package dev.baton.proxy;

import dev.baton.proxy.config.BatonConfig;
import dev.baton.proxy.config.ConfigException;
import dev.baton.proxy.config.ConfigLoader;

import java.nio.file.Path;

/**
 * {@code baton-proxy --config FILE}. Exit code 2 with one line on standard error for anything that stops it from
 * starting: bad arguments, a config problem, an address it cannot listen on.
 */
public final class BatonProxyMain {
    private BatonProxyMain() {
    }

    public static void main(String[] args) {
        Path config = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config", "-c" -> {
                    if (i + 1 >= args.length) {
                        exit("baton-proxy: --config needs a file (usage: baton-proxy --config FILE)");
                    }
                    config = Path.of(args[++i]);
                }
                case "--help", "-h" -> {
                    System.out.println("usage: baton-proxy --config FILE\n"
                            + "Starts Baton with the YAML config FILE (keys in docs/configuration.md).");
                    return;
                }
                case "--version" -> {
                    System.out.println("baton-proxy " + version());
                    return;
                }
                default -> {
                    if (args[i].startsWith("--config=")) {
                        config = Path.of(args[i].substring("--config=".length()));
                    } else {
                        exit("baton-proxy: unknown argument '" + args[i] + "' (usage: baton-proxy --config FILE)");
                    }
                }
            }
        }
        if (config == null) {
            exit("baton-proxy: no config given (usage: baton-proxy --config FILE)");
        }
        BatonProxy proxy;
        try {
            BatonConfig loaded = ConfigLoader.load(config);
            proxy = BatonProxy.start(loaded);
        } catch (ConfigException e) {
            exit(e.getMessage());
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(proxy::close, "baton-shutdown"));
    }

    static String version() {
        String v = BatonProxyMain.class.getPackage().getImplementationVersion();
        return v == null ? "development build" : v;
    }

    private static void exit(String line) {
        System.err.println(line);
        System.exit(2);
    }
}
