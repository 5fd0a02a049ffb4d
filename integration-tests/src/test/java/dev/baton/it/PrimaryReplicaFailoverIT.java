package dev.baton.it;

import dev.baton.it.fixture.LocalReplicationCluster;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.it.fixture.TcpRelay;
import dev.baton.routing.ClusterEvent;
import dev.baton.routing.NodeReport;
import dev.baton.routing.WriterChoice;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two Baton instances in front of a real MariaDB primary with two semi-synchronous GTID replicas, while the primary
 * is cut off from one instance, frozen, killed and brought back, once with a transaction the others lack. Instance
 * A reaches db1 through a relay the test can cut; B reaches every node directly. The scenarios run in order on one
 * cluster; each leaves it as the next expects.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PrimaryReplicaFailoverIT {
    private static final Duration FAILOVER = Duration.ofSeconds(40);

    private static LocalReplicationCluster cluster;
    private static TcpRelay relay;
    private static RunningBaton a;
    private static RunningBaton b;

    @BeforeAll
    static void start() {
        cluster = LocalReplicationCluster.start("prfail", 3);
        cluster.sql(1, "CREATE TABLE baton_test.acked (id BIGINT AUTO_INCREMENT PRIMARY KEY, client INT, served_by INT) "
                + "ENGINE=InnoDB");
        relay = new TcpRelay("127.0.0.1", cluster.port(1));
        a = RunningBaton.inFrontOfReplication(cluster, "baton-a", Map.of(1, relay.port()));
        b = RunningBaton.inFrontOfReplication(cluster, "baton-b", Map.of());
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[]{a, b, relay, cluster}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    System.err.println("closing " + c + ": " + e);
                }
            }
        }
    }

    @Test
    @Order(1)
    void bothInstancesFindThePrimaryThatEveryReplicaFollows() throws Exception {
        assertEquals("db1", a.awaitWriter(Duration.ofSeconds(30)));
        assertEquals("db1", b.awaitWriter(Duration.ofSeconds(30)));
        assertEquals(cluster.port(1), served(b));
        assertEquals(cluster.port(1), served(a));
        for (RunningBaton instance : List.of(a, b)) {
            assertTrue(events(instance).stream().anyMatch(e -> e.kind().equals("writer") && e.description().contains(
                    "db1 is the only writable node, replicates from nobody, and every replica that answers replicates from it")),
                    events(instance).toString());
        }
    }

    @Test
    @Order(2)
    void oneInstancesLostLinkToThePrimaryRefusesClientsThereButFailsNothingOver() throws Exception {
        relay.cut();
        await().atMost(Duration.ofSeconds(20)).until(() -> a.writer() == null);
        String reason = ((WriterChoice.NoWriter) a.proxy().topology().currentWriter()).reason();
        assertTrue(reason.contains("still replicate"), reason);
        Thread.sleep(5000); // long enough for any failover to have happened
        assertEquals("db1", b.writer(), "B, which still reaches db1, keeps routing to it");
        assertEquals(cluster.port(1), served(b));
        assertEquals(1, cluster.currentPrimary(), "db1 is still the only primary");
        assertEquals(null, a.writer(), "A refuses rather than route anywhere else");
        relay.restore();
        assertEquals("db1", a.awaitWriter(Duration.ofSeconds(20)));
        // The scenarios below freeze and kill nodes; A reaches every node directly from here on.
        a.close();
        a = RunningBaton.inFrontOfReplication(cluster, "baton-a", Map.of());
        assertEquals("db1", a.awaitWriter(Duration.ofSeconds(30)));
    }

    @Test
    @Order(3)
    void aFrozenPrimaryIsReplacedByTheMostAdvancedReplicaNotByALaggingOne() throws Exception {
        // db2 (priority 2) misses the last writes; db3 (priority 3) receives them: db3 must win despite its priority.
        cluster.sql(2, "STOP SLAVE IO_THREAD");
        List<Long> acked = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(b.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app");
             PreparedStatement insert = c.prepareStatement("INSERT INTO acked (client, served_by) VALUES (0, @@port)",
                     Statement.RETURN_GENERATED_KEYS)) {
            for (int i = 0; i < 20; i++) {
                insert.executeUpdate();
                try (ResultSet keys = insert.getGeneratedKeys()) {
                    keys.next();
                    acked.add(keys.getLong(1));
                }
            }
        }
        cluster.stop(1); // SIGSTOP
        cluster.sql(2, "START SLAVE IO_THREAD"); // it tries the frozen primary and fails, like db3, but holds less
        await().atMost(FAILOVER).until(() -> "db3".equals(a.writer()) && "db3".equals(b.writer()));
        assertEquals(cluster.port(3), served(a));
        assertEquals(String.valueOf(acked.size()), cluster.query(3, "SELECT COUNT(*) FROM baton_test.acked WHERE id IN ("
                + join(acked) + ")"), "every acknowledged row is on the new primary");
        // The lagging replica was pointed at the new primary and catches up from it.
        await().atMost(Duration.ofSeconds(20)).until(() -> replicatesFrom(2, 3));
        await().atMost(Duration.ofSeconds(20)).until(() -> cluster.query(2, "SELECT COUNT(*) FROM baton_test.acked WHERE id IN ("
                + join(acked) + ")").equals(String.valueOf(acked.size())));
    }

    @Test
    @Order(4)
    void theFrozenOldPrimaryResumesWritableAndIsFencedAtOnceThenRejoinsAsAReplica() throws Exception {
        cluster.cont(1); // it still believes it is the primary: writable, replicating from nobody
        await().atMost(Duration.ofSeconds(15)).until(() -> "1".equals(cluster.query(1, "SELECT @@global.read_only")));
        await().atMost(Duration.ofSeconds(30)).until(() -> replicatesFrom(1, 3));
        assertEquals("db3", a.writer());
        assertEquals("db3", b.writer());
        List<ClusterEvent> all = new ArrayList<>(events(a));
        all.addAll(events(b));
        assertTrue(all.stream().anyMatch(e -> e.subject().equals("db1") && e.description().startsWith("node db1 fenced")),
                all.toString());
        assertTrue(all.stream().anyMatch(e -> e.subject().equals("db1") && e.description().startsWith("node db1 rejoined as a replica of db3")),
                all.toString());
    }

    @Test
    @Order(5)
    void killNineOfThePrimaryUnderLoadMovesWritesToTheMostAdvancedReplicaOnBothInstancesWithNoAcknowledgedRowLost()
            throws Exception {
        String old = b.awaitWriter(Duration.ofSeconds(10));
        assertEquals("db3", old);
        int victim = 3;
        Set<Long> acked = ConcurrentHashMap.newKeySet();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong killedAt = new AtomicLong();
        AtomicLong firstWriteAfter = new AtomicLong();
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            RunningBaton via = i % 2 == 0 ? a : b;
            int client = i;
            Thread t = new Thread(() -> writeLoop(via, client, running, acked, killedAt, firstWriteAfter, cluster.port(victim)));
            t.start();
            clients.add(t);
        }
        Thread.sleep(2000); // the clients write to the old primary for a while first
        cluster.kill9(victim);
        killedAt.set(System.nanoTime());
        await().atMost(FAILOVER).until(() -> firstWriteAfter.get() != 0);
        Thread.sleep(2000); // the clients go on writing to the new primary for a while
        running.set(false);
        for (Thread t : clients) {
            t.join(30_000);
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(firstWriteAfter.get() - killedAt.get());
        String now = a.writer();
        assertNotEquals(old, now);
        assertEquals(now, b.writer(), "both instances route to the same new primary");
        int primary = Integer.parseInt(now.substring(2));
        assertEquals(primary, cluster.currentPrimary());
        assertEquals(String.valueOf(acked.size()), cluster.query(primary, "SELECT COUNT(*) FROM baton_test.acked WHERE id IN ("
                + join(acked) + ")"), "every row a client saw committed is on the new primary");
        int other = 6 - primary - victim;
        await().atMost(Duration.ofSeconds(20)).until(() -> replicatesFrom(other, primary));
        System.out.printf("kill -9 of primary db3 under load through two Baton instances: first write through Baton after "
                + "%d ms, new primary %s, %d acknowledged rows all present%n", ms, now, acked.size());
    }

    @Test
    @Order(6)
    void theKilledOldPrimaryComesBackWritableIsNeverWrittenThroughBatonAndRejoins() throws Exception {
        String primary = b.awaitWriter(Duration.ofSeconds(10));
        int p = Integer.parseInt(primary.substring(2));
        Set<Integer> servedBy = ConcurrentHashMap.newKeySet();
        AtomicBoolean running = new AtomicBoolean(true);
        Thread writer = new Thread(() -> {
            while (running.get()) {
                try {
                    servedBy.add(insertOne(a));
                    servedBy.add(insertOne(b));
                } catch (SQLException e) {
                    sleepQuietly(50);
                }
            }
        });
        writer.start();
        cluster.restartWritable(3);
        await().atMost(Duration.ofSeconds(15)).until(() -> "1".equals(cluster.query(3, "SELECT @@global.read_only")));
        await().atMost(Duration.ofSeconds(30)).until(() -> replicatesFrom(3, p));
        running.set(false);
        writer.join(10_000);
        assertEquals(Set.of(cluster.port(p)), servedBy, "every write through Baton went to the primary " + primary);
        cluster.awaitReplicasCaughtUpTo(p);
        assertEquals(cluster.query(p, "CHECKSUM TABLE baton_test.acked EXTENDED"),
                cluster.query(3, "CHECKSUM TABLE baton_test.acked EXTENDED"), "the rejoined node holds the same rows");
    }

    @Test
    @Order(7)
    void anOldPrimaryHoldingATransactionTheNewPrimaryLacksIsLeftOutWithTheReason() throws Exception {
        String old = b.awaitWriter(Duration.ofSeconds(10));
        int victim = Integer.parseInt(old.substring(2));
        cluster.kill9(victim);
        await().atMost(FAILOVER).until(() -> a.writer() != null && !old.equals(a.writer()) && a.writer().equals(b.writer()));
        String errant = cluster.plantErrantTransaction(victim, "INSERT INTO baton_test.acked (client, served_by) VALUES (-1, -1)");
        cluster.restartWritable(victim);
        // Fencing also ends the node's other sessions, so a query of the test's own may be cut while it happens.
        await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
                .until(() -> "1".equals(cluster.query(victim, "SELECT @@global.read_only")));
        await().atMost(Duration.ofSeconds(20)).until(() -> leftOut(b, old) != null);
        String reason = leftOut(b, old);
        assertTrue(reason.contains("holds transactions the primary " + b.writer() + " lacks") && reason.contains(errant),
                reason + " (errant position " + errant + ")");
        Thread.sleep(3000); // time for a rejoin to happen, were the node not left out
        assertTrue(cluster.replicaStatus(victim).isEmpty(), "it was not made a replica");
        assertEquals("1", cluster.query(victim, "SELECT @@global.read_only"));
        assertNotEquals(old, a.writer());
        assertTrue(events(b).stream().anyMatch(e -> e.subject().equals(old) && e.description().startsWith("node " + old + " is left out")),
                events(b).toString());
    }

    private static String leftOut(RunningBaton via, String node) {
        for (NodeReport r : via.proxy().topology().nodeReports()) {
            if (r.node().equals(node) && r.reason() != null && r.reason().startsWith("left out: ")) {
                return r.reason();
            }
        }
        return null;
    }

    private static boolean replicatesFrom(int node, int primary) {
        Map<String, String> s = cluster.replicaStatus(node);
        return String.valueOf(cluster.port(primary)).equals(s.get("Master_Port")) && "Yes".equals(s.get("Slave_IO_Running"))
                && "Yes".equals(s.get("Slave_SQL_Running"));
    }

    private static List<ClusterEvent> events(RunningBaton via) {
        return via.proxy().topology().events();
    }

    private static String join(java.util.Collection<Long> ids) {
        return String.join(",", ids.stream().map(String::valueOf).toList());
    }

    /** The port of the server that answers a new session through {@code via}. */
    private static int served(RunningBaton via) throws SQLException {
        try (Connection c = DriverManager.getConnection(via.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app");
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@port")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Inserts one row through {@code via} on a new session; returns the port of the server that took it. */
    private static int insertOne(RunningBaton via) throws SQLException {
        try (Connection c = DriverManager.getConnection(via.mysqlUrl("baton_test",
                "sslMode=DISABLED&connectTimeout=10000&socketTimeout=5000"), "app", "app");
             Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO acked (client, served_by) VALUES (9, @@port)");
            try (ResultSet rs = s.executeQuery("SELECT @@port")) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static void writeLoop(RunningBaton via, int client, AtomicBoolean running, Set<Long> acked,
                                  AtomicLong killedAt, AtomicLong firstWriteAfter, int victimPort) {
        while (running.get()) {
            try (Connection c = DriverManager.getConnection(via.mysqlUrl("baton_test",
                    "sslMode=DISABLED&connectTimeout=10000&socketTimeout=5000"), "app", "app");
                 PreparedStatement insert = c.prepareStatement("INSERT INTO acked (client, served_by) VALUES (?, @@port)",
                         Statement.RETURN_GENERATED_KEYS)) {
                int port;
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@port")) {
                    rs.next();
                    port = rs.getInt(1);
                }
                while (running.get()) {
                    insert.setInt(1, client);
                    long started = System.nanoTime();
                    insert.executeUpdate();
                    try (ResultSet keys = insert.getGeneratedKeys()) {
                        keys.next();
                        acked.add(keys.getLong(1));
                    }
                    long killed = killedAt.get();
                    if (killed != 0 && started > killed && port != victimPort) {
                        firstWriteAfter.compareAndSet(0, System.nanoTime());
                    }
                    Thread.sleep(5); // paces the load
                }
            } catch (SQLException e) {
                sleepQuietly(50); // the session was closed by the failover or refused meanwhile: reconnect
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
