package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.ClientQuota;
import dev.baton.routing.HostPort;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A burst past a client's quota, as Rancher 1.6's pool of 150 makes against the guide's 50: with quotas.wait the
 * connections over the budget wait for the client's own connections to close and then log in; without it they get
 * ERR 1040 at once; a waiter whose time runs out gets ERR 1040 naming its wait.
 */
class QuotaWaitIT {
    private static final String SERVER = "127.0.0.2";
    private static LocalMariaDb db;

    @BeforeAll
    static void start() {
        db = LocalMariaDb.shared();
    }

    private static RunningBaton baton(int perClient, Duration wait) {
        BatonConfig config = RunningBaton.single(new HostPort(db.host(), db.port()))
                .withTimeouts(BatonConfig.DEFAULT_CONNECT_TIMEOUT, Duration.ofSeconds(30))
                .withQuotas(new ClientQuota.Settings(ClientQuota.Key.CLIENT_ADDRESS, perClient, 250, Map.of(),
                        Duration.ofMinutes(10), wait));
        return RunningBaton.start(config);
    }

    private static Connection connect(RunningBaton baton) throws SQLException {
        return DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED&localSocketAddress=" + SERVER),
                "app", "app");
    }

    private static List<Connection> connectFifty(RunningBaton baton) throws SQLException {
        List<Connection> held = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            held.add(connect(baton));
        }
        return held;
    }

    @Test
    void tenConnectionsPastAQuotaOfFiftyWaitAndLogInOnceTenOfTheFirstFiftyClose() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(10);
        try (RunningBaton baton = baton(50, Duration.ofSeconds(10))) {
            List<Connection> held = connectFifty(baton);
            List<CompletableFuture<Connection>> late = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                late.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return connect(baton);
                    } catch (SQLException e) {
                        throw new IllegalStateException(e.getErrorCode() + " " + e.getMessage(), e);
                    }
                }, pool));
            }
            await("ten clients wait").atMost(Duration.ofSeconds(10)).until(() -> baton.proxy().scrapeMetrics()
                    .contains("baton_quota_waiting_clients{client=\"" + SERVER + "\"} 10.0"));
            assertEquals(50, baton.proxy().quota().usageOf(SERVER).connections());
            assertTrue(late.stream().noneMatch(CompletableFuture::isDone), "the waiters hear nothing yet");

            for (int i = 0; i < 10; i++) {
                held.remove(0).close();
            }
            for (CompletableFuture<Connection> f : late) {
                Connection c = f.get(10, TimeUnit.SECONDS);
                assertTrue(c.isValid(2), "a waiter logged in and works");
                held.add(c);
            }
            assertEquals(50, baton.proxy().quota().usageOf(SERVER).connections(), "never above the quota");
            String metrics = baton.proxy().scrapeMetrics();
            assertTrue(metrics.contains("baton_quota_waiting_clients{client=\"" + SERVER + "\"} 0.0"), metrics);
            assertTrue(metrics.contains("baton_quota_wait_seconds_count 10"), metrics);
            assertTrue(metrics.contains("baton_quota_wait_timeouts_total 0.0"), metrics);
            for (Connection c : held) {
                c.close();
            }
            baton.awaitNoSessions(Duration.ofSeconds(20));
            assertEquals(0, baton.proxy().quota().total(), "every slot was given back");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void withoutAWaitTheTenPastTheQuotaGetTooManyConnectionsAtOnce() throws Exception {
        try (RunningBaton baton = baton(50, Duration.ZERO)) {
            List<Connection> held = connectFifty(baton);
            for (int i = 0; i < 10; i++) {
                SQLException e = assertThrows(SQLException.class, () -> connect(baton).close());
                assertEquals(1040, e.getErrorCode());
                assertEquals("08004", e.getSQLState());
                assertEquals("Too many connections: client " + SERVER + " has 50/50 connections; close idle connections "
                        + "or raise the quota in Baton's config", e.getMessage());
            }
            assertEquals(0, baton.proxy().quota().waiting());
            for (Connection c : held) {
                c.close();
            }
            baton.awaitNoSessions(Duration.ofSeconds(20));
        }
    }

    @Test
    void aWaiterWhoseTimeRunsOutGetsTooManyConnectionsNamingItsWait() throws Exception {
        try (RunningBaton baton = baton(2, Duration.ofSeconds(1));
             Connection first = connect(baton); Connection second = connect(baton)) {
            ExecutionException failed = assertThrows(ExecutionException.class, () -> CompletableFuture.supplyAsync(() -> {
                try {
                    return connect(baton);
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }).get(20, TimeUnit.SECONDS));
            SQLException e = assertInstanceOf(SQLException.class, failed.getCause().getCause());
            assertEquals(1040, e.getErrorCode());
            assertEquals("08004", e.getSQLState());
            assertTrue(e.getMessage().matches("Too many connections: client 127\\.0\\.0\\.2 has 2/2 connections after "
                    + "waiting \\d+ ms for one to close \\(quotas\\.wait\\); close idle connections or raise the quota "
                    + "in Baton's config"), e.getMessage());
            assertTrue(first.isValid(2) && second.isValid(2), "the clients holding the slots are unaffected");
            assertTrue(baton.proxy().scrapeMetrics().contains("baton_quota_wait_timeouts_total 1.0"));
        }
    }
}
