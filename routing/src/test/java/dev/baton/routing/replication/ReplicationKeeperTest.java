package dev.baton.routing.replication;

import dev.baton.routing.Node;
import dev.baton.routing.WriterChoice;
import dev.baton.routing.core.ClusterEvents;
import dev.baton.routing.core.HealthState;
import dev.baton.routing.core.NodeHealth;
import dev.baton.routing.core.SimScheduler;
import dev.baton.routing.core.StoredWriter;
import dev.baton.routing.replication.ReplicationActions.ActionException;
import dev.baton.routing.replication.ReplicationActions.ClusterLock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static dev.baton.routing.replication.Check.DB1;
import static dev.baton.routing.replication.Check.DB2;
import static dev.baton.routing.replication.Check.DB3;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The keeper against a model cluster: what it does to the servers, and when it does nothing. */
class ReplicationKeeperTest {
    private static final List<Node> NODES = List.of(DB1, DB2, DB3);

    private final SimScheduler time = new SimScheduler(Instant.parse("2026-11-01T10:00:00Z"));
    private final ModelCluster cluster = new ModelCluster(time::now);
    private final ModelCluster.Actions actions = cluster.actions("baton1");
    private final ModelCluster.Actions other = cluster.actions("baton2");
    private List<NodeHealth> snapshot = List.of();
    private final ClusterEvents events = new ClusterEvents(time.clock());
    private final ReplicationKeeper keeper = new ReplicationKeeper(NODES, actions, () -> snapshot,
            new ReplicationElection.Rules(true, true, Duration.ofMillis(4500)), events, time.clock(), "baton1");

    @BeforeEach
    void aPrimaryWithTwoReplicasIsRecorded() {
        cluster.add(DB1, 1);
        cluster.add(DB2, 2);
        cluster.add(DB3, 3);
        settle();
        observe();
        keeper.decide();
        assertEquals(new WriterChoice.Writer(DB1, 1), keeper.current());
        for (int i = 0; i < 5; i++) {
            cluster.write(DB1);
        }
        settle();
        observe();
    }

    /** Time passes until replication has moved everything it can. */
    private void settle() {
        for (int i = 0; i < 50; i++) {
            time.runUntil(time.now().plusMillis(100), () -> { });
            cluster.step();
        }
    }

    /** This instance checks every node now: its regular health snapshot, as the housekeeper would leave it. */
    private void observe() {
        snapshot = observe(actions, NODES, snapshot);
    }

    /** {@code through} checks {@code which} nodes now; the others keep their check in {@code before}. */
    private static List<NodeHealth> observe(ModelCluster.Actions through, List<Node> which, List<NodeHealth> before) {
        List<NodeHealth> out = new ArrayList<>();
        for (Node n : NODES) {
            NodeHealth old = before.stream().filter(h -> h.node().equals(n)).findFirst().orElse(null);
            if (!which.contains(n) && old != null) {
                out.add(old);
                continue;
            }
            ReplicationNodeState s = through.check(n);
            HealthState state = !s.reachable() ? new HealthState.DownUnreachable(s.error())
                    : s.whyUnfit() == null ? new HealthState.Up() : new HealthState.DownUnfit(s.whyUnfit());
            out.add(new NodeHealth(n, state, s, s.reachable() || old == null ? s : old.lastAnswer()));
        }
        return out;
    }

    private StoredWriter record(Node on) {
        return cluster.server(on).books().writer().orElseThrow();
    }

    /** db1 dies after db3 received two writes db2 did not, which db3 has not applied yet. */
    private void primaryLostWithDb3AheadAndLagging() {
        cluster.replicationCut.add("db1>db2");
        cluster.server(DB3).slowApply = true;
        cluster.write(DB1);
        cluster.write(DB1);
        settle();
        cluster.kill(DB1);
        settle();
        observe();
    }

