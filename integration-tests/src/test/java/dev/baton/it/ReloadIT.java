package dev.baton.it;

import dev.baton.it.fixture.BatonCommand;
import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real {@code bin/baton-proxy} process reloading its config file: {@code kill -HUP} (what {@code systemctl reload}
 * sends) applies a lower {@code quotas.per-client} to the next connection while the open ones go on, and
 * {@code baton reload} refuses a changed listen address with exit 1, the old address still serving.
 */
class ReloadIT {
    private static final Path PROJECT = Path.of(System.getProperty("baton.project.dir", ".."));

    private static LocalMariaDb db;
    private static Path dir;
    private static Path file;
    private static Path log;
    private static Process baton;
    /** The file asks for any free ports; Baton's start log line names the ones it got. */
    private static final int ANY_PORT = 0;
    private static int listenPort;
    private static int adminPort;

    @BeforeAll
    static void start() throws Exception {
        db = LocalMariaDb.shared();
        dir = Files.createTempDirectory("baton-reload");
        file = dir.resolve("baton.yaml");
        log = dir.resolve("baton.log");
        Files.writeString(file, config(ANY_PORT, 3));
        // As systemd starts it: SIGHUP at its default, even when whatever runs the tests ignores it (nohup).
        baton = new ProcessBuilder("env", "--default-signal=HUP", PROJECT.resolve("bin/baton-proxy").toString(),
                "--config", file.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        RunningBaton.Listening listening = RunningBaton.awaitListening(baton, log, Duration.ofSeconds(90));
        listenPort = listening.port();
        adminPort = listening.adminPort();
        await().atMost(Duration.ofSeconds(90)).until(() -> health() == 200);
    }

    @AfterAll
    static void stop() throws Exception {
        if (baton != null) {
            baton.destroy();
            if (!baton.waitFor(20, TimeUnit.SECONDS)) {
                baton.destroyForcibly();
            }
        }
    }

    private static String config(int listen, int perClient) {
        return "listen: 127.0.0.1:" + listen + "\n"
                + "instance-name: reload-it\n"
                + "admin:\n  listen: 127.0.0.1:" + ANY_PORT + "\n"
                + "cluster:\n  type: single\n  nodes:\n    - {name: db1, address: 127.0.0.1:" + db.port() + "}\n"
                + "quotas:\n  per-client: " + perClient + "\n";
    }

    private static int health() {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/healthz"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static Connection connect() throws SQLException {
        return DriverManager.getConnection("jdbc:mysql://127.0.0.1:" + listenPort + "/baton_test?sslMode=DISABLED", "app", "app");
    }

    private static String logText() throws IOException {
        return Files.readString(log);
    }

    private static void assertStillServes(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            assertTrue(s.execute("SELECT 1"));
        }
    }

    @Test
    void aLowerPerClientCapSentWithSighupRefusesTheNextConnectionAndTheOpenOnesGoOn() throws Exception {
        try (Connection first = connect(); Connection second = connect()) {
            Files.writeString(file, config(ANY_PORT, 1));

            new ProcessBuilder("kill", "-HUP", Long.toString(baton.pid())).inheritIO().start().waitFor();

            await().atMost(Duration.ofSeconds(20)).until(() -> logText().contains("config reloaded from " + file
                    + ": changed quotas.per-client 3 -> 1"));
            assertTrue(baton.isAlive(), "SIGHUP reloads; it does not end Baton");
            SQLException refused = assertThrows(SQLException.class, ReloadIT::connect);
            assertEquals(1040, refused.getErrorCode(), refused.getMessage());
            assertTrue(refused.getMessage().contains("client 127.0.0.1 has 2/1 connections"), refused.getMessage());
            assertStillServes(first);
            assertStillServes(second);
        } finally {
            Files.writeString(file, config(ANY_PORT, 3));
            assertEquals(0, BatonCommand.run("reload", "--url", "http://127.0.0.1:" + adminPort).exit());
        }
    }

    @Test
    void batonReloadRefusesAChangedListenAddressWithExitOneAndTheOldAddressStillServes() throws Exception {
        int otherPort = 7033; // never bound: the reload is refused
        Files.writeString(file, config(otherPort, 3));
        try {
            BatonCommand.Result r = BatonCommand.run("reload", "--url", "http://127.0.0.1:" + adminPort);

            assertEquals(1, r.exit(), r.out() + r.err());
            assertEquals("baton: config reload refused, Baton runs on unchanged (" + file + "):\n"
                    + "  listen 127.0.0.1:" + ANY_PORT + " -> 127.0.0.1:" + otherPort + " needs a restart\n", r.err());
            assertTrue(logText().contains("config reload refused, nothing changed: listen 127.0.0.1:" + ANY_PORT
                    + " -> 127.0.0.1:" + otherPort + " needs a restart"), logText());
            try (Connection c = connect()) {
                assertStillServes(c);
            }
        } finally {
            Files.writeString(file, config(ANY_PORT, 3));
        }
    }

    @Test
    void aBatonStartedUnderNohupSaysThatSighupWillNotReloadIt() throws Exception {
        Path nohupLog = dir.resolve("nohup-baton.log");
        Path nohupFile = dir.resolve("nohup.yaml");
        Files.writeString(nohupFile, config(ANY_PORT, 3).replace("instance-name: reload-it", "instance-name: reload-it-nohup"));
        Process ignoring = new ProcessBuilder("nohup", PROJECT.resolve("bin/baton-proxy").toString(), "--config", nohupFile.toString())
                .redirectErrorStream(true).redirectOutput(nohupLog.toFile()).start();
        try {
            RunningBaton.awaitListening(ignoring, nohupLog, Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(20)).until(() -> Files.readString(nohupLog).contains(
                    "SIGHUP is ignored in this process (inherited from whatever started Baton, such as nohup), so kill -HUP "
                            + "and systemctl reload do nothing; use baton reload or POST /api/v1/reload, or start Baton without nohup"));
            assertTrue(ignoring.isAlive());
        } finally {
            ignoring.destroy();
            if (!ignoring.waitFor(20, TimeUnit.SECONDS)) {
                ignoring.destroyForcibly();
            }
        }
        assertTrue(!logText().contains("SIGHUP is ignored"), "the Baton started with SIGHUP at its default does not warn");
    }
}
