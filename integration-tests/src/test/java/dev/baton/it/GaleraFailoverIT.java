package dev.baton.it;

import dev.baton.it.fixture.LocalGaleraCluster;
import dev.baton.it.fixture.RunningBaton;
import org.awaitility.core.ConditionTimeoutException;
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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two Baton instances in front of a real 3-node Galera cluster while nodes are killed, hung, brought back and
 * quorum is lost. The scenarios run in order on one cluster; each leaves it as the next expects.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GaleraFailoverIT {
    /** Galera's failure detection tuned down so the suite stays short; every figure printed names these. */
    static final String EVS = System.getProperty("baton.it.evs", "evs.suspect_timeout=PT1S;evs.inactive_timeout=PT3S;"
            + "evs.keepalive_period=PT0.3S;evs.inactive_check_period=PT0.5S;evs.join_retrans_period=PT0.3S;"
            + "evs.install_timeout=PT2S"); // -Dbaton.it.evs= (empty) runs with Galera's defaults
    private static final Duration INTERVAL = Duration.ofMillis(500);

    private static LocalGaleraCluster cluster;
    private static final java.util.concurrent.atomic.AtomicInteger victimPort = new java.util.concurrent.atomic.AtomicInteger();
    private static RunningBaton a;
    private static RunningBaton b;

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalGaleraCluster.start("failover", 3, EVS);
        cluster.sql(1, "CREATE TABLE IF NOT EXISTS baton_test.acked (id BIGINT AUTO_INCREMENT PRIMARY KEY, client INT, "
                + "served_by INT) ENGINE=InnoDB");
        a = RunningBaton.inFrontOfGalera(cluster, "baton-a");
        b = RunningBaton.inFrontOfGalera(cluster, "baton-b");
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

    private static int nodeOf(String name) {
        return Integer.parseInt(name.substring(2));
    }

    @Test
    @Order(1)
    void bothInstancesElectTheLowestPriorityNode() throws Exception {
        assertEquals("db1", a.awaitWriter(Duration.ofSeconds(20)));
        assertEquals("db1", b.awaitWriter(Duration.ofSeconds(20)));
        try (Connection c = DriverManager.getConnection(a.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app");
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@port")) {
            rs.next();
            assertEquals(cluster.port(1), rs.getInt(1), "Baton A routes to db1");
        }
        assertEquals("db1", cluster.query(2, "SELECT writer FROM baton.writer WHERE id = 1").trim(), "the record in the cluster");
    }

    @Test
    @Order(1)
    void quotaAboveTheWritersMaxConnectionsIsWarnedAbout() throws Exception {
        try (RunningBaton c = RunningBaton.inFrontOfGalera(cluster, "baton-c", new dev.baton.routing.ClientQuota.Settings(
                dev.baton.routing.ClientQuota.Key.CLIENT_ADDRESS, 50, 400, java.util.Map.of(), Duration.ofMinutes(10)))) {
            c.awaitWriter(Duration.ofSeconds(20));
            String expected = "writer db1 has max_connections=300, below quotas.max-total 400 plus 2 monitor connections: "
                    + "raise max_connections to at least 402 or lower quotas.max-total";
            // the warning is computed by the writer-change listener, just after the writer is set
            await().atMost(Duration.ofSeconds(3)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20))
                    .untilAsserted(() -> assertEquals(expected, c.proxy().capacityWarning()));
            java.net.http.HttpResponse<String> health = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                            + c.proxy().adminAddress().getPort() + "/healthz")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertTrue(health.body().contains("\"warning\":\"" + expected + "\""), health.body());
        }
        assertNull(a.proxy().capacityWarning(), "250 + 2 fits in max_connections=300");
    }

    @Test
    @Order(2)
    void killNineOfTheWriterFailsOverWithoutLosingACommittedRow() throws Exception {
        failoverUnderLoad("kill -9", node -> cluster.kill9(node), Duration.ofSeconds(20));
        String text = MetricsIT.scrape(a);
        assertEquals(0, MetricsIT.value(text, "baton_node_up{node=\"db1\"}"));
        assertEquals(1, MetricsIT.value(text, "baton_node_up{node=\"" + a.writer() + "\"}"));
        assertEquals(1, MetricsIT.value(text, "baton_writer{node=\"" + a.writer() + "\"}"));
        assertEquals(0, MetricsIT.value(text, "baton_writer{node=\"db1\"}"));
        assertTrue(MetricsIT.value(text, "baton_node_flow_control_paused{node=\"" + a.writer() + "\"}") >= 0);
        assertTrue(MetricsIT.value(text, "baton_writer_changes_total{reason=\"failover\"}") >= 1,
                "the failover is counted by each instance, also by the one that followed the other's change");
        double seconds = MetricsIT.value(text, "baton_failover_seconds_count") + MetricsIT.value(MetricsIT.scrape(b), "baton_failover_seconds_count");
        assertTrue(seconds >= 1, "the failover's duration is recorded");
    }

    @Test
    @Order(3)
    void restartedOldWriterRejoinsAndTheWriterStaysPutForThirtySeconds() throws Exception {
        String writer = a.writer();
        // A donor is desynced during state transfer and so not writable: as an operator would, the test points
        // the joiner at a node that is not the writer (wsrep_sst_donor). A writer that becomes donor is moved.
        int donor = 6 - 1 - nodeOf(writer); // the third node
        cluster.restart(1, donor);
        cluster.awaitClusterSize(nodeOf(writer), 3, Duration.ofSeconds(60));
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        int samples = 0;
        while (System.nanoTime() < end) { // samples for 30 s: proves the writer does not move, awaits nothing
            assertEquals(writer, a.writer(), "A's writer moved while db1 rejoined");
            assertEquals(writer, b.writer(), "B's writer moved while db1 rejoined");
            samples++;
            Thread.sleep(100);
        }
        assertTrue(samples > 200);
    }

    @Test
    @Order(4)
    void hungWriterIsDetectedByTimeoutAndResumingItDoesNotMoveTheWriterBack() throws Exception {
        int hung = nodeOf(a.writer());
        // An idle session bound to the writer that will hang: after failover it must not come back to life on
        // the old node when that node resumes, or two nodes would take writes.
        Connection idle = DriverManager.getConnection(a.mysqlUrl("baton_test", "sslMode=DISABLED&socketTimeout=10000"), "app", "app");
        failoverUnderLoad("SIGSTOP", node -> cluster.stop(node), Duration.ofSeconds(30));
        String writer = a.writer();
        assertNotEquals("db" + hung, writer);
        cluster.resume(hung);
        cluster.awaitSynced(hung, Duration.ofSeconds(60));
        try (Statement s = idle.createStatement()) {
            SQLException closed = assertThrows(SQLException.class, () -> s.executeUpdate("INSERT INTO acked (client) VALUES (-1)"));
            assertEquals("08S01", closed.getSQLState(), "Baton closed the session bound to the old writer: " + closed);
        } finally {
            idle.close();
        }
        assertEquals("0", cluster.query(nodeOf(writer), "SELECT COUNT(*) FROM baton_test.acked WHERE client = -1").trim());
        for (int i = 0; i < 50; i++) { // 5 s after SIGCONT: the writer does not move back to the resumed node
            String nowA = a.writer();
            assertNotEquals("db" + hung, nowA, "A moved the writer back to the resumed node");
            assertNotEquals("db" + hung, b.writer(), "B moved the writer back to the resumed node");
            Thread.sleep(100);
        }
    }

    @Test
    @Order(5)
    void lostQuorumRefusesNewClientsAndRoutesNothingThere() throws Exception {
        int writer = nodeOf(a.writer());
        int survivor = writer;
        for (int n = 1; n <= 3; n++) {
            if (n != survivor) {
                cluster.kill9(n);
            }
        }
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertNull(a.writer(), "A refuses: " + a.proxy().topology().currentWriter());
            assertNull(b.writer(), "B refuses: " + b.proxy().topology().currentWriter());
        });
        assertEquals("non-Primary", cluster.status(survivor, "wsrep_cluster_status"));
        SQLException e = assertThrows(SQLException.class, () -> DriverManager.getConnection(
                a.mysqlUrl("baton_test", "sslMode=DISABLED&connectTimeout=30000"), "app", "app").close());
        assertEquals("08S01", e.getSQLState());
        assertEquals(9001, e.getErrorCode());
        assertTrue(e.getMessage().startsWith("no writer available: "), e.getMessage());
        System.out.println("quorum lost, a new client is told: " + e.getMessage());
    }

    private interface NodeAction {
        void apply(int node) throws Exception;
    }

    /**
     * Clients write through A and B while {@code failure} hits the writer; checks that writes resume on another
     * node, that every acknowledged row is in the table, and that A and B never disagree for longer than one
     * monitor interval.
     */
    private void failoverUnderLoad(String what, NodeAction failure, Duration resumeWithin) throws Exception {
        String oldWriter = a.awaitWriter(Duration.ofSeconds(20));
        assertEquals(oldWriter, b.awaitWriter(Duration.ofSeconds(20)));
        Set<Long> acked = ConcurrentHashMap.newKeySet();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong failedAt = new AtomicLong();
        AtomicLong firstWriteAfter = new AtomicLong();
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            RunningBaton via = i % 2 == 0 ? a : b;
            int client = i;
            Thread t = new Thread(() -> writeLoop(via, client, running, acked, failedAt, firstWriteAfter));
            t.start();
            clients.add(t);
        }
        List<String[]> samples = new ArrayList<>();
        Thread sampler = new Thread(() -> {
            while (running.get()) {
                samples.add(new String[]{String.valueOf(System.nanoTime()), a.writer(), b.writer()});
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.start();
        Thread.sleep(2000); // the clients write to the old writer for a while before it fails
        int victim = nodeOf(oldWriter);
        victimPort.set(cluster.port(victim));
        failure.apply(victim);
        failedAt.set(System.nanoTime()); // after the signal: a write begun before it may still succeed on the victim
        try {
            await().atMost(resumeWithin).pollInterval(Duration.ofMillis(20)).until(() -> firstWriteAfter.get() != 0);
        } catch (ConditionTimeoutException notResumed) {
            // the assertion below reports it, once the clients have stopped
        }
        Thread.sleep(2000); // the clients go on writing to the new writer for a while
        running.set(false);
        for (Thread t : clients) {
            t.join(30_000);
        }
        sampler.join(5000);

        assertTrue(firstWriteAfter.get() != 0, "writes resumed within " + resumeWithin.toSeconds() + " s after " + what);
        long ms = TimeUnit.NANOSECONDS.toMillis(firstWriteAfter.get() - failedAt.get());
        String newWriter = a.writer();
        assertNotEquals(oldWriter, newWriter);
        assertEquals(newWriter, b.writer());
        System.out.printf("%s of writer %s: first write through Baton after %d ms, new writer %s (%s)%n",
                what, oldWriter, ms, newWriter, EVS.isEmpty() ? "Galera's default evs settings" : EVS);

        for (RunningBaton instance : List.of(a, b)) { // the audit trail for the admin API has both kinds of change
            var events = instance.proxy().topology().events();
            assertTrue(events.stream().anyMatch(e -> e.kind().equals("node") && e.subject().equals(oldWriter)
                    && e.description().startsWith("node " + oldWriter + " is down: ")), events.toString());
            assertTrue(events.stream().anyMatch(e -> e.kind().equals("writer") && e.subject().equals(newWriter)
                    && e.description().startsWith("writer is now " + newWriter)), events.toString());
        }
        int live = nodeOf(newWriter);
        String count = cluster.query(live, "SELECT COUNT(*) FROM baton_test.acked WHERE id IN ("
                + String.join(",", acked.stream().map(String::valueOf).toList()) + ")").trim();
        assertEquals(String.valueOf(acked.size()), count, "every row a client saw committed is in the table");

        long longest = 0;
        long since = 0;
        for (String[] s : samples) {
            boolean disagree = s[1] != null && s[2] != null && !s[1].equals(s[2]);
            long t = Long.parseLong(s[0]);
            if (disagree && since == 0) {
                since = t;
            } else if (!disagree && since != 0) {
                longest = Math.max(longest, t - since);
                since = 0;
            }
        }
        assertTrue(TimeUnit.NANOSECONDS.toMillis(longest) <= INTERVAL.toMillis() + 200,
                "A and B routed to different writers for " + TimeUnit.NANOSECONDS.toMillis(longest) + " ms");
    }

    private static void writeLoop(RunningBaton via, int client, AtomicBoolean running, Set<Long> acked,
                                  AtomicLong failedAt, AtomicLong firstWriteAfter) {
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
                    long failed = failedAt.get();
                    if (failed != 0 && started > failed && port != victimPort.get()) { // answered by another node
                        firstWriteAfter.compareAndSet(0, System.nanoTime());
                    }
                    Thread.sleep(5); // paces the load
                }
            } catch (SQLException e) {
                sleepQuietly(50); // the session was closed by failover or refused during the election: reconnect
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