    @Test
    void aConfirmedLossPromotesTheMostAdvancedReplicaAfterItAppliedItsRelayLogAndPointsTheOtherAtIt() {
        primaryLostWithDb3AheadAndLagging();
        ModelCluster.Server db3 = cluster.server(DB3);
        assertEquals(2, db3.relay.size(), "db3 received two writes it has not applied");
        keeper.decide();
        assertEquals(new WriterChoice.Writer(DB3, 2), keeper.current());
        assertTrue(db3.holds(new GtidPosition.Gtid(0, 1, 8)), "db3 applied its relay log before taking writes");
        assertEquals("0-3-9", db3.position().toString(), "then the record, its first transaction as primary");
        assertFalse(db3.readOnly);
        assertNull(db3.source);
        StoredWriter recorded = record(DB3);
        assertEquals("db3", recorded.writer());
        assertEquals(2, recorded.epoch());
        assertEquals(GtidPosition.parse("0-1-8"), db3.books().promotion().orElseThrow().position(),
                "the record carries the position db3 was promoted at");
        assertEquals(db3, cluster.server(DB2).source);
        settle();
        assertEquals(2, cluster.server(DB2).books().epoch(), "db2 replicates the record from db3");
        assertTrue(cluster.server(DB2).history.containsAll(db3.history));
    }

    @Test
    void aPromotionAfterThePrimaryFellBackToAsynchronousReplicationNamesTheTransactionsThatMayBeLost() {
        cluster.replicationCut.add("db1>db2");
        cluster.replicationCut.add("db1>db3");
        cluster.server(DB1).semiSyncSourceActive = false; // it gave up waiting for acknowledgements
        cluster.write(DB1);
        cluster.write(DB1); // acknowledged to the client at once, received by no replica
        settle();
        observe(); // this instance saw db1 at 0-1-8, semi-sync not active
        cluster.kill(DB1);
        settle();
        observe();
        keeper.decide();
        assertEquals(new WriterChoice.Writer(DB2, 2), keeper.current(), "both replicas hold 0-1-6: db2 by priority");
        String promoted = events.events().stream().filter(e -> e.kind().equals("writer")).reduce((a, b) -> b)
                .orElseThrow().description();
        assertTrue(promoted.contains("semi-synchronous replication was not active on db1 at its last answer")
                && promoted.contains("transactions after 0-1-6 up to 0-1-8") && promoted.contains("may be lost"), promoted);
    }

    @Test
    void afterItsOwnPromotionTheKeeperKeepsRoutingToTheNewPrimaryUntilItsRegularChecksCatchUp() {
        primaryLostWithDb3AheadAndLagging();
        keeper.decide();
        assertEquals(new WriterChoice.Writer(DB3, 2), keeper.current());
        keeper.decide(); // the regular checks still show db3 a replica and the books at epoch 1
        assertEquals(new WriterChoice.Writer(DB3, 2), keeper.current());
        assertEquals("db3", keeper.knowledge().stored().orElseThrow().writer(), "the known record did not go back");
        settle();
        observe();
        keeper.decide();
        assertEquals(new WriterChoice.Writer(DB3, 2), keeper.current());
    }

    /** baton2, with its own checks, promotes db3; baton1 has since checked only db2, which replicated the record. */
    private void promotedByTheOtherInstanceWhileThisOneLastSawDb3AReplica() {
        primaryLostWithDb3AheadAndLagging();
        List<List<NodeHealth>> seenByOther = new ArrayList<>(List.of(List.of()));
        ReplicationKeeper otherKeeper = new ReplicationKeeper(NODES, other, () -> seenByOther.get(0),
                new ReplicationElection.Rules(true, true, Duration.ofMillis(4500)), new ClusterEvents(time.clock()),
                time.clock(), "baton2");
        time.runUntil(time.now().plusMillis(100), () -> { });
        seenByOther.set(0, observe(other, NODES, List.of()));
        otherKeeper.decide(); // learns the record
        time.runUntil(time.now().plusMillis(100), () -> { });
        seenByOther.set(0, observe(other, NODES, seenByOther.get(0)));
        otherKeeper.decide();
        assertEquals(new WriterChoice.Writer(DB3, 2), otherKeeper.current());
        settle();
        snapshot = observe(actions, List.of(DB1, DB2), snapshot);
        assertEquals(ReplicationNodeState.Role.REPLICA, actions.lastAnswer.get("db3").role(), "baton1's last check of db3");
    }

