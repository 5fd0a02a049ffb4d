package dev.baton.routing.replication;

import dev.baton.routing.core.CheckVerdict;
import dev.baton.routing.replication.ReplicationNodeState.Role;
import dev.baton.routing.replication.ReplicationNodeState.SemiSync;
import dev.baton.routing.replication.ReplicationNodeState.Source;
import dev.baton.routing.replication.ReplicationNodeState.ThreadState;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReplicationNodeStateTest {
    private static final Instant AT = Instant.parse("2026-11-01T10:00:00Z");
    private static final GtidPosition AT_10 = GtidPosition.parse("0-1-10");
    private static final GtidPosition AT_8 = GtidPosition.parse("0-1-8");

    private static Source source(String name, ThreadState io, ThreadState sql, GtidPosition ioPos, String usingGtid) {
        return new Source(name, "127.0.0.1", 3321, io, sql, "", "", OptionalLong.of(0), ioPos,
                "r1-bin.000001:2000", "r1-bin.000001:2000", usingGtid);
    }

    private static Source running() {
        return source("", ThreadState.RUNNING, ThreadState.RUNNING, AT_10, "Slave_Pos");
    }

    private static ReplicationNodeState node(long serverId, boolean readOnly, GtidPosition slavePos, Source... sources) {
        return new ReplicationNodeState(AT, null, serverId, readOnly, AT_10, AT_10, slavePos, List.of(sources),
                new SemiSync(true, true, 2, true, false), 300, Map.of("binlog_format", "ROW"));
    }

    @Test
    void aWritableNodeReplicatingFromNobodyIsThePrimaryAndMayTakeWrites() {
        ReplicationNodeState primary = node(1, false, GtidPosition.EMPTY);
        assertEquals(Role.PRIMARY, primary.role());
        assertEquals(new CheckVerdict.Writable(), primary.verdict());
        assertEquals(null, primary.whyNotWritable());
        assertEquals(Optional.empty(), primary.defaultSource());
        assertFalse(primary.relayLogApplied(), "a node without a source has no relay log to apply");
    }

    @Test
    void aReadOnlyReplicaWithRunningThreadsIsAFitReplicaThatMayNotTakeWrites() {
        ReplicationNodeState replica = node(2, true, AT_10, running());
        assertEquals(Role.REPLICA, replica.role());
        assertEquals(new CheckVerdict.Writable(), replica.verdict(), "fit for its role");
        assertEquals("replicates from 127.0.0.1:3321 (IO thread running, SQL thread running)", replica.whyNotWritable());
        assertEquals("up (replica of 127.0.0.1:3321)", replica.upDescription());
        assertEquals(Optional.of(running()), replica.defaultSource());
        assertTrue(replica.defaultSource().orElseThrow().replicating());
    }

    @Test
    void aNodeWithAStoppedSourceIsStillAReplicaEvenIfWritable() {
        ReplicationNodeState stopped = node(2, false, AT_10,
                source("", ThreadState.STOPPED, ThreadState.STOPPED, AT_10, "Slave_Pos"));
        assertEquals(Role.REPLICA, stopped.role());
        assertEquals(new CheckVerdict.Unfit("replication from 127.0.0.1:3321 stopped applying (SQL thread stopped)"),
                stopped.verdict());
        assertEquals("replicates from 127.0.0.1:3321 (IO thread stopped, SQL thread stopped)", stopped.whyNotWritable());
        assertFalse(stopped.defaultSource().orElseThrow().replicating());
    }

    @Test
    void aReplicaWhoseIoThreadLostItsSourceIsStillFitAndSaysItReconnects() {
        ReplicationNodeState reconnecting = node(2, true, AT_10,
                source("", ThreadState.CONNECTING, ThreadState.RUNNING, AT_10, "Slave_Pos"));
        assertEquals(new CheckVerdict.Writable(), reconnecting.verdict(), "a lost source says nothing against the replica");
        assertEquals("replicates from 127.0.0.1:3321 (IO thread connecting, SQL thread running)", reconnecting.whyNotWritable());
    }

    @Test
    void aWritableReplicaIsUnfit() {
        ReplicationNodeState writable = node(2, false, AT_10, running());
        assertEquals(new CheckVerdict.Unfit("replicates from 127.0.0.1:3321 but read_only is OFF"), writable.verdict());
    }

    @Test
    void aReadOnlyNodeReplicatingFromNobodyHasNoKnownRoleAndIsUnfit() {
        ReplicationNodeState fenced = node(1, true, GtidPosition.EMPTY);
        assertEquals(Role.UNKNOWN, fenced.role());
        assertEquals(new CheckVerdict.Unfit("read_only is ON and it replicates from nobody"), fenced.verdict());
        assertEquals("read_only is ON", fenced.whyNotWritable());
    }

    @Test
    void aNodeReplicatingOnlyOnANamedConnectionIsAReplicaWithoutADefaultSource() {
        ReplicationNodeState multiSource = node(3, true, AT_10,
                source("east", ThreadState.RUNNING, ThreadState.RUNNING, AT_10, "Slave_Pos"));
        assertEquals(Role.REPLICA, multiSource.role());
        assertEquals(Optional.empty(), multiSource.defaultSource());
        assertFalse(multiSource.relayLogApplied());
        assertEquals(new CheckVerdict.Writable(), multiSource.verdict());
        assertEquals("replicates from 127.0.0.1:3321 (IO thread running, SQL thread running)", multiSource.whyNotWritable());
    }

    @Test
    void anUnansweredCheckIsNoAnswerWithUnknownRoleAndOrdersLast() {
        ReplicationNodeState down = ReplicationNodeState.unreachable(AT, "connection refused");
        assertFalse(down.reachable());
        assertEquals(Role.UNKNOWN, down.role());
        assertEquals(new CheckVerdict.NoAnswer("connection refused"), down.verdict());
        assertEquals("connection refused", down.whyNotWritable());
        assertEquals(Integer.MAX_VALUE, down.electionOrder());
        assertEquals(Optional.empty(), down.memberId());
        assertEquals(AT, down.checkedAt());
    }

    @Test
    void theRelayLogIsAppliedWhenTheSlavePositionContainsTheIoPosition() {
        assertTrue(node(2, true, AT_10, running()).relayLogApplied());
        assertFalse(node(2, true, AT_8, running()).relayLogApplied(), "received up to 10, applied up to 8");
        assertTrue(node(2, true, GtidPosition.parse("0-1-10,1-5-3"), running()).relayLogApplied());
    }

    @Test
    void withoutGtidTheRelayLogIsAppliedWhenExecutedAndReadSourcePositionsMatch() {
        Source caughtUp = source("", ThreadState.RUNNING, ThreadState.RUNNING, GtidPosition.EMPTY, "No");
        Source behind = new Source("", "127.0.0.1", 3321, ThreadState.RUNNING, ThreadState.RUNNING, "", "",
                OptionalLong.of(3), GtidPosition.EMPTY, "r1-bin.000002:400", "r1-bin.000001:2000", "No");
        assertTrue(node(2, true, AT_8, caughtUp).relayLogApplied());
        assertFalse(node(2, true, AT_8, behind).relayLogApplied());
    }

    @Test
    void electionOrderIsTheServerIdSameOnEveryInstance() {
        assertEquals(7, node(7, false, GtidPosition.EMPTY).electionOrder());
        assertEquals(Integer.MAX_VALUE, node(4294967295L, false, GtidPosition.EMPTY).electionOrder());
        assertEquals(Optional.empty(), node(7, false, GtidPosition.EMPTY).memberId());
    }

    @Test
    void threadStatesReadAsTheServerPrintsThem() {
        assertEquals(ThreadState.RUNNING, ThreadState.of("Yes"));
        assertEquals(ThreadState.CONNECTING, ThreadState.of("Connecting"));
        assertEquals(ThreadState.STOPPED, ThreadState.of("No"));
        assertEquals(ThreadState.STOPPED, ThreadState.of(null));
    }

    @Test
    void theStateIsImmutable() {
        List<Source> sources = new ArrayList<>(List.of(running()));
        ReplicationNodeState state = new ReplicationNodeState(AT, null, 2, true, AT_10, AT_10, AT_10, sources,
                SemiSync.OFF, 300, Map.of());
        sources.clear();
        assertEquals(1, state.sources().size());
        assertThrows(UnsupportedOperationException.class, () -> state.sources().clear());
    }
}
