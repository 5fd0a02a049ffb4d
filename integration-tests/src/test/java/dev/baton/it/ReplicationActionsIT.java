package dev.baton.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.it.fixture.LocalReplicationCluster;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.core.MonitorConnector;
import dev.baton.routing.core.RecordRead;
import dev.baton.routing.core.StoredWriter;
import dev.baton.routing.record.SqlWriterRecordStore;
import dev.baton.routing.replication.GtidPosition;
import dev.baton.routing.replication.NodeRecord;
import dev.baton.routing.replication.NodeRecord.Promotion;
import dev.baton.routing.replication.ReplicationActions.ActionException;
import dev.baton.routing.replication.ReplicationActions.ClusterLock;
import dev.baton.routing.replication.ReplicationActions.RecordWrite;
import dev.baton.routing.replication.ReplicationNodeState;
import dev.baton.routing.replication.ReplicationNodeState.Role;
import dev.baton.routing.replication.ReplicationNodeState.Source;
import dev.baton.routing.replication.ReplicationNodeState.ThreadState;
import dev.baton.routing.replication.ReplicationProbe;
import dev.baton.routing.replication.SqlReplicationActions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * What Baton's actions do to a real MariaDB primary/replica cluster, run as the monitor user with exactly the grants
 * docs/configuration.md lists (the fixture creates it so): the majority lock, fencing, a promotion by hand, and the
 * server-side refusal of a former primary holding an errant transaction.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicationActionsIT {

    private static final ClusterSpec.MonitorSettings MONITOR = new ClusterSpec.MonitorSettings("baton_monitor", "monitor",
            Duration.ofSeconds(1), Duration.ofSeconds(2), 3, 2);
    private static final Duration CATCH_UP = Duration.ofSeconds(20);

    private static LocalReplicationCluster cluster;
    private static List<Node> nodes;
    private static Node r1;
    private static Node r2;
    private static Node r3;
    private static SqlReplicationActions instanceA;
    private static SqlReplicationActions instanceB;

    @BeforeAll
    static void startCluster() throws SQLException {
        cluster = LocalReplicationCluster.start("actions", 3);
        r1 = node(1);
        r2 = node(2);
        r3 = node(3);
        nodes = List.of(r1, r2, r3);
        instanceA = new SqlReplicationActions(spec("baton-a"), Clock.systemUTC());
        instanceB = new SqlReplicationActions(spec("baton-b"), Clock.systemUTC());
        try (Connection c = app(1); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE baton_test.t (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB");
        }
        cluster.awaitReplicasCaughtUp();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static Node node(int n) {
        return new Node("r" + n, new HostPort("127.0.0.1", cluster.port(n)), n);
    }

    private static ClusterSpec spec(String instance) {
        return new ClusterSpec(List.of(node(1), node(2), node(3)), MONITOR, false, Duration.ofSeconds(5), "baton", instance,
                new ClusterSpec.ReplicationSettings("repl", "repl", true, true));
    }

    private static Connection app(int node) throws SQLException {
        return DriverManager.getConnection(cluster.jdbcUrl(node, "baton_test"), "app", "app");
    }

    @Test
    @Order(1)
    void twoInstancesNeverBothHoldTheLockAndTheSecondIsToldWhoHoldsIt() throws ActionException {
        try (ClusterLock a = instanceA.lock(nodes)) {
            assertEquals(nodes, a.heldOn());
            assertTrue(a.intact());
            ActionException refused = assertThrows(ActionException.class, () -> instanceB.lock(nodes));
            System.out.println("ReplicationActionsIT: second instance refused: " + refused.getMessage());
            assertTrue(refused.getMessage().startsWith("cluster lock baton.cluster taken on 0 of 3 nodes, not a majority: r1 held by connection "),
                    refused.getMessage());
            assertTrue(refused.getMessage().contains(" of baton_monitor@127.0.0.1:"), refused.getMessage());
        }
        try (ClusterLock b = instanceB.lock(nodes)) {
            assertEquals(nodes, b.heldOn());
        }
    }

    @Test
    @Order(2)
    void aLockHeldByAnotherSessionOnOneNodeStillLeavesAMajorityButTwoOfThreeDoNot() throws Exception {
        try (Connection stray = app(1); Statement s = stray.createStatement()) {
            s.execute("SELECT GET_LOCK('baton.cluster', 0)");
            try (ClusterLock a = instanceA.lock(nodes)) {
                assertEquals(List.of(r2, r3), a.heldOn());
                ActionException refused = assertThrows(ActionException.class, () -> instanceB.lock(nodes));
                assertTrue(refused.getMessage().contains("of app@127.0.0.1:"), refused.getMessage());
            }
            try (Connection stray2 = app(2); Statement s2 = stray2.createStatement()) {
                s2.execute("SELECT GET_LOCK('baton.cluster', 0)");
                ActionException refused = assertThrows(ActionException.class, () -> instanceA.lock(nodes));
                assertTrue(refused.getMessage().startsWith("cluster lock baton.cluster taken on 1 of 3 nodes"),
                        refused.getMessage());
            }
        }
        try (ClusterLock b = instanceB.lock(nodes)) {
            assertEquals(nodes, b.heldOn(), "the failed attempt gave back what it took");
        }
    }

    @Test
    @Order(3)
    void aLockIsNoLongerIntactWhileOneOfItsNodesIsFrozen() throws ActionException {
        // The previous test's sessions held the lock: a server frees it once it has handled their disconnect.
        await().atMost(java.time.Duration.ofSeconds(10)).until(() -> java.util.stream.IntStream.rangeClosed(1, 3)
                .allMatch(n -> "1".equals(cluster.query(n, "SELECT IS_FREE_LOCK('baton.cluster')"))));
        try (ClusterLock a = instanceA.lock(nodes)) {
            assertEquals(nodes, a.heldOn(), "held on node 3 too, so freezing it can break the lock");
            cluster.stop(3);
            try {
                assertFalse(a.intact());
            } finally {
                cluster.cont(3);
            }
        }
        cluster.awaitReplicating(3);
    }

    @Test
    @Order(4)
    void fencingTheWritableNodeEndsAnOpenClientSessionButNotReplicationNorTheOwnLock() throws Exception {
        try (ClusterLock lock = instanceA.lock(nodes); Connection client = app(1); Statement s = client.createStatement()) {
            client.setAutoCommit(false);
            s.execute("INSERT INTO t VALUES (1, 'in flight when fenced')");

            instanceA.setReadOnly(r1, true);
            int ended = instanceA.endClientSessions(r1);

            assertTrue(ended >= 1, "ended " + ended);
            assertThrows(SQLException.class, () -> s.executeQuery("SELECT 1"));
            assertTrue(lock.intact());
            assertTrue(instanceA.check(r1).readOnly());
            assertEquals("0", cluster.query(1, "SELECT COUNT(*) FROM baton_test.t"));
            for (Node replica : List.of(r2, r3)) {
                Source source = instanceA.check(replica).defaultSource().orElseThrow();
                assertTrue(source.replicating(), replica + ": " + source);
            }
        } finally {
            instanceA.setReadOnly(r1, false);
        }
        assertEquals(Role.PRIMARY, instanceA.check(r1).role());
    }

    @Test
    @Order(5)
    void theRecordChangesOnlyFromTheExpectedEpochAndEveryNodeHoldsItOnceReplicated() throws Exception {
        RecordWrite first = instanceA.writeRecord(r1, 0, new StoredWriter("r1", 1, "baton-a", "found r1 writable"), null);
        RecordWrite stale = instanceB.writeRecord(r1, 0, new StoredWriter("r3", 1, "baton-b", "stale"), null);

        assertTrue(first.applied());
        assertFalse(stale.applied());
        assertTrue(stale.after().contains(first.after()));
        for (Node n : List.of(r2, r3)) {
            instanceA.awaitApplied(n, first.after(), CATCH_UP);
        }
        for (Node n : nodes) {
            NodeRecord books = instanceA.check(n).record();
            assertTrue(books.readable(), n + ": " + books.error());
            assertEquals(Optional.of(new StoredWriter("r1", 1, "baton-a", "found r1 writable")), books.writer(), n.name());
            assertEquals(Optional.empty(), books.promotion(), n.name());
        }
        RecordRead read = new SqlWriterRecordStore("baton", new MonitorConnector(MONITOR)::connect, MONITOR.timeout()).read(r2);
        assertEquals(1, read.writer().orElseThrow().epoch(), "the shared store reads on a server without wsrep");
    }

    @Test
    @Order(6)
    void aProbeWithoutRightsOnTheBooksStillChecksTheNodeAndSaysTheBooksAreUnreadable() {
        cluster.sql(1, "CREATE USER 'blind_monitor'@'%' IDENTIFIED BY 'monitor'; GRANT SLAVE MONITOR ON *.* TO 'blind_monitor'@'%'");
        cluster.awaitReplicasCaughtUp();
        ReplicationProbe blind = new ReplicationProbe(new ClusterSpec.MonitorSettings("blind_monitor", "monitor",
                Duration.ofSeconds(1), Duration.ofSeconds(2), 3, 2), "baton", Clock.systemUTC());

        ReplicationNodeState state = blind.check(r2);

        assertEquals(Role.REPLICA, state.role());
        assertFalse(state.record().readable());
        assertTrue(state.record().error().startsWith("reading Baton's books on r2 failed: SELECT command denied"),
                state.record().error());
        assertEquals(Map.of("binlog_format", "ROW", "gtid_strict_mode", "ON", "log_slave_updates", "ON", "log_bin", "ON",
                "slave_net_timeout", "2", "rpl_semi_sync_master_timeout", "2000"), state.settings());
    }

    @Test
    @Order(7)
    void promotingAReplicaByHandLeavesItPrimaryWithTheOthersAndTheOldPrimaryReplicatingFromIt() throws Exception {
        assertEquals("", cluster.query(1, "SELECT @@global.gtid_slave_pos"), "the old primary never replicated");
        GtidPosition promotedAt;
        RecordWrite promoted;
        try (ClusterLock lock = instanceA.lock(nodes)) {
            promotedAt = promote(r2, r1, 1);
            promoted = instanceA.writeRecord(r2, 1, new StoredWriter("r2", 2, "baton-a", "promoted by hand"),
                    new Promotion(2, "r2", promotedAt));
            instanceA.replicateFrom(r3, r2);
            instanceA.replicateFrom(r1, r2);
            assertTrue(lock.intact());
        }
        assertTrue(promoted.applied());
        assertTrue(promoted.after().contains(promotedAt) && !promoted.after().equals(promotedAt), promoted.after().toString());

        try (Connection c = app(2); Statement s = c.createStatement()) {
            s.execute("INSERT INTO t VALUES (2, 'written on the new primary')");
        }
        GtidPosition last = instanceA.check(r2).gtidBinlogPos();
        for (Node n : List.of(r1, r3)) {
            instanceA.awaitApplied(n, last, CATCH_UP);
        }
        assertEquals(Role.PRIMARY, instanceA.check(r2).role());
        for (Node n : List.of(r1, r3)) {
            ReplicationNodeState replica = instanceA.check(n);
            assertEquals(Role.REPLICA, replica.role(), n.name());
            assertTrue(replica.replicatesFrom(r2.address()), n.name());
            assertTrue(replica.defaultSource().orElseThrow().replicating(), n + ": " + replica.defaultSource());
            assertEquals("Slave_Pos", replica.defaultSource().orElseThrow().usingGtid(), n.name());
            assertEquals("written on the new primary", cluster.query(n.priority(), "SELECT v FROM baton_test.t WHERE id = 2"));
        }
        for (Node n : nodes) {
            NodeRecord books = instanceA.check(n).record();
            assertEquals(2, books.epoch(), n.name());
            assertEquals("r2", books.writer().orElseThrow().writer(), n.name());
            assertEquals(Optional.of(new Promotion(2, "r2", promotedAt)), books.promotion(), n.name());
        }
        await("r2 waiting for semi-sync acknowledgements of both replicas").atMost(Duration.ofSeconds(10)).until(() -> {
            ReplicationNodeState.SemiSync semi = instanceA.check(r2).semiSync();
            return semi.sourceActive() && semi.sourceClients() == 2;
        });
    }

    @Test
    @Order(8)
    void aFormerPrimaryWithAnErrantTransactionIsRefusedByTheNewPrimaryWithError1236() throws Exception {
        try (ClusterLock lock = instanceA.lock(nodes)) {
            GtidPosition promotedAt = promote(r3, r2, 2);
            assertTrue(instanceA.writeRecord(r3, 2, new StoredWriter("r3", 3, "baton-a", "promoted by hand"),
                    new Promotion(3, "r3", promotedAt)).applied());
            instanceA.replicateFrom(r1, r3);
            cluster.sql(2, "INSERT INTO baton_test.t VALUES (3, 'errant, written on the demoted r2')");
            instanceA.replicateFrom(r2, r3);
        }

        await("r2's IO thread giving up").atMost(Duration.ofSeconds(10))
                .until(() -> !instanceA.check(r2).defaultSource().orElseThrow().lastIoError().isEmpty());
        ReplicationNodeState refused = instanceA.check(r2);
        Source source = refused.defaultSource().orElseThrow();
        System.out.println("ReplicationActionsIT: r2 at " + refused.gtidBinlogPos() + " (slave_pos " + refused.gtidSlavePos()
                + "), r3 at " + instanceA.check(r3).gtidBinlogPos() + ": IO " + source.ioThread() + ", '"
                + source.lastIoError() + "'");
        assertTrue(source.lastIoError().startsWith("Got fatal error 1236 from master when reading data from binary log"),
                source.lastIoError());
        assertEquals(ThreadState.STOPPED, source.ioThread());
        assertEquals(Role.REPLICA, refused.role());
        assertEquals("0", cluster.query(3, "SELECT COUNT(*) FROM baton_test.t WHERE id = 3"));

        GtidPosition last = instanceA.check(r3).gtidBinlogPos();
        instanceA.awaitApplied(r1, last, CATCH_UP);
        assertEquals(3, instanceA.check(r1).record().epoch());
        assertNotEquals(3, refused.record().epoch(), "r2 never received the new record");
    }

    @Test
    @Order(9)
    void waitingForAPositionTheReplicaCannotReachTimesOutNamingIt() {
        GtidPosition beyond = GtidPosition.parse("0-3-999999");
        ActionException e = assertThrows(ActionException.class,
                () -> instanceA.awaitApplied(r1, beyond, Duration.ofMillis(300)));
        assertTrue(e.getMessage().startsWith("r1 did not apply up to 0-3-999999 within 300 ms (gtid_slave_pos now 0-3-"),
                e.getMessage());
    }

    @Test
    @Order(10)
    void aMonitorWithoutProcessRefusesToEndSessionsItCannotSee() throws Exception {
        SqlReplicationActions weak = monitorWithout("PROCESS");
        try (Connection client = app(3)) {
            ActionException e = assertThrows(ActionException.class, () -> weak.endClientSessions(r3));
            assertEquals("r3: ending client sessions needs the PROCESS privilege to see them; grant PROCESS to no_process",
                    e.getMessage());
            assertTrue(client.isValid(1));
        }
    }

    @Test
    @Order(11)
    void aMonitorWithoutConnectionAdminCannotEndAnotherUsersSession() throws Exception {
        SqlReplicationActions weak = monitorWithout("CONNECTION ADMIN");
        try (Connection client = app(3)) {
            ActionException e = assertThrows(ActionException.class, () -> weak.endClientSessions(r3));
            assertTrue(e.getMessage().startsWith("r3: ending client sessions (0 of "), e.getMessage());
            assertTrue(e.getMessage().contains("You are not owner of thread"), e.getMessage());
            assertTrue(client.isValid(1));
        }
    }

    @Test
    @Order(12)
    void aMonitorWithoutReloadCannotForgetAReplicationSource() throws Exception {
        SqlReplicationActions weak = monitorWithout("RELOAD");
        try {
            ActionException e = assertThrows(ActionException.class, () -> weak.stopReplication(r1));
            assertEquals("r1: RESET SLAVE '' ALL failed: Access denied; you need (at least one of) the RELOAD privilege(s)"
                    + " for this operation", e.getMessage());
        } finally {
            cluster.sql(1, "START SLAVE");
        }
        cluster.awaitReplicating(1);
    }

    @Test
    @Order(13)
    void anEpochClaimedUnderTheLockIsSeenByTheNextLockAndIsNoTransactionOnAnyNode() throws ActionException {
        List<String> before = new ArrayList<>();
        for (int node = 1; node <= 3; node++) {
            before.add(cluster.query(node, "SELECT @@global.gtid_binlog_pos"));
        }
        long next;
        try (ClusterLock a = instanceA.lock(nodes)) {
            next = a.claimedEpoch() + 7;
            a.claim(next);
        }
        try (ClusterLock b = instanceB.lock(nodes)) {
            assertEquals(next, b.claimedEpoch(), "any later majority shares a node with the claim");
        }
        for (int node = 1; node <= 3; node++) {
            assertEquals(before.get(node - 1), cluster.query(node, "SELECT @@global.gtid_binlog_pos"),
                    "node " + node + " wrote nothing to its binary log");
        }
    }

    @Test
    @Order(14)
    void aMonitorWithoutBinlogAdminCannotClaimAnEpoch() throws Exception {
        SqlReplicationActions weak = monitorWithout("BINLOG ADMIN");
        try (ClusterLock lock = weak.lock(nodes)) {
            ActionException e = assertThrows(ActionException.class, () -> lock.claim(lock.claimedEpoch() + 1));
            assertTrue(e.getMessage().contains("claiming epoch") && e.getMessage().contains("BINLOG ADMIN"), e.getMessage());
        }
    }

    /** Actions run as a new monitor user with every documented grant but {@code missing}. */
    private static SqlReplicationActions monitorWithout(String missing) throws ActionException {
        String user = "no_" + missing.toLowerCase().replace(' ', '_');
        List<String> grants = new ArrayList<>(List.of("SLAVE MONITOR", "REPLICATION SLAVE ADMIN",
                "REPLICATION MASTER ADMIN", "READ_ONLY ADMIN", "CONNECTION ADMIN", "PROCESS", "RELOAD", "BINLOG ADMIN"));
        assertTrue(grants.remove(missing), missing);
        cluster.sql(3, "CREATE USER '" + user + "'@'%' IDENTIFIED BY 'monitor'; GRANT " + String.join(", ", grants)
                + " ON *.* TO '" + user + "'@'%'; GRANT ALL ON baton.* TO '" + user + "'@'%'");
        instanceA.awaitApplied(r1, instanceA.check(r3).gtidBinlogPos(), CATCH_UP);
        ClusterSpec.MonitorSettings settings = new ClusterSpec.MonitorSettings(user, "monitor", Duration.ofSeconds(1),
                Duration.ofSeconds(2), 3, 2);
        return new SqlReplicationActions(new ClusterSpec(nodes, settings, false, Duration.ofSeconds(5), "baton", user,
                new ClusterSpec.ReplicationSettings("repl", "repl", true, true)), Clock.systemUTC());
    }

    /**
     * Makes {@code candidate} the writable primary in place of {@code old}, as the keeper would: fence the old one,
     * let the candidate apply all it wrote, cut the candidate loose and open it for writes. Returns the candidate's
     * position once writable.
     */
    private static GtidPosition promote(Node candidate, Node old, long epoch) throws ActionException {
        instanceA.setReadOnly(old, true);
        instanceA.endClientSessions(old);
        instanceA.awaitApplied(candidate, instanceA.check(old).gtidBinlogPos(), CATCH_UP);
        instanceA.stopReplication(candidate);
        instanceA.setReadOnly(candidate, false);
        instanceA.enableSemiSyncSource(candidate);
        ReplicationNodeState now = instanceA.check(candidate);
        assertEquals(Role.PRIMARY, now.role(), candidate.name());
        assertEquals(epoch, now.record().epoch(), candidate.name());
        return now.gtidBinlogPos();
    }
}
