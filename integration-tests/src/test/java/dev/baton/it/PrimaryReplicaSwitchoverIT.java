package dev.baton.it;

import dev.baton.it.fixture.BatonCommand;
import dev.baton.it.fixture.LocalReplicationCluster;
import dev.baton.it.fixture.RunningBaton;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Planned switchovers of a real MariaDB primary with two semi-synchronous GTID replicas, issued with the {@code baton}
 * CLI at one of two Baton instances while clients write through both.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PrimaryReplicaSwitchoverIT {
    private static LocalReplicationCluster cluster;
    private static RunningBaton a;
    private static RunningBaton b;

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalReplicationCluster.start("prswitch", 3);
        cluster.sql(1, "CREATE TABLE baton_test.acked (id BIGINT AUTO_INCREMENT PRIMARY KEY, client INT, served_by INT) "
                + "ENGINE=InnoDB");
        a = RunningBaton.inFrontOfReplication(cluster, "baton-a", Map.of());
        b = RunningBaton.inFrontOfReplication(cluster, "baton-b", Map.of());
        a.awaitWriter(Duration.ofSeconds(30));
        b.awaitWriter(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[]{a, b, cluster}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    System.err.println("closing " + c + ": " + e);
                }
            }
        }
    }

    private static BatonCommand.Result baton(String... args) {
        return BatonCommand.run(args);
    }

    private static String adminUrl(RunningBaton baton) {
        return "http://127.0.0.1:" + baton.proxy().adminAddress().getPort();
    }

    @Test
    @Order(1)
    void aSwitchoverThereAndBackUnderLoadLosesNoAcknowledgedWrite() throws Exception {
        assertEquals("db1", a.writer());
        Set<Long> acked = ConcurrentHashMap.newKeySet();
        AtomicBoolean running = new AtomicBoolean(true);
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            RunningBaton via = i % 2 == 0 ? a : b;
            int client = i;
            Thread t = new Thread(() -> writeLoop(via, client, running, acked));
            t.start();
            clients.add(t);
        }
        Thread.sleep(1500); // the clients write to db1 for a while first
        BatonCommand.Result there = baton("switchover", "db2", "--drain-timeout", "3s", "--url", adminUrl(a), "--json");
        assertEquals(0, there.exit(), there.err());
        assertTrue(there.out().contains("\"from\":\"db1\",\"to\":\"db2\""), there.out());
        await().atMost(Duration.ofSeconds(10)).until(() -> "db2".equals(b.writer()));
        await().atMost(Duration.ofSeconds(20)).until(() -> replicatesFrom(1, 2) && replicatesFrom(3, 2));
        Thread.sleep(1500); // and to db2
        BatonCommand.Result back = baton("switchover", "db1", "--drain-timeout", "3s", "--url", adminUrl(b), "--json");
        assertEquals(0, back.exit(), back.err());
        assertTrue(back.out().contains("\"from\":\"db2\",\"to\":\"db1\""), back.out());
        await().atMost(Duration.ofSeconds(10)).until(() -> "db1".equals(a.writer()));
        Thread.sleep(1500); // and to db1 again
        running.set(false);
        for (Thread t : clients) {
            t.join(30_000);
        }
        assertEquals(1, cluster.currentPrimary());
        await().atMost(Duration.ofSeconds(20)).until(() -> replicatesFrom(2, 1) && replicatesFrom(3, 1));
        assertEquals(String.valueOf(acked.size()), cluster.query(1, "SELECT COUNT(*) FROM baton_test.acked WHERE id IN ("
                + String.join(",", acked.stream().map(String::valueOf).toList()) + ")"), "every acknowledged row is there");
        cluster.awaitReplicasCaughtUpTo(1);
        String rows = cluster.query(1, "SELECT COUNT(*), SUM(id) FROM baton_test.acked");
        assertEquals(rows, cluster.query(2, "SELECT COUNT(*), SUM(id) FROM baton_test.acked"), "db2 holds the same rows");
        assertEquals(rows, cluster.query(3, "SELECT COUNT(*), SUM(id) FROM baton_test.acked"), "db3 holds the same rows");
        String checksum = cluster.query(1, "CHECKSUM TABLE baton_test.acked EXTENDED");
        assertEquals(checksum, cluster.query(2, "CHECKSUM TABLE baton_test.acked EXTENDED"), "db2's table is identical");
        assertEquals(checksum, cluster.query(3, "CHECKSUM TABLE baton_test.acked EXTENDED"), "db3's table is identical");
        System.out.println("primary/replica switchover under load, there: " + unavailable(there) + " ms of write pause, back: "
                + unavailable(back) + " ms; " + acked.size() + " acknowledged rows, none lost");
    }

    @Test
    @Order(2)
    void aSwitchoverToAReplicaThatCannotCatchUpIsAbandonedAndTheOldPrimaryTakesWritesAgain() throws Exception {
        assertEquals("db1", a.awaitWriter(Duration.ofSeconds(10)));
        // db3 receives everything but applies nothing for an hour: it cannot catch up.
        cluster.sql(3, "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=3600; START SLAVE");
        try {
            // A check may have caught it stopped for the change: wait until both instances see it fit again.
            await().atMost(Duration.ofSeconds(10)).until(() -> up(a, "db3") && up(b, "db3"));
            try (Connection c = DriverManager.getConnection(a.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app");
                 Statement s = c.createStatement()) {
                s.executeUpdate("INSERT INTO acked (client, served_by) VALUES (-2, @@port)");
            }
            BatonCommand.Result r = baton("switchover", "db3", "--drain-timeout", "1s", "--url", adminUrl(a));
            assertEquals(1, r.exit(), r.out());
            assertTrue(r.err().contains("abandoned") && r.err().contains("could not catch up with db1")
                    && r.err().contains("db1 is writable again and stays the primary"), r.err());
            assertEquals("0", cluster.query(1, "SELECT @@global.read_only"));
            await().atMost(Duration.ofSeconds(10)).until(() -> "db1".equals(a.writer()) && "db1".equals(b.writer()));
            try (Connection c = DriverManager.getConnection(b.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app");
                 Statement s = c.createStatement()) {
                assertEquals(1, s.executeUpdate("INSERT INTO acked (client, served_by) VALUES (-3, @@port)"));
            }
        } finally {
            cluster.sql(3, "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE");
        }
    }

    @Test
    @Order(3)
    void aReplicaInMaintenanceIsNeverASwitchoverTarget() {
        BatonCommand.Result on = baton("maintenance", "db3", "on", "--url", adminUrl(a));
        assertEquals(0, on.exit(), on.err());
        await().atMost(Duration.ofSeconds(10)).until(() -> b.proxy().topology().maintenance().contains("db3"));
        BatonCommand.Result refused = baton("switchover", "db3", "--url", adminUrl(b));
        assertEquals(1, refused.exit());
        assertTrue(refused.err().contains("db3 is in maintenance"), refused.err());
        BatonCommand.Result off = baton("maintenance", "db3", "off", "--url", adminUrl(b));
        assertEquals(0, off.exit(), off.err());
        await().atMost(Duration.ofSeconds(10)).until(() -> !a.proxy().topology().maintenance().contains("db3"));
        assertEquals("db1", a.writer());
    }

    private static boolean up(RunningBaton via, String node) {
        return via.proxy().topology().nodeReports().stream().anyMatch(r -> r.node().equals(node) && r.up());
    }

    private static long unavailable(BatonCommand.Result r) {
        Matcher m = Pattern.compile("\"writes_unavailable_ms\":(\\d+)").matcher(r.out());
        assertTrue(m.find(), r.out());
        return Long.parseLong(m.group(1));
    }

    private static boolean replicatesFrom(int node, int primary) {
        Map<String, String> s = cluster.replicaStatus(node);
        return String.valueOf(cluster.port(primary)).equals(s.get("Master_Port")) && "Yes".equals(s.get("Slave_IO_Running"))
                && "Yes".equals(s.get("Slave_SQL_Running"));
    }

    private static void writeLoop(RunningBaton via, int client, AtomicBoolean running, Set<Long> acked) {
        while (running.get()) {
            try (Connection c = DriverManager.getConnection(via.mysqlUrl("baton_test",
                    "sslMode=DISABLED&connectTimeout=20000&socketTimeout=10000"), "app", "app");
                 PreparedStatement insert = c.prepareStatement("INSERT INTO acked (client, served_by) VALUES (?, @@port)",
                         Statement.RETURN_GENERATED_KEYS)) {
                while (running.get()) {
                    insert.setInt(1, client);
                    insert.executeUpdate();
                    try (ResultSet keys = insert.getGeneratedKeys()) {
                        keys.next();
                        acked.add(keys.getLong(1));
                    }
                    Thread.sleep(5); // paces the load
                }
            } catch (SQLException e) {
                try {
                    Thread.sleep(50); // the session was closed by the switchover: reconnect
                } catch (InterruptedException ie) {
                    return;
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