    @Test
    void aPrimaryPromotedByAnotherInstanceIsRoutedToOnlyAfterThisInstanceSawItTakeWrites() {
        promotedByTheOtherInstanceWhileThisOneLastSawDb3AReplica();
        keeper.decide();
        assertEquals(new WriterChoice.Writer(DB3, 2), keeper.current());
        assertEquals(ReplicationNodeState.Role.PRIMARY, actions.lastAnswer.get("db3").role(),
                "baton1 checked db3 on learning the record, before routing to it");
    }

    @Test
    void aPrimaryPromotedByAnotherInstanceThatThisInstanceCannotReachIsNotRoutedTo() {
        promotedByTheOtherInstanceWhileThisOneLastSawDb3AReplica();
        actions.linkCut.add("db3");
        keeper.decide();
        assertEquals(new WriterChoice.NoWriter("primary db3 does not answer this Baton (connection refused) and its last "
                + "answer showed it not taking writes (replicates from 127.0.0.1:3311 (IO thread connecting, SQL thread "
                + "running)); not routing to it"), keeper.current());
    }

    @Test
    void anInstanceCutOffFromALivePrimaryDoesNotPromoteWhileTheOtherInstanceRepointsAReplica() throws ActionException {
        cluster.replicationCut.add("db1>db2"); // db2 cannot reach db1 either: it reports the error
        cluster.resetReplica(DB3);
        settle();
        other.replicateFrom(DB3, DB1); // baton2, which reaches db1, rejoins db3: connecting, no error yet
        actions.linkCut.add("db1");
        observe();
        keeper.decide();
        assertEquals(new WriterChoice.NoWriter("primary db1 is unreachable from this Baton (connection refused); 1 of its "
                + "replicas report losing it (db2), a majority of the 3 nodes (2) must; not confirming: db3 (IO thread "
                + "connecting, no IO error); not failing over"), keeper.current());
        settle();
        observe();
        keeper.decide();
        assertEquals(new WriterChoice.NoWriter("primary db1 is unreachable from this Baton (connection refused) but db3 "
                + "still replicates from it; not failing over"), keeper.current());
        assertTrue(cluster.server(DB2).readOnly);
        assertTrue(cluster.server(DB3).readOnly);
        assertEquals(List.of(), cluster.recordWrites.stream().filter(w -> w.next().epoch() > 1).toList(), "no promotion");
    }

    @Test
    void aPromotionWhoseRecordCouldNotReachAMajorityIsCalledOffBeforeTheCandidateTakesWrites() {
        primaryLostWithDb3AheadAndLagging();
        cluster.replicationCut.add("db3>db2");
        keeper.decide();
        assertTrue(assertInstanceOf(WriterChoice.NoWriter.class, keeper.current()).reason()
                .endsWith("promotion failed: only 1 of 3 nodes hold what db3 holds (db1: does not answer; db2: db2 did not "
                        + "apply 0-1-8 within 5000 ms (it is at 0-1-6)), a majority needs 2; db3 stays read-only"),
                keeper.current().toString());
        assertTrue(cluster.server(DB3).readOnly, "db3 never took writes");
        assertEquals(List.of(), cluster.recordWrites.stream().filter(w -> w.next().epoch() > 1).toList(),
                "no record that a minority holds, which another instance could contradict under the same epoch");
    }

