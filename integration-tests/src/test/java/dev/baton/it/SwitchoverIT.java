package dev.baton.it;

import dev.baton.it.fixture.LocalGaleraCluster;
import dev.baton.it.fixture.BatonCommand;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.proxy.BatonProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A planned switchover issued at one Baton instance, with a second instance following, against real Galera. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SwitchoverIT {
    private static LocalGaleraCluster cluster;
    private static RunningBaton a;
    private static RunningBaton b;

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalGaleraCluster.start("switchover", 3, GaleraFailoverIT.EVS);
        cluster.sql(1, "CREATE TABLE IF NOT EXISTS baton_test.moves (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=InnoDB");
        a = RunningBaton.inFrontOfGalera(cluster, "baton-a");
        b = RunningBaton.inFrontOfGalera(cluster, "baton-b");
        a.awaitWriter(Duration.ofSeconds(20));
        b.awaitWriter(Duration.ofSeconds(20));
    }

    @AfterAll
    static void stop() {
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private static BatonCommand.Result baton(String... args) {
        return BatonCommand.run(args);
    }

    private static String adminUrl(RunningBaton baton) {
        return "http://127.0.0.1:" + baton.proxy().adminAddress().getPort();
    }

    private static boolean handingOver(RunningBaton baton) {
        return baton.proxy().topology().currentWriter() instanceof dev.baton.routing.WriterChoice.Writer w && w.handingOver();
    }

    private static int port(Connection c) throws Exception {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@port")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    @Order(1)
    void switchoverMovesBothInstancesLetsTheTransactionCommitAndHoldsNewClients() throws Exception {
        assertEquals("db1", a.writer());
        Connection inTransaction = DriverManager.getConnection(a.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app");
        inTransaction.setAutoCommit(false);
        try (Statement s = inTransaction.createStatement()) {
            s.executeUpdate("INSERT INTO moves VALUES (1, 'written during the switchover')");
        }
        Connection idle = DriverManager.getConnection(a.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app");
        // The other instance has a transaction open too: it must be let finish, not cut, when that instance sees
        // the switchover that instance A started.
        Connection onB = DriverManager.getConnection(b.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app");
        onB.setAutoCommit(false);
        try (Statement s = onB.createStatement()) {
            s.executeUpdate("INSERT INTO moves VALUES (2, 'written through the other instance')");
        }

        CompletableFuture<BatonCommand.Result> switchover = CompletableFuture.supplyAsync(() ->
                baton("switchover", "db2", "--drain-timeout", "10s", "--url", adminUrl(a), "--json"));
        // The switchover is draining once both instances show the hand-over: a new client is held, not refused.
        await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertTrue(handingOver(a) && handingOver(b), "both instances follow the hand-over"));
        BatonCommand.Result statusOfB = baton("status", "--url", adminUrl(b));
        assertTrue(statusOfB.out().contains("switchover:  to db2, draining until "), "status shows the drain: " + statusOfB.out());
        long heldFrom = System.nanoTime();
        CompletableFuture<Integer> newcomer = CompletableFuture.supplyAsync(() -> {
            try (Connection c = DriverManager.getConnection(a.mysqlUrl("baton_test", "sslMode=DISABLED&connectTimeout=30000"),
                    "app", "app")) {
                return port(c);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(1000); // time for the new client to get through, were it not held
        assertTrue(!newcomer.isDone(), "the new client waits while the transaction drains, but got: "
                + (newcomer.isDone() ? newcomer.handle((port, e) -> port + " " + e).join() : ""));
        CompletableFuture<Integer> newcomerOnB = CompletableFuture.supplyAsync(() -> {
            try (Connection c = DriverManager.getConnection(b.mysqlUrl("baton_test", "sslMode=DISABLED&connectTimeout=30000"),
                    "app", "app")) {
                return port(c);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(500); // likewise on the other instance
        assertTrue(!newcomerOnB.isDone(), "the other instance holds its new clients too");
        inTransaction.commit(); // finishes its transaction; Baton lets go of the old writer after the OK
        Thread.sleep(1000); // time for the switchover to end, were it not waiting for B's transaction
        assertTrue(!switchover.isDone(), () -> "the switchover waits for the other instance's open transaction, but: "
                + switchover.handle((r, e) -> r != null ? r.exit() + " " + r.out() + r.err() : e.toString()).join());
        onB.commit(); // the other instance let this transaction finish; it closes the session after the OK

        BatonCommand.Result result = switchover.get(30, TimeUnit.SECONDS);
        assertEquals(0, result.exit(), result.err());
        assertTrue(result.out().contains("\"from\":\"db1\",\"to\":\"db2\""), result.out());
        assertTrue(result.out().contains("\"sessions_after_transaction\":2"), result.out());
        assertTrue(result.out().contains("\"instance\":\"baton-a\"") && result.out().contains("\"instance\":\"baton-b\""),
                "both instances reported their drain: " + result.out());
        assertTrue(result.out().contains("\"instances_not_heard_from\":[]"), result.out());
        // This cluster's monitor user may not read the password hashes: the sessions that left the old writer between
        // transactions could not be moved, and were closed as before, each counted with the reason.
        assertTrue(result.out().contains("\"sessions_moving\":3"), result.out());
        assertTrue(result.out().contains("\"this_instance\":{\"instance\":\"baton-a\",\"sessions_moved\":0,"
                + "\"sessions_not_moved\":{\"lookup_failed\":2}"), result.out());
        try {
            inTransaction.close(); // Connector/J rolls back on close with autocommit off: the session is gone already
        } catch (java.sql.SQLException closedByBaton) {
            assertTrue(closedByBaton.getSQLState().startsWith("08"), closedByBaton.getSQLState());
        }
        assertTrue(result.out().contains("\"sessions_idle\":1"), result.out());
        assertTrue(result.out().contains("\"sessions_closed_in_transaction\":0"), result.out());
        assertEquals(cluster.port(2), newcomer.get(30, TimeUnit.SECONDS), "the held client went to the new writer");
        assertEquals(cluster.port(2), newcomerOnB.get(30, TimeUnit.SECONDS), "so did the one held by the other instance");
        assertEquals("written through the other instance",
                cluster.query(3, "SELECT note FROM baton_test.moves WHERE id = 2").trim(),
                "the other instance's transaction committed");
        try {
            onB.close();
        } catch (java.sql.SQLException closedByBaton) {
            assertTrue(closedByBaton.getSQLState().startsWith("08"), closedByBaton.getSQLState());
        }
        System.out.println("switchover: " + result.out().strip() + "; new client held for "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - heldFrom) + " ms at most");

        assertEquals("written during the switchover",
                cluster.query(3, "SELECT note FROM baton_test.moves WHERE id = 1").trim(), "the transaction's row is there");
        assertTrue(idle.isClosed() || !idle.isValid(2), "the idle session on the old writer was closed");
        idle.close();
        assertEquals("db2", a.writer());
        await().atMost(Duration.ofSeconds(5)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(50))
                .untilAsserted(() -> assertEquals("db2", b.writer(), "instance B follows the record within a monitor interval"));
        assertEquals("db2", cluster.query(1, "SELECT writer FROM baton.writer WHERE id = 1").trim());
    }

    @Test
    @Order(2)
    void unknownOrUnhealthyTargetsAreRefusedAndChangeNothing() throws Exception {
        BatonCommand.Result unknown = baton("switchover", "db9", "--url", adminUrl(a));
        assertEquals(1, unknown.exit());
        assertTrue(unknown.err().startsWith("baton: switchover refused: unknown node 'db9'"), unknown.err());

        cluster.kill9(3);
        await("A sees db3 down").atMost(Duration.ofSeconds(15))
                .until(() -> a.proxy().topology().nodeReports().stream().noneMatch(r -> r.node().equals("db3") && r.up()));
        BatonCommand.Result down = baton("switchover", "db3", "--url", adminUrl(a));
        assertEquals(1, down.exit());
        assertTrue(down.err().startsWith("baton: switchover refused: node db3 is not healthy: "), down.err());
        assertEquals("db2", a.writer());
        assertEquals("db2", b.writer());
    }

    @Test
    @Order(3)
    void unauthorizedSwitchoverChangesNothing() throws Exception {
        try (RunningBaton locked = RunningBaton.inFrontOfGaleraWithToken(cluster, "baton-locked", "t0ken")) {
            locked.awaitWriter(Duration.ofSeconds(20));
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create(adminUrl(locked) + "/api/v1/switchover"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"to\":\"db1\"}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(401, r.statusCode());
            BatonCommand.Result noToken = baton("switchover", "db1", "--url", adminUrl(locked));
            assertEquals(1, noToken.exit());
            assertEquals("baton: unauthorized: give the admin token with --token or BATON_TOKEN\n", noToken.err());
            Thread.sleep(1500); // time for a switchover to happen, had the refused request started one
            assertEquals("db2", locked.writer());
            assertEquals("db2", a.writer());
        }
    }

    @Test
    @Order(4)
    void maintenanceOfTheWriterMovesItAwayFirstAndKeepsItOutForEveryInstance() throws Exception {
        assertEquals("db2", a.writer());
        BatonCommand.Result on = baton("maintenance", "db2", "on", "--url", adminUrl(a));
        assertEquals(0, on.exit(), on.err());
        assertTrue(on.out().startsWith("node db2 is in maintenance; the writer moved to db1 first"), on.out());
        assertEquals("db1", a.writer());
        await().atMost(Duration.ofSeconds(5)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(50))
                .untilAsserted(() -> assertEquals("db1", b.writer()));
        BatonCommand.Result status = baton("status", "--url", adminUrl(a), "--json");
        assertTrue(status.out().contains("\"name\":\"db2\"") && status.out().contains("\"maintenance\":true"), status.out());
        assertTrue(status.out().contains("\"last_check\":\"20"), "every node's last check time: " + status.out());
        BatonCommand.Result refused = baton("switchover", "db2", "--url", adminUrl(b));
        assertEquals(1, refused.exit());
        assertTrue(refused.err().contains("node db2 is in maintenance"), refused.err());
        BatonCommand.Result off = baton("maintenance", "db2", "off", "--url", adminUrl(b));
        assertEquals(0, off.exit(), off.err());
        assertEquals("node db2 is out of maintenance\n", off.out());
        Thread.sleep(1500); // time for the writer to move back, were leaving maintenance to take it
        assertEquals("db1", a.writer(), "leaving maintenance does not take the writer back");
        BatonCommand.Result events = baton("events", "--url", adminUrl(a));
        assertTrue(events.out().contains("node db2 is in maintenance"), events.out());
    }

    @Test
    @Order(5)
    void checkReportsTheClusterAgainstTheRancherGuidance() {
        BatonCommand.Result check = baton("check", "--url", adminUrl(a));
        assertEquals(0, check.exit(), check.out() + check.err()); // warnings only: one node is down since test 2
        assertTrue(check.out().contains("PASS  nodes configured: 3 node(s)"), check.out());
        assertTrue(check.out().contains("WARN  nodes reachable and Synced: 2 of 3 node(s) healthy; db3: "), check.out());
        assertTrue(check.out().contains("PASS  max_connections on db1: max_connections=300; needs at least 252"), check.out());
        assertTrue(check.out().contains("PASS  binlog_format on db1: binlog_format=ROW"), check.out());
        assertTrue(check.out().contains("PASS  innodb_autoinc_lock_mode on db2"), check.out());
        assertTrue(check.out().contains("PASS  one writer: every session goes to db1"), check.out());
    }
}
