package dev.baton.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.admin.api.AdminJson;
import dev.baton.admin.api.ReloadReport;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.proxy.config.ConfigLoader;
import dev.baton.routing.Node;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code POST /api/v1/reload} over real HTTP on a Baton started from a config file: what a running Baton can take
 * applies at once (to new connections, for quotas), and a file that is invalid or changes anything that needs a restart
 * changes nothing at all.
 */
class ReloadTest {
    @TempDir
    Path dir;

    private Path file;
    private FakeMySqlServer db;
    private BatonProxy proxy;
    /** The file asks for any free port; the tests read the ports Baton got from it. */
    private static final int ANY_PORT = 0;
    private int adminPort;
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

    @BeforeEach
    void start() throws Exception {
        db = FakeMySqlServer.answeringOk();
        file = dir.resolve("baton.yaml");
        write(config(ANY_PORT, "old-token", "per-client: 2", ""));
        proxy = BatonProxy.start(ConfigLoader.load(file), new FakeTopology(new Node("db1", db.address(), 1)));
        adminPort = proxy.adminAddress().getPort();
        logged.start();
        ((Logger) LoggerFactory.getLogger(BatonProxy.class)).addAppender(logged);
    }

    @AfterEach
    void stop() throws Exception {
        ((Logger) LoggerFactory.getLogger(BatonProxy.class)).detachAppender(logged);
        proxy.close();
        db.close();
        BatonLogLevel.apply(null);
    }

    private String config(int listen, String token, String quotas, String more) {
        return "listen: 127.0.0.1:" + listen + "\ninstance-name: baton-a\n"
                + "admin:\n  listen: 127.0.0.1:" + ANY_PORT + "\n  token: " + token + "\n"
                + "cluster:\n  type: single\n  nodes:\n    - name: db1\n      address: " + db.address() + "\n"
                + "quotas:\n  " + quotas + "\n"
                + more;
    }

    private void write(String yaml) throws Exception {
        Files.writeString(file, yaml);
    }

