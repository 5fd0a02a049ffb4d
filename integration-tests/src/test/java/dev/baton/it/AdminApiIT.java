package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.BatonCommand;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.proxy.BatonProxy;
import dev.baton.routing.HostPort;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The admin API's read side and the {@code baton} commands on it, with a bearer token. */
class AdminApiIT {
    private static final String TOKEN = "s3cret-token";
    private static LocalMariaDb db;
    private static BatonProxy proxy;
    private static String url;

    @BeforeAll
    static void start() throws Exception {
        db = LocalMariaDb.shared();
        proxy = BatonProxy.start(RunningBaton.single(new HostPort(db.host(), db.port())).withAdminToken(TOKEN));
        url = "http://127.0.0.1:" + proxy.adminAddress().getPort();
    }

    @AfterAll
    static void stop() {
        proxy.close();
    }

    private static HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static BatonCommand.Result baton(String... args) {
        return BatonCommand.run(args);
    }

    @Test
    void apiCallsWithoutTheRightTokenAreRefusedButMetricsStayOpen() throws Exception {
        assertEquals(401, get("/api/v1/status", null).statusCode());
        assertEquals(401, get("/api/v1/status", "wrong").statusCode());
        assertEquals(401, get("/api/v1/events", null).statusCode());
        assertEquals(200, get("/api/v1/status", TOKEN).statusCode());
        assertEquals(200, get("/metrics", null).statusCode());
    }

    @Test
    void statusShowsWriterNodesClientsAndTotals() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:mysql://127.0.0.1:" + proxy.address().getPort()
                + "/baton_test?sslMode=DISABLED&localSocketAddress=127.0.0.7", "app", "app")) {
            String body = get("/api/v1/status", TOKEN).body();
            assertTrue(body.contains("\"writer\":\"db1\""), body);
            assertTrue(body.contains("\"cluster_type\":\"single\""), body);
            assertTrue(body.contains("{\"client\":\"127.0.0.7\",\"connections\":1,\"limit\":50,\"rejected\":0}"), body);
            assertTrue(body.contains("\"name\":\"db1\",\"address\":\"127.0.0.1:" + db.port() + "\""), body);

            BatonCommand.Result table = baton("status", "--url", url, "--token", TOKEN);
            assertEquals(0, table.exit(), table.err());
            assertTrue(table.out().startsWith("writer:      db1 (epoch 1)\n"), table.out());
            assertTrue(table.out().contains("127.0.0.7"), table.out());

            BatonCommand.Result json = baton("--token", TOKEN, "--url", url, "status", "--json");
            assertEquals(0, json.exit(), json.err());
            assertTrue(json.out().contains("\"writer\":\"db1\""), json.out());
        }
    }

    @Test
    void commandsWithoutATokenFailWithOneLineAndExitOne() {
        BatonCommand.Result r = baton("status", "--url", url);
        assertEquals(1, r.exit());
        assertEquals("baton: unauthorized: give the admin token with --token or BATON_TOKEN\n", r.err());
    }

    @Test
    void eventsOfAnUnmonitoredClusterSayThereAreNone() {
        BatonCommand.Result r = baton("events", "--url", url, "--token", TOKEN);
        assertEquals(0, r.exit(), r.err());
        assertEquals("no events yet\n", r.out());
    }

    @Test
    void checkOfASingleServerWarnsItCannotJudgeAndPassesTheWriter() {
        BatonCommand.Result r = baton("check", "--url", url, "--token", TOKEN);
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("WARN  nodes configured: 1 node(s); the Rancher HA guide suggests 3"), r.out());
        assertTrue(r.out().contains("WARN  node reachable and writable: not monitored (no monitor user: cluster.monitor "
                + "is not configured)"), r.out());
        assertTrue(r.out().contains("PASS  one writer: every session goes to db1 (epoch 1)"), r.out());
    }
}
