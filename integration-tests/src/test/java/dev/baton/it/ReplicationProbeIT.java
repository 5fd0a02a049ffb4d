package dev.baton.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.it.fixture.LocalReplicationCluster;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.core.CheckVerdict;
import dev.baton.routing.replication.GtidPosition;
import dev.baton.routing.replication.NodeRecord;
import dev.baton.routing.replication.ReplicationNodeState;
import dev.baton.routing.replication.ReplicationNodeState.Role;
import dev.baton.routing.replication.ReplicationNodeState.Source;
import dev.baton.routing.replication.ReplicationNodeState.ThreadState;
import dev.baton.routing.replication.ReplicationProbe;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** What one check of each node of a real primary/replica cluster sees, as the monitor user with its documented grants. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicationProbeIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(1);
    private static final ReplicationProbe PROBE = new ReplicationProbe(new ClusterSpec.MonitorSettings("baton_monitor",
            "monitor", Duration.ofSeconds(1), TIMEOUT, 3, 2), Clock.systemUTC());

    private static LocalReplicationCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = LocalReplicationCluster.start("probe", 3);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static ReplicationNodeState check(int node) {
        return PROBE.check(new Node("r" + node, new HostPort("127.0.0.1", cluster.port(node)), node));
    }

    @Test
    @Order(1)
    void thePrimaryReportsPrimaryWritableWithSemiSyncActiveForBothReplicas() {
        ReplicationNodeState primary = check(1);
        assertEquals(null, primary.error());
        assertEquals(Role.PRIMARY, primary.role());
        assertEquals(new CheckVerdict.Writable(), primary.verdict());
        assertEquals(1, primary.serverId());
        assertFalse(primary.readOnly());
        assertTrue(primary.sources().isEmpty());
        assertEquals(new ReplicationNodeState.SemiSync(true, true, 2, true, false), primary.semiSync());
        assertFalse(primary.gtidBinlogPos().isEmpty());
        assertEquals(primary.gtidBinlogPos(), primary.gtidCurrentPos());
        assertEquals(300, primary.maxConnections());
        assertEquals(Map.of("binlog_format", "ROW", "gtid_strict_mode", "ON", "log_slave_updates", "ON", "log_bin", "ON",
                "slave_net_timeout", "2", "rpl_semi_sync_master_timeout", "2000"), primary.settings());
        assertEquals(NodeRecord.NONE, primary.record(), "no books written yet");
    }

    @Test
    @Order(2)
    void eachReplicaReplicatesFromThePrimaryAndHasReceivedAndAppliedItsLatestWrite() throws SQLException {
        try (Connection c = DriverManager.getConnection(cluster.jdbcUrl(1, "baton_test"), "app", "app");
             Statement s = c.createStatement()) {
            s.execute("CREATE TABLE probed (id INT PRIMARY KEY) ENGINE=InnoDB");
            s.execute("INSERT INTO probed VALUES (1)");
        }
        cluster.awaitReplicasCaughtUp();
        GtidPosition primaryPos = check(1).gtidBinlogPos();
        for (int node = 2; node <= 3; node++) {
            int n = node;
            await("lag 0 on node " + n).atMost(Duration.ofSeconds(10)).until(() ->
                    check(n).defaultSource().map(Source::secondsBehindSource).orElse(OptionalLong.empty())
                            .equals(OptionalLong.of(0)));
            ReplicationNodeState replica = check(node);
            assertEquals(Role.REPLICA, replica.role(), "node " + node);
            assertEquals(node, replica.serverId());
            assertTrue(replica.readOnly(), "node " + node);
            Source source = replica.defaultSource().orElseThrow();
            assertEquals("127.0.0.1:" + cluster.port(1), source.sourceAddress(), "node " + node);
            assertEquals(ThreadState.RUNNING, source.ioThread(), "node " + node);
            assertEquals(ThreadState.RUNNING, source.sqlThread(), "node " + node);
            assertEquals("", source.lastIoError(), "node " + node);
            assertEquals("", source.lastSqlError(), "node " + node);
            assertEquals(OptionalLong.of(0), source.secondsBehindSource(), "node " + node);
            assertEquals("Slave_Pos", source.usingGtid(), "node " + node);
            assertEquals(primaryPos, source.gtidIoPos(), "node " + node);
            assertEquals(primaryPos, replica.gtidSlavePos(), "node " + node);
            assertTrue(replica.relayLogApplied(), "node " + node);
            assertTrue(replica.semiSync().replicaActive(), "node " + node);
            assertEquals(new CheckVerdict.Writable(), replica.verdict(), "node " + node + " is fit for its role");
            assertEquals("replicates from 127.0.0.1:" + cluster.port(1) + " (IO thread running, SQL thread running)",
                    replica.whyNotWritable(), "node " + node);
        }
    }

    @Test
    @Order(3)
    void afterStopSlaveTheReplicaSaysBothThreadsStoppedAndIsStillAReplica() {
        cluster.sql(3, "STOP SLAVE");
        try {
            ReplicationNodeState stopped = check(3);
            Source source = stopped.defaultSource().orElseThrow();
            assertEquals(ThreadState.STOPPED, source.ioThread());
            assertEquals(ThreadState.STOPPED, source.sqlThread());
            assertEquals(OptionalLong.empty(), source.secondsBehindSource());
            assertEquals(Role.REPLICA, stopped.role());
            assertEquals(new CheckVerdict.Unfit("replication from 127.0.0.1:" + cluster.port(1)
                    + " stopped applying (SQL thread stopped)"), stopped.verdict());
            assertEquals("replicates from 127.0.0.1:" + cluster.port(1) + " (IO thread stopped, SQL thread stopped)",
                    stopped.whyNotWritable());
        } finally {
            cluster.sql(3, "START SLAVE");
        }
        cluster.awaitReplicating(3);
        assertTrue(check(3).defaultSource().orElseThrow().replicating());
    }

    @Test
    @Order(4)
    void aFrozenPrimaryTimesOutAndItsReplicasSeeTheirIoThreadReconnectOrFailWithinSeconds() {
        cluster.stop(1);
        try {
            long t0 = System.nanoTime();
            ReplicationNodeState frozen = check(1);
            long elapsedMs = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(new CheckVerdict.NoAnswer("no answer within 1000 ms"), frozen.verdict());
            assertEquals(Role.UNKNOWN, frozen.role());
            assertTrue(elapsedMs < 3 * TIMEOUT.toMillis(), "the check of a frozen node took " + elapsedMs + " ms");

            long t1 = System.nanoTime();
            await("node 2 noticing the frozen primary").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        Source source = check(2).defaultSource().orElseThrow();
                        return source.ioThread() != ThreadState.RUNNING || !source.lastIoError().isEmpty();
                    });
            System.out.printf("ReplicationProbeIT: SIGSTOP of the primary to a replica's IO thread reconnecting or "
                    + "failing: %d ms (heartbeat 0.5 s, slave_net_timeout 2 s)%n", (System.nanoTime() - t1) / 1_000_000);
            ReplicationNodeState replica = check(2);
            Source source = replica.defaultSource().orElseThrow();
            System.out.println("ReplicationProbeIT: node 2 then: IO " + source.ioThread() + ", error '"
                    + source.lastIoError() + "'");
            assertEquals(Role.REPLICA, replica.role());
            assertEquals(ThreadState.RUNNING, source.sqlThread());
        } finally {
            cluster.cont(1);
        }
        cluster.awaitReplicating(2);
        cluster.awaitReplicating(3);
        assertEquals(Role.PRIMARY, check(1).role());
    }

    @Test
    @Order(5)
    void aNodeNobodyListensOnGivesAnErrorStateAtOnce() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        ReplicationNodeState gone = PROBE.check(new Node("gone", new HostPort("127.0.0.1", port), 9));
        assertFalse(gone.reachable());
        assertEquals(new CheckVerdict.NoAnswer("connection refused"), gone.verdict());
        assertEquals(Role.UNKNOWN, gone.role());
    }

    @Test
    @Order(6)
    void aMonitorWithoutSlaveMonitorGetsAnErrorStateNamingTheMissingPrivilege() {
        cluster.sql(1, "CREATE USER 'weak_monitor'@'%' IDENTIFIED BY 'monitor'");
        cluster.awaitReplicasCaughtUp();
        ReplicationProbe weak = new ReplicationProbe(new ClusterSpec.MonitorSettings("weak_monitor", "monitor",
                Duration.ofSeconds(1), TIMEOUT, 3, 2), Clock.systemUTC());
        ReplicationNodeState denied = weak.check(new Node("r2", new HostPort("127.0.0.1", cluster.port(2)), 2));
        assertTrue(denied.verdict() instanceof CheckVerdict.NoAnswer, String.valueOf(denied.verdict()));
        assertTrue(denied.error().contains("SLAVE MONITOR"), denied.error());
    }
}