    @Test
    void anotherInstanceHoldingTheLockMeansNoPromotion() throws ActionException {
        primaryLostWithDb3AheadAndLagging();
        try (ClusterLock held = other.lock(NODES)) {
            assertEquals(List.of(DB2, DB3), held.heldOn());
            keeper.decide();
            assertTrue(assertInstanceOf(WriterChoice.NoWriter.class, keeper.current()).reason()
                    .endsWith("promotion failed: the cluster lock is held by baton2 on db2, baton2 on db3; 0 of 3 nodes "
                            + "granted it"), keeper.current().toString());
            assertTrue(cluster.server(DB3).readOnly);
            assertEquals(cluster.server(DB1), cluster.server(DB3).source);
            assertEquals(cluster.server(DB1), cluster.server(DB2).source);
            assertEquals(1, record(DB3).epoch());
        }
        keeper.decide();
        assertEquals(new WriterChoice.Writer(DB3, 2), keeper.current(), "promoted once the lock is free");
    }

    @Test
    void aPromotionIsCalledOffWhenFreshChecksUnderTheLockFindThePrimaryBack() {
        cluster.kill(DB1);
        settle();
        observe();
        cluster.restart(DB1); // back before this instance decides: its snapshot is stale
        keeper.decide();
        assertEquals(1, record(DB1).epoch(), "no new record");
        assertEquals(1, record(DB2).epoch());
        assertTrue(cluster.server(DB2).readOnly);
        assertTrue(cluster.server(DB3).readOnly);
        assertEquals(cluster.server(DB1), cluster.server(DB2).source);
        assertEquals(cluster.server(DB1), cluster.server(DB3).source);
        assertEquals(List.of(), cluster.recordWrites.stream().filter(w -> w.next().epoch() > 1).toList());
    }

    @Test
    void aSwitchoverWhoseTargetCannotCatchUpLeavesTheOldPrimaryWritableAndSaysSo() {
        cluster.replicationCut.add("db1>db2");
        cluster.write(DB1);
        settle();
        observe();
        WriterChoice.Writer begun = keeper.beginHandover(DB2, Duration.ofSeconds(2), "operator");
        assertEquals(DB2, begun.handover().to());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> keeper.completeHandover(begun.epoch(), "operator", Duration.ofSeconds(2)));
        assertEquals("switchover to db2 abandoned: it could not catch up with db1 (0-1-8) within 2000 ms; db1 is writable "
                + "again and stays the primary", e.getMessage());
        ModelCluster.Server db1 = cluster.server(DB1);
        assertFalse(db1.readOnly, "db1 takes writes again");
        assertNull(db1.source);
        assertTrue(cluster.server(DB2).readOnly);
        StoredWriter after = record(DB1);
        assertEquals("db1", after.writer());
        assertFalse(after.handingOver(), "the hand-over is cancelled for every instance");
        assertEquals(new WriterChoice.Writer(DB1, after.epoch()), keeper.current());
        assertTrue(after.epoch() > begun.epoch());
    }

    @Test
    void aSwitchoverMakesTheTargetThePrimaryAfterItCaughtUpAndTheOldPrimaryItsReplica() {
        WriterChoice.Writer begun = keeper.beginHandover(DB2, Duration.ofSeconds(2), "operator");
        cluster.write(DB1);
        WriterChoice.Writer done = keeper.completeHandover(begun.epoch(), "operator", Duration.ofSeconds(2));
        assertEquals(DB2, done.node());
        ModelCluster.Server db2 = cluster.server(DB2);
        assertTrue(db2.history.containsAll(cluster.server(DB1).history), "db2 holds everything db1 wrote");
        assertFalse(db2.readOnly);
        assertTrue(cluster.server(DB1).readOnly);
        assertEquals(db2, cluster.server(DB1).source);
        assertEquals(db2, cluster.server(DB3).source);
        assertEquals("db2", record(DB2).writer());
    }
}
