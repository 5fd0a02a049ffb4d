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
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sessions follow the primary of a real MariaDB primary with two GTID replicas: through a switchover, the old primary
 * being made read-only and its connections ended does not reach the moved sessions; after kill -9 of the primary,
 * an idle session goes on at the promoted replica with its state.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PrimaryReplicaSessionMoveIT {
    private static LocalReplicationCluster cluster;
    private static RunningBaton baton;

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalReplicationCluster.start("prmoves", 3);
        cluster.sql(1, "CREATE TABLE baton_test.notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(40)) ENGINE=InnoDB");
        cluster.sql(1, "GRANT SELECT ON mysql.global_priv TO 'baton_monitor'@'%'");
        baton = RunningBaton.inFrontOfReplication(cluster, "baton-moves", Map.of());
        baton.awaitWriter(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[]{baton, cluster}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    System.err.println("closing " + c + ": " + e);
                }
            }
        }
    }

    private static String adminUrl() {
        return "http://127.0.0.1:" + baton.proxy().adminAddress().getPort();
    }

    private static Connection session() throws Exception {
        Connection c = DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app");
        try (Statement s = c.createStatement()) {
            s.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE'");
            s.execute("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci");
        }
        return c;
    }

    /** Writes a row through {@code c} and says which node took it and whether the session kept its state. */
    private static void assertWritesOn(Connection c, int node) throws Exception {
        try (Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO notes (note) VALUES ('through a moved session')");
            try (ResultSet rs = s.executeQuery("SELECT @@port, @@sql_mode, @@collation_connection, @@read_only")) {
                rs.next();
                assertEquals(cluster.port(node), rs.getInt(1), "the session is on db" + node);
                assertEquals("STRICT_ALL_TABLES,NO_ZERO_DATE", rs.getString(2));
                assertEquals("utf8mb4_unicode_ci", rs.getString(3));
                assertEquals(0, rs.getInt(4), "it writes to the primary");
            }
        }
    }

    @Test
    @Order(1)
    void anIdleSessionWritesOnTheNewPrimaryAfterASwitchover() throws Exception {
        assertEquals("db1", baton.writer());
        try (Connection c = session()) {
            assertWritesOn(c, 1);
            BatonCommand.Result r = BatonCommand.run("switchover", "db2", "--drain-timeout", "5s", "--url", adminUrl(), "--json");
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains("\"sessions_moved\":1,"), r.out());
            assertWritesOn(c, 2);
            java.util.regex.Matcher pause = java.util.regex.Pattern.compile("\"writes_unavailable_ms\":(\\d+)").matcher(r.out());
            assertTrue(pause.find(), r.out());
            System.out.println("moves | primary/replica, idle session, switchover | moved, writes unavailable "
                    + pause.group(1) + " ms");
        }
    }

    @Test
    @Order(2)
    void anIdleSessionWritesOnThePromotedReplicaAfterKillOfThePrimary() throws Exception {
        String primary = baton.writer();
        int killed = Integer.parseInt(primary.substring(2));
        try (Connection c = session()) {
            assertWritesOn(c, killed);
            long killedAt = System.nanoTime();
            cluster.kill9(killed);
            String promoted = baton.awaitWriterOtherThan(primary, Duration.ofSeconds(30));
            assertWritesOn(c, Integer.parseInt(promoted.substring(2)));
            System.out.println("moves | primary/replica, idle session, kill -9 of the primary | moved, its next write done "
                    + java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt) + " ms after the kill");
        }
    }
}
