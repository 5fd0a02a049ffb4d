package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * baton-VERSION.tar.gz as an operator installs it: unpacked into a directory of its own, its launchers start Baton
 * and the command line with no Maven and no source tree, and its systemd unit passes systemd-analyze.
 */
class TarballIT {
    private static final Path TARBALL = Path.of(System.getProperty("baton.tarball", "../distribution/target/baton.tar.gz"));
    private static final String VERSION = System.getProperty("baton.version", "?");

    @TempDir
    static Path unpacked;
    private static Path home;

    private record Run(int exit, String stdout, String stderr) {
    }

    @BeforeAll
    static void unpack() throws Exception {
        Run tar = run(Map.of(), "tar", "xzf", TARBALL.toString(), "-C", unpacked.toString());
        assertEquals(0, tar.exit(), "tar: " + tar.stderr());
        home = unpacked.resolve("baton-" + VERSION);
    }

    /** Runs a command to its end (at most a minute) with {@code env} added to this JVM's environment. */
    private static Run run(Map<String, String> env, String... command) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putAll(env);
        Path out = Files.createTempFile(unpacked, "out", ".txt");
        Path err = Files.createTempFile(unpacked, "err", ".txt");
        Process p = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        boolean ended = p.waitFor(60, TimeUnit.SECONDS);
        if (!ended) {
            p.destroyForcibly();
        }
        assertTrue(ended, String.join(" ", command) + " ended by itself");
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void launchersNameTheVersionThatWasBuilt() throws Exception {
        Run proxy = run(Map.of(), home.resolve("bin/baton-proxy").toString(), "--version");
        assertEquals(0, proxy.exit(), proxy.stderr());
        assertEquals("baton-proxy " + VERSION + "\n", proxy.stdout());
        Run cli = run(Map.of(), home.resolve("bin/baton").toString(), "--version");
        assertEquals(0, cli.exit(), cli.stderr());
        assertEquals("baton " + VERSION + "\n", cli.stdout());
    }

    @Test
    void shippedExampleConfigPassesCheckConfig() throws Exception {
        Run check = run(Map.of("BATON_MONITOR_PASSWORD", "secret"), home.resolve("bin/baton-proxy").toString(),
                "--check-config", home.resolve("conf/baton.example.yaml").toString());
        assertEquals("", check.stderr());
        assertEquals(0, check.exit());
        assertEquals("config OK: galera cluster of 3 node(s) [db1 (10.0.0.21:3306), db2 (10.0.0.22:3306), "
                + "db3 (10.0.0.23:3306)], listen 127.0.0.1:6033, admin 127.0.0.1:6034\n", check.stdout());
    }

    @Test
    void unpackedBatonServesQueriesAndAnswersTheCommandLine() throws Exception {
        LocalMariaDb db = LocalMariaDb.shared();
        Path config = unpacked.resolve("baton.yaml");
        Files.writeString(config, "listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0"
                + "\ncluster:\n  type: single\n  nodes:\n    - {name: db1, address: " + db.host() + ":" + db.port() + "}\n");
        Run check = run(Map.of(), home.resolve("bin/baton-proxy").toString(), "--check-config", config.toString());
        assertEquals(0, check.exit(), check.stderr());

        Path log = unpacked.resolve("baton.log");
        ProcessBuilder builder = new ProcessBuilder(home.resolve("bin/baton-proxy").toString(), "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("BATON_JAVA_OPTS", "-Xmx256m -XX:+UseSerialGC");
        Process baton = builder.start();
        try {
            RunningBaton.Listening listening = RunningBaton.awaitListening(baton, log, Duration.ofSeconds(60));
            int port = listening.port();
            int adminPort = listening.adminPort();
            String url = "jdbc:mysql://127.0.0.1:" + port + "/?sslMode=DISABLED&allowPublicKeyRetrieval=true";
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
                try (Connection c = DriverManager.getConnection(url, "app", "app");
                     Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("SELECT @@port, CURRENT_USER()")) {
                    assertTrue(rs.next());
                    assertEquals(db.port(), rs.getInt(1), "the query ran on the server behind Baton");
                    assertEquals("app@%", rs.getString(2));
                }
            });

            // the command line, called the way an operator links it onto the PATH
            Path onPath = Files.createDirectories(unpacked.resolve("usr-local-bin")).resolve("baton");
            Files.createSymbolicLink(onPath, home.resolve("bin/baton"));
            Run status = run(Map.of(), onPath.toString(), "--url", "http://127.0.0.1:" + adminPort, "status");
            assertEquals(0, status.exit(), status.stderr());
            assertTrue(status.stdout().startsWith("writer:      db1 (epoch "), status.stdout());
            assertTrue(status.stdout().contains("version " + VERSION), status.stdout());
        } finally {
            baton.destroy();
            assertTrue(baton.waitFor(30, TimeUnit.SECONDS), "Baton ended on SIGTERM");
        }
        assertEquals(143, baton.exitValue(), "the exit status the systemd unit counts as success; log:\n" + Files.readString(log));
    }

    @Test
    void systemdUnitPassesSystemdAnalyzeVerify() throws Exception {
        String unit = Files.readString(home.resolve("systemd/baton.service"), StandardCharsets.UTF_8);
        assertTrue(unit.contains("ExecStart=/opt/baton/current/bin/baton-proxy --config /etc/baton/baton.yaml"), unit);
        // verify checks that ExecStart's program exists: point the unit at the unpacked copy instead of /opt/baton/current
        Path local = unpacked.resolve("baton.service");
        Files.writeString(local, unit.replace("/opt/baton/current", home.toString()));
        Run verify = run(Map.of("SYSTEMD_LOG_COLOR", "0"), "systemd-analyze", "verify", local.toString());
        assertEquals(0, verify.exit(), verify.stderr());
        assertEquals("", verify.stdout() + verify.stderr(), "no warning about any line of the unit");
    }
}
