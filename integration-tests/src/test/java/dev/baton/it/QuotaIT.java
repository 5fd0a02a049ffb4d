package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RawMySqlClient;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.proxy.config.ConfigLoader;
import dev.baton.routing.ClientQuota;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Connection budgets per application server, enforced at the door with a real MySQL error, and given back on
 * every way a session ends. Clients act as different servers by binding 127.0.0.2, 127.0.0.3, ...
 */
class QuotaIT {
    private static LocalMariaDb db;
    private static RunningBaton baton;

    @BeforeAll
    static void start() {
        db = LocalMariaDb.shared();
        baton = RunningBaton.inFrontOf(db, new ClientQuota.Settings(ClientQuota.Key.CLIENT_ADDRESS, 3, 250,
                Map.of("127.0.0.4", 5), Duration.ofMinutes(10)));
    }

    @AfterAll
    static void stop() {
        baton.close();
    }

    private static Connection connectFrom(String address) throws SQLException {
        return DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED&localSocketAddress=" + address),
                "app", "app");
    }

    @Test
    void fourthConnectionFromOneServerGetsTooManyConnectionsAndOthersAreUnaffected() throws Exception {
        List<Connection> held = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                held.add(connectFrom("127.0.0.2"));
            }
            int serverThreadsBefore = Integer.parseInt(db.query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app'").trim());
            SQLException e = assertThrows(SQLException.class, () -> connectFrom("127.0.0.2").close());
            assertEquals(1040, e.getErrorCode());
            assertEquals("08004", e.getSQLState());
            assertEquals("Too many connections: client 127.0.0.2 has 3/3 connections; close idle connections or raise "
                    + "the quota in Baton's config", e.getMessage());
            assertEquals(serverThreadsBefore, Integer.parseInt(db.query(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app'").trim()),
                    "Baton opened no backend connection for the refused client");
            held.add(connectFrom("127.0.0.3")); // another application server is unaffected
            for (int i = 0; i < 5; i++) {
                held.add(connectFrom("127.0.0.4")); // an override raises one server's budget
            }
            held.remove(0).close();
            awaitUsage("127.0.0.2", 2);
            held.add(connectFrom("127.0.0.2")); // the slot came back
        } finally {
            for (Connection c : held) {
                c.close();
            }
        }
        awaitAllSlotsBack();
        ClientQuota.ClientUsage usage = usageOf("127.0.0.2");
        assertEquals(new ClientQuota.ClientUsage("127.0.0.2", 0, 3, 1), usage);
    }

    @Test
    void ipv6ClientIsLimitedByAnOverrideWrittenTheShortWay() throws Exception {
        String yaml = "listen: '[::1]:0'\n"
                + "admin:\n  listen: 127.0.0.1:0\n"
                + "cluster:\n  type: single\n  nodes:\n    - {name: db1, address: '" + db.host() + ":" + db.port() + "'}\n"
                + "quotas:\n  per-client: 50\n  clients:\n    '::1': 2\n";
        try (RunningBaton onIpv6 = RunningBaton.start(ConfigLoader.parse("quota-ipv6.yaml", yaml))) {
            String url = "jdbc:mysql://[::1]:" + onIpv6.port() + "/baton_test?sslMode=DISABLED";
            try (Connection first = DriverManager.getConnection(url, "app", "app");
                 Connection second = DriverManager.getConnection(url, "app", "app")) {
                SQLException e = assertThrows(SQLException.class, () -> DriverManager.getConnection(url, "app", "app").close());
                assertEquals(1040, e.getErrorCode());
                assertEquals("08004", e.getSQLState());
                assertEquals("Too many connections: client ::1 has 2/2 connections; close idle connections or raise "
                        + "the quota in Baton's config", e.getMessage());
                assertTrue(first.isValid(2) && second.isValid(2), "the two within the budget keep working");

                String metrics = onIpv6.proxy().scrapeMetrics();
                assertTrue(metrics.contains("baton_client_connections{client=\"::1\"} 2.0"), metrics);
                assertTrue(metrics.contains("baton_client_connection_limit{client=\"::1\"} 2.0"), metrics);
                String status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + onIpv6.proxy().adminAddress().getPort() + "/api/v1/status")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                assertTrue(status.contains("{\"client\":\"::1\",\"connections\":2,\"limit\":2,\"rejected\":1}"), status);
            }
            onIpv6.awaitNoSessions(Duration.ofSeconds(10));
        }
    }

    @Test
    void quotaKeyedByUserCountsAUserAcrossAddresses() throws Exception {
        try (RunningBaton byUser = RunningBaton.inFrontOf(db, new ClientQuota.Settings(ClientQuota.Key.USER, 1, 250,
                Map.of(), Duration.ofMinutes(10)))) {
            try (Connection first = DriverManager.getConnection(byUser.mysqlUrl("baton_test",
                    "sslMode=DISABLED&localSocketAddress=127.0.0.5"), "app", "app")) {
                SQLException e = assertThrows(SQLException.class, () -> DriverManager.getConnection(byUser.mysqlUrl(
                        "baton_test", "sslMode=DISABLED&localSocketAddress=127.0.0.6"), "app", "app").close());
                assertEquals(1040, e.getErrorCode());
                assertEquals("08004", e.getSQLState());
                assertTrue(e.getMessage().startsWith("Too many connections: client app has 1/1 connections"), e.getMessage());
                try (Connection other = DriverManager.getConnection(byUser.mariadbUrl("baton_test",
                        "localSocketAddress=127.0.0.6"), "app_ed", "app")) {
                    assertTrue(other.isValid(2), "another user has its own budget");
                }
            }
            byUser.awaitNoSessions(Duration.ofSeconds(10));
            assertEquals(0, byUser.proxy().quota().total());
        }
    }

    @Test
    void tenThousandConnectsAndFailuresFromSeveralServersGiveEverySlotBack() throws Exception {
        String[] servers = {"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15", "127.0.0.16"};
        ExecutorService pool = Executors.newFixedThreadPool(6);
        List<Future<Integer>> runs = new ArrayList<>();
        for (int t = 0; t < servers.length; t++) {
            String from = servers[t];
            long seed = 1000 + t;
            runs.add(pool.submit(() -> churn(from, new Random(seed), 10_000 / servers.length + 1)));
        }
        int done = 0;
        for (Future<Integer> f : runs) {
            done += f.get();
        }
        pool.shutdown();
        assertTrue(done >= 10_000, done + " connections");
        awaitAllSlotsBack();
        for (String s : servers) {
            assertEquals(0, usageOf(s).connections(), s);
        }
    }

    /** One server's connections, each ending a different way; returns how many were made. */
    private static int churn(String from, Random random, int count) throws IOException {
        int made = 0;
        for (int i = 0; i < count; i++) {
            try (RawMySqlClient c = new RawMySqlClient(baton.port(), 5000, from)) {
                made++;
                RawMySqlClient.Packet greeting = c.read();
                switch (random.nextInt(5)) {
                    case 0 -> { } // vanish right after the greeting
                    case 1 -> c.writeRaw(new byte[]{(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1, 9}); // garbage: handshake fails
                    case 2 -> { // wrong password: auth fails
                        c.send(1, RawMySqlClient.handshakeResponse(greeting, "app", "wrong", ""));
                        c.loginAnswer("wrong");
                    }
                    case 3 -> { // clean login and COM_QUIT
                        c.send(1, RawMySqlClient.handshakeResponse(greeting, "app", "app", ""));
                        c.loginAnswer("app");
                        c.send(0, new byte[]{0x01});
                    }
                    default -> { // login, a query, then the client vanishes
                        c.send(1, RawMySqlClient.handshakeResponse(greeting, "app", "app", ""));
                        c.loginAnswer("app");
                        c.send(0, RawMySqlClient.query("SELECT 1"));
                    }
                }
            } catch (IOException e) {
                // a refused or reset connection is one of the endings under test
            }
        }
        return made;
    }

    private static ClientQuota.ClientUsage usageOf(String client) {
        return baton.proxy().quota().usage().stream().filter(u -> u.client().equals(client)).findFirst()
                .orElse(new ClientQuota.ClientUsage(client, 0, -1, 0));
    }

    private static void awaitUsage(String client, int connections) {
        await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertEquals(connections, usageOf(client).connections(), "connections from " + client));
    }

    private static void awaitAllSlotsBack() throws InterruptedException {
        baton.awaitNoSessions(Duration.ofSeconds(20));
        assertEquals(0, baton.proxy().quota().total(), "every slot was given back");
    }
}