    private HttpResponse<String> reload(String token) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/api/v1/reload"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> status(String token) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/api/v1/status"))
                .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private List<String> logLines() {
        return logged.list.stream().map(ILoggingEvent::getFormattedMessage).filter(m -> m.startsWith("config reload")).toList();
    }

    @Test
    void aLoweredPerClientCapRefusesTheNextConnectionAndKeepsTheOpenOnes() throws Exception {
        try (RawClient first = new RawClient(proxy.address()); RawClient second = new RawClient(proxy.address())) {
            assertEquals(0x00, first.login()[0]);
            assertEquals(0x00, second.login()[0]);
            write(config(ANY_PORT, "old-token", "per-client: 1", ""));

            HttpResponse<String> r = reload("old-token");

            assertEquals(200, r.statusCode(), r.body());
            ReloadReport report = AdminJson.read(ReloadReport.class, r.body());
            assertEquals(List.of("quotas.per-client 2 -> 1"), report.changed());
            assertEquals(List.of(), report.refused());
            assertEquals(null, report.error());
            assertEquals(List.of("config reloaded from " + file + ": changed quotas.per-client 2 -> 1"), logLines());
            assertEquals(0x00, first.query("SELECT 1")[0], "an open session keeps its slot");
            assertEquals(0x00, second.query("SELECT 1")[0], "an open session keeps its slot");
            try (RawClient third = new RawClient(proxy.address())) {
                byte[] err = third.login();
                assertEquals(1040, RawClient.errorCode(err));
                assertEquals("Too many connections: client 127.0.0.1 has 2/1 connections; close idle connections or raise "
                        + "the quota in Baton's config", RawClient.errorMessage(err));
            }

            write(config(ANY_PORT, "old-token", "per-client: 3", ""));
            assertEquals(200, reload("old-token").statusCode());
            try (RawClient third = new RawClient(proxy.address())) {
                assertEquals(0x00, third.login()[0], "a raised cap admits the next connection");
            }
        }
    }

    @Test
    void aNewAdminTokenIsTheOnlyOneAcceptedOnceReloadedAndNeverLogged() throws Exception {
        write(config(ANY_PORT, "new-token", "per-client: 2", ""));

        HttpResponse<String> r = reload("old-token");

        assertEquals(200, r.statusCode(), r.body());
        assertEquals(List.of("admin.token"), AdminJson.read(ReloadReport.class, r.body()).changed());
        assertFalse(r.body().contains("new-token") || r.body().contains("old-token"), r.body());
        assertEquals(List.of("config reloaded from " + file + ": changed admin.token"), logLines());
        assertEquals(401, status("old-token").statusCode());
        assertEquals(200, status("new-token").statusCode());
    }

    @Test
    void logLevelAppliesToBatonsLoggersAndGoesBackToTheSetupsWhenRemoved() throws Exception {
        String before = BatonLogLevel.current();
        write(config(ANY_PORT, "old-token", "per-client: 2", "log-level: debug\n"));

        HttpResponse<String> r = reload("old-token");

        assertEquals(200, r.statusCode(), r.body());
        assertEquals(List.of("log-level (not set) -> debug"), AdminJson.read(ReloadReport.class, r.body()).changed());
        assertEquals("DEBUG", BatonLogLevel.current());
        assertTrue(LoggerFactory.getLogger(ClientSession.class).isDebugEnabled());

        write(config(ANY_PORT, "old-token", "per-client: 2", ""));
        assertEquals(200, reload("old-token").statusCode());
        assertEquals(before, BatonLogLevel.current());
    }

    @Test
    void aChangedListenAddressIsRefusedAndNothingElseChangesEither() throws Exception {
        BatonConfig running = proxy.config();
        String level = BatonLogLevel.current();
        int boundPort = proxy.address().getPort();
        int otherPort = 7033; // never bound: the reload is refused
        write(config(otherPort, "new-token", "per-client: 5", "log-level: debug\n"));

        HttpResponse<String> r = reload("old-token");

        assertEquals(409, r.statusCode(), r.body());
        ReloadReport report = AdminJson.read(ReloadReport.class, r.body());
        assertEquals(List.of("listen 127.0.0.1:" + ANY_PORT + " -> 127.0.0.1:" + otherPort + " needs a restart"),
                report.refused());
        assertEquals(List.of(), report.changed());
        assertEquals("config reload refused, nothing changed: listen 127.0.0.1:" + ANY_PORT + " -> 127.0.0.1:"
                + otherPort + " needs a restart", report.error());
        assertEquals(List.of(report.error()), logLines());
        assertSame(running, proxy.config());
        assertEquals(2, proxy.quota().limitFor("127.0.0.1"));
        assertEquals(200, status("old-token").statusCode(), "the old token still works");
        assertEquals(401, status("new-token").statusCode());
        assertEquals(level, BatonLogLevel.current(), "the log level stays as it was");
        try (RawClient client = new RawClient(proxy.address())) {
            assertEquals(boundPort, proxy.address().getPort());
            assertEquals(0x00, client.login()[0]);
        }
    }

    @Test
    void anInvalidFileIsRefusedWithItsErrorAndNothingChanges() throws Exception {
        BatonConfig running = proxy.config();
        write(config(ANY_PORT, "new-token", "per-client: 0", ""));

        HttpResponse<String> r = reload("old-token");

        assertEquals(409, r.statusCode(), r.body());
        ReloadReport report = AdminJson.read(ReloadReport.class, r.body());
        assertEquals(1, report.refused().size());
        assertTrue(report.refused().get(0).startsWith(file + ": quotas.per-client: "), report.refused().get(0));
        assertTrue(report.error().startsWith("config reload refused, nothing changed: " + file + ": quotas.per-client"),
                report.error());
        assertSame(running, proxy.config());
        assertEquals(200, status("old-token").statusCode());
    }

    @Test
    void aFileThatChangesALiveKeyAndTheQuotaKeyIsRefusedWhole() throws Exception {
        BatonConfig running = proxy.config();
        write(config(ANY_PORT, "new-token", "per-client: 7\n  key: user", "log-level: warn\n"));

        HttpResponse<String> r = reload("old-token");

        assertEquals(409, r.statusCode(), r.body());
        assertEquals(List.of("quotas.key client-address -> user needs a restart (connections are counted by key)"),
                AdminJson.read(ReloadReport.class, r.body()).refused());
        assertSame(running, proxy.config());
        assertEquals(2, proxy.quota().limitFor("127.0.0.1"), "per-client stays as it was");
        assertEquals(200, status("old-token").statusCode(), "the token stays as it was");
    }

    @Test
    void anUnchangedFileReloadsWithNothingChanged() throws Exception {
        HttpResponse<String> r = reload("old-token");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(List.of(), AdminJson.read(ReloadReport.class, r.body()).changed());
        assertEquals(List.of("config reloaded from " + file + ": nothing changed"), logLines());
    }
}
