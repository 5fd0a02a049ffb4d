package dev.baton.routing.replication;

import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.NodeReport;
import dev.baton.routing.ReplicationReport;
import dev.baton.routing.replication.ReplicationCheck.Finding;
import dev.baton.routing.replication.ReplicationCheck.Result;
import dev.baton.routing.replication.ReplicationNodeState.Role;
import dev.baton.routing.replication.ReplicationNodeState.SemiSync;
import dev.baton.routing.replication.ReplicationNodeState.Source;
import dev.baton.routing.replication.ReplicationNodeState.ThreadState;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReplicationCheckTest {
    private static final Instant AT = Instant.parse("2026-11-01T10:00:00Z");
    private static final GtidPosition POS = GtidPosition.parse("0-1-10");
    private static final List<Node> NODES = List.of(node(1), node(2), node(3));
    private static final Map<String, String> GOOD = Map.of("binlog_format", "ROW", "gtid_strict_mode", "ON",
            "log_slave_updates", "ON", "log_bin", "ON", "rpl_semi_sync_master_timeout", "10000", "slave_net_timeout", "10");
    private static final SemiSync PRIMARY_SEMI = new SemiSync(true, true, 2, true, false);
    private static final SemiSync REPLICA_SEMI = new SemiSync(true, false, 0, true, true);

    private static Node node(int i) {
        return new Node("db" + i, new HostPort("127.0.0.1", 3320 + i), i);
    }

    private static Source source(ThreadState io, ThreadState sql, OptionalLong lag, String sqlError) {
        return new Source("", "127.0.0.1", 3321, io, sql, "", sqlError, lag, POS, "b.000001:10", "b.000001:10",
                "Slave_Pos");
    }

    private static NodeReport primary(Map<String, String> settings, SemiSync semi) {
        ReplicationNodeState s = new ReplicationNodeState(AT, null, 1, false, POS, POS, GtidPosition.EMPTY, List.of(),
                semi, 300, settings);
        return NodeReport.ofReplication("db1", true, null, s, null);
    }

    private static NodeReport replica(int i, boolean readOnly, Map<String, String> settings, Source source) {
        ReplicationNodeState s = new ReplicationNodeState(AT, null, i, readOnly, POS, POS, POS, List.of(source),
                REPLICA_SEMI, 300, settings);
        return NodeReport.ofReplication("db" + i, true, null, s, null);
    }

    private static NodeReport healthyReplica(int i) {
        return replica(i, true, GOOD, source(ThreadState.RUNNING, ThreadState.RUNNING, OptionalLong.of(0), ""));
    }

    private static Map<String, String> with(String variable, String value) {
        Map<String, String> m = new HashMap<>(GOOD);
        m.put(variable, value);
        return m;
    }

    private static Finding find(List<Finding> findings, String check) {
        return findings.stream().filter(f -> f.check().equals(check)).findFirst()
                .orElseThrow(() -> new AssertionError("no finding '" + check + "' in " + findings));
    }

    @Test
    void aWellSetUpClusterOfThreePassesEveryFinding() {
        List<Finding> findings = ReplicationCheck.findings(NODES,
                List.of(primary(GOOD, PRIMARY_SEMI), healthyReplica(2), healthyReplica(3)), 252);
        assertEquals(List.of(), findings.stream().filter(f -> f.result() != Result.PASS).toList());
        assertEquals("db1 is the primary", find(findings, "one primary").detail());
        assertEquals("replicates from 127.0.0.1:3321, 0 s behind", find(findings, "replication on db2").detail());
    }

    @Test
    void twoNodesAreWarnedAboutBecauseAMajorityOfTwoIsTwo() {
        List<Finding> findings = ReplicationCheck.findings(NODES.subList(0, 2),
                List.of(primary(GOOD, PRIMARY_SEMI), healthyReplica(2)), 252);
        Finding f = find(findings, "nodes configured");
        assertEquals(Result.WARN, f.result());
        assertTrue(f.detail().contains("a majority of 2 is 2"), f.detail());
    }

    @Test
    void tooFewConnectionsOnAReplicaFailBecauseItMayBecomeThePrimary() {
        Finding f = find(ReplicationCheck.findings(NODES,
                List.of(primary(GOOD, PRIMARY_SEMI), healthyReplica(2), healthyReplica(3)), 400), "max_connections on db3");
        assertEquals(Result.FAIL, f.result());
        assertTrue(f.detail().startsWith("max_connections=300; needs at least 400"), f.detail());
    }

    @Test
    void aReplicaWithoutLogSlaveUpdatesOrStrictGtidFails() {
        List<Finding> findings = ReplicationCheck.findings(NODES, List.of(primary(GOOD, PRIMARY_SEMI),
                replica(2, true, with("log_slave_updates", "OFF"), source(ThreadState.RUNNING, ThreadState.RUNNING,
                        OptionalLong.of(0), "")),
                replica(3, true, with("gtid_strict_mode", "OFF"), source(ThreadState.RUNNING, ThreadState.RUNNING,
                        OptionalLong.of(0), ""))), 252);
        assertEquals(Result.FAIL, find(findings, "log_slave_updates on db2").result());
        assertEquals(Result.FAIL, find(findings, "gtid_strict_mode on db3").result());
        assertEquals(Result.PASS, find(findings, "gtid_strict_mode on db2").result());
    }

    @Test
    void statementBasedLoggingOrNoBinaryLogFails() {
        List<Finding> findings = ReplicationCheck.findings(NODES, List.of(primary(with("binlog_format", "MIXED"),
                PRIMARY_SEMI), replica(2, true, with("log_bin", "OFF"), source(ThreadState.RUNNING,
                ThreadState.RUNNING, OptionalLong.of(0), "")), healthyReplica(3)), 252);
        assertEquals(Result.FAIL, find(findings, "binlog_format on db1").result());
        assertEquals(Result.FAIL, find(findings, "log_bin on db2").result());
    }

    @Test
    void aWritableReplicaFails() {
        Finding f = find(ReplicationCheck.findings(NODES, List.of(primary(GOOD, PRIMARY_SEMI), replica(2, false, GOOD,
                source(ThreadState.RUNNING, ThreadState.RUNNING, OptionalLong.of(0), "")), healthyReplica(3)), 252),
                "read_only on db2");
        assertEquals(Result.FAIL, f.result());
    }

    @Test
    void semiSyncOffIsAWarningThatAcknowledgedWritesMayBeLost() {
        Finding f = find(ReplicationCheck.findings(NODES, List.of(primary(GOOD, new SemiSync(false, false, 0, false,
                false)), healthyReplica(2), healthyReplica(3)), 252), "semi-sync on db1");
        assertEquals(Result.WARN, f.result());
        assertTrue(f.detail().contains("rpl_semi_sync_master_enabled and rpl_semi_sync_slave_enabled OFF"), f.detail());
        assertTrue(f.detail().contains("acknowledged to clients may be lost"), f.detail());
    }

    @Test
    void aPrimaryThatFellBackToAsynchronousReplicationIsWarnedAbout() {
        Finding f = find(ReplicationCheck.findings(NODES, List.of(primary(GOOD, new SemiSync(true, false, 0, true,
                false)), healthyReplica(2), healthyReplica(3)), 252), "semi-sync on db1");
        assertEquals(Result.WARN, f.result());
        assertTrue(f.detail().contains("fell back to asynchronous"), f.detail());
    }

    @Test
    void aShortSemiSyncTimeoutIsNamedAndWarnedAbout() {
        Finding f = find(ReplicationCheck.findings(NODES, List.of(primary(with("rpl_semi_sync_master_timeout", "2000"),
                PRIMARY_SEMI), healthyReplica(2), healthyReplica(3)), 252), "rpl_semi_sync_master_timeout on db1");
        assertEquals(Result.WARN, f.result());
        assertTrue(f.detail().startsWith("rpl_semi_sync_master_timeout=2000 ms"), f.detail());
    }

    @Test
    void aLaggingReplicaIsWarnedAboutAndOneThatStoppedApplyingFails() {
        List<Finding> findings = ReplicationCheck.findings(NODES, List.of(primary(GOOD, PRIMARY_SEMI),
                replica(2, true, GOOD, source(ThreadState.RUNNING, ThreadState.RUNNING, OptionalLong.of(42), "")),
                replica(3, true, GOOD, source(ThreadState.RUNNING, ThreadState.STOPPED, OptionalLong.empty(),
                        "Duplicate entry '1' for key 'PRIMARY'"))), 252);
        Finding lagging = find(findings, "replication on db2");
        assertEquals(Result.WARN, lagging.result());
        assertTrue(lagging.detail().startsWith("42 s behind 127.0.0.1:3321"), lagging.detail());
        Finding stopped = find(findings, "replication on db3");
        assertEquals(Result.FAIL, stopped.result());
        assertTrue(stopped.detail().contains("last SQL error: Duplicate entry"), stopped.detail());
    }

    @Test
    void aHighSlaveNetTimeoutIsWarnedAboutOnReplicas() {
        Finding f = find(ReplicationCheck.findings(NODES, List.of(primary(GOOD, PRIMARY_SEMI),
                replica(2, true, with("slave_net_timeout", "60"), source(ThreadState.RUNNING, ThreadState.RUNNING,
                        OptionalLong.of(0), "")), healthyReplica(3)), 252), "slave_net_timeout on db2");
        assertEquals(Result.WARN, f.result());
        assertTrue(f.detail().startsWith("slave_net_timeout=60 s; a replica confirms"), f.detail());
    }

    @Test
    void twoWritablePrimariesFailAndNoPrimaryFails() {
        NodeReport second = NodeReport.ofReplication("db2", true, null, new ReplicationNodeState(AT, null, 2, false, POS,
                POS, POS, List.of(), PRIMARY_SEMI, 300, GOOD), null);
        assertEquals(Result.FAIL, find(ReplicationCheck.findings(NODES, List.of(primary(GOOD, PRIMARY_SEMI), second,
                healthyReplica(3)), 252), "one primary").result());
        assertEquals("no node is writable and replicating from nobody", find(ReplicationCheck.findings(NODES,
                List.of(healthyReplica(2), healthyReplica(3)), 252), "one primary").detail());
    }

    @Test
    void anUnreachableNodeAndANodeLeftOutAreNamed() {
        NodeReport gone = NodeReport.ofReplication("db3", false, "connection refused",
                ReplicationNodeState.unreachable(AT, "connection refused"), null);
        NodeReport leftOut = NodeReport.ofReplication("db2", false, "diverged", new ReplicationNodeState(AT, null, 2,
                true, POS, POS, POS, List.of(), PRIMARY_SEMI, 300, GOOD), "holds 0-2-11, which the primary lacks");
        List<Finding> findings = ReplicationCheck.findings(NODES, List.of(primary(GOOD, PRIMARY_SEMI), leftOut, gone), 252);
        Finding healthy = find(findings, "nodes healthy");
        assertEquals(Result.FAIL, healthy.result());
        assertEquals("1 of 3 node(s) healthy; db2: diverged; db3: connection refused", healthy.detail());
        assertEquals("Baton keeps db2 out: holds 0-2-11, which the primary lacks",
                find(findings, "in the cluster: db2").detail());
    }

    @Test
    void aReportOfAnUnreachableNodeHasNoPositionsAndNoLag() {
        ReplicationReport r = ReplicationReport.of(ReplicationNodeState.unreachable(AT, "timeout"), null);
        assertEquals(Role.UNKNOWN, r.role());
        assertNull(r.gtidBinlogPos());
        assertNull(r.lagSeconds());
        assertFalse(r.semiSyncActive());
    }

    @Test
    void aReplicaReportCarriesItsSourceThreadsLagAndPositions() {
        ReplicationReport r = healthyReplica(2).replication();
        assertEquals(Role.REPLICA, r.role());
        assertEquals("127.0.0.1:3321", r.source());
        assertEquals(ThreadState.RUNNING, r.sqlThread());
        assertEquals(0L, r.lagSeconds());
        assertEquals("0-1-10", r.gtidSlavePos());
        assertEquals("0-1-10", r.gtidIoPos());
        assertNull(r.lastSqlError());
        assertTrue(r.semiSyncActive());
    }
}
