package dev.baton.routing.replication;

import dev.baton.routing.Node;
import dev.baton.routing.core.HealthState;
import dev.baton.routing.core.NodeHealth;
import dev.baton.routing.core.RecordKnowledge;
import dev.baton.routing.core.StoredWriter;
import dev.baton.routing.core.WriterElection;
import dev.baton.routing.replication.ReplicationElection.Decision;
import dev.baton.routing.replication.ReplicationElection.Fence;
import dev.baton.routing.replication.ReplicationElection.Follow;
import dev.baton.routing.replication.ReplicationElection.LeaveOut;
import dev.baton.routing.replication.ReplicationElection.Promote;
import dev.baton.routing.replication.ReplicationElection.Record;
import dev.baton.routing.replication.ReplicationElection.Refuse;
import dev.baton.routing.replication.ReplicationElection.Rejoin;
import dev.baton.routing.replication.ReplicationElection.Rules;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static dev.baton.routing.replication.Check.DB1;
import static dev.baton.routing.replication.Check.DB2;
import static dev.baton.routing.replication.Check.DB3;
import static dev.baton.routing.replication.ReplicationNodeState.ThreadState.CONNECTING;
import static dev.baton.routing.replication.ReplicationNodeState.ThreadState.RUNNING;
import static dev.baton.routing.replication.ReplicationNodeState.ThreadState.STOPPED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReplicationElectionTest {
    private static final Instant READ = Instant.parse("2026-11-01T10:00:00Z");
    private static final Instant CHECKED = READ.plusSeconds(5);
    private static final Instant BEFORE_READ = READ.minusSeconds(1);
    private static final Instant NOW = READ.plusSeconds(6);
    private static final Rules AUTO = new Rules(true, true, Duration.ofMillis(4500));
    private static final Rules MANUAL = new Rules(false, true, Duration.ofMillis(4500));
    private static final Rules NO_REJOIN = new Rules(true, false, Duration.ofMillis(4500));
    private static final HealthState LOST = new HealthState.DownUnreachable("connection refused");
    private static final StoredWriter DB1_AT_5 = new StoredWriter("db1", 5, "baton1", "db1 is the only writable node");

    private static RecordKnowledge none() {
        return new RecordKnowledge(Optional.empty(), READ, NOW, Optional.empty(), 0, Optional.empty());
    }

    private static RecordKnowledge recorded(StoredWriter w) {
        return new RecordKnowledge(Optional.of(w), READ, NOW, Optional.empty(), w.epoch(), Optional.of(w));
    }

    private static Decision decide(RecordKnowledge k, Rules rules, NodeHealth... health) {
        return ReplicationElection.decide(k, Optional.empty(), List.of(health), Set.of(), NOW, rules);
    }

    private static NodeHealth primary(Node node, long id, String pos) {
        return Check.at(CHECKED, id).holds(pos).up(node);
    }

    private static NodeHealth replica(Node node, long id, Node of, String pos) {
        return Check.at(CHECKED, id).holds(pos).replicaOf(of, RUNNING, pos).up(node);
    }

    /** A replica whose IO thread keeps failing to reach {@code of}, with the error MariaDB reports. */
    private static NodeHealth lostReplica(Node node, long id, Node of, String received) {
        return Check.at(CHECKED, id).holds("0-1-1").lostSource(of, received).up(node);
    }

    private static NodeHealth unreachable(Node node, HealthState state) {
        return new NodeHealth(node, state, Check.unreachable(CHECKED), null);
    }

    // ---------------------------------------------------------------- no record yet

    @Test
    void withNoRecordTheOneWritableNodeThatReplicatesFromNobodyAndThatEveryReplicaFollowsIsRecorded() {
        Decision d = decide(none(), AUTO, primary(DB1, 1, "0-1-10"), replica(DB2, 2, DB1, "0-1-10"),
                replica(DB3, 3, DB1, "0-1-9"));
        Record r = assertInstanceOf(Record.class, d);
        assertEquals(DB1, r.primary());
        assertEquals(0, r.expectedEpoch());
        assertEquals(1, r.nextEpoch());
        assertEquals("db1 is the only writable node, replicates from nobody, and every replica that answers replicates "
                + "from it", r.reason());
    }

    @Test
    void withNoRecordTwoWritableNodesAreRefusedByName() {
        Refuse r = assertInstanceOf(Refuse.class, decide(none(), AUTO, primary(DB1, 1, "0-1-10"), primary(DB2, 2, "0-1-10"),
                replica(DB3, 3, DB1, "0-1-10")));
        assertEquals("no writer recorded yet and db1, db2 are all writable and replicate from nobody; Baton does not "
                + "guess which is the primary: make all but one read-only replicas", r.reason());
    }

    @Test
    void withNoRecordAWritableNodeThatReplicatesIsRefusedByName() {
        NodeHealth writableReplica = Check.at(CHECKED, 2).replicaOf(DB1, RUNNING, "0-1-10").readOnly(false).up(DB2);
        Refuse r = assertInstanceOf(Refuse.class, decide(none(), AUTO, primary(DB1, 1, "0-1-10"), writableReplica,
                replica(DB3, 3, DB1, "0-1-10")));
        assertEquals("no writer recorded yet and db2 is writable but replicates from 127.0.0.1:3311; set read_only=ON on "
                + "it (Baton does not guess which node is the primary)", r.reason());
    }

    @Test
    void withNoRecordAReplicaThatPointsElsewhereIsRefusedByName() {
        Refuse r = assertInstanceOf(Refuse.class, decide(none(), AUTO, primary(DB1, 1, "0-1-10"),
                replica(DB2, 2, DB1, "0-1-10"), replica(DB3, 3, DB2, "0-1-10")));
        assertEquals("no writer recorded yet and db3 does not replicate from db1 (127.0.0.1:3311), the only writable node: "
                + "it replicates from 127.0.0.1:3312; Baton does not guess which is the primary", r.reason());
    }

    @Test
    void withNoRecordFewerThanAMajorityAnsweringIsRefused() {
        Refuse r = assertInstanceOf(Refuse.class, decide(none(), AUTO, primary(DB1, 1, "0-1-10"), unreachable(DB2, LOST),
                unreachable(DB3, LOST)));
        assertEquals("no writer recorded yet and only 1 of 3 nodes answer; a majority must answer to find the primary",
                r.reason());
    }

    // ---------------------------------------------------------------- following

    @Test
    void aRecordedPrimaryThatAnswersAsPrimaryIsFollowed() {
        Follow f = assertInstanceOf(Follow.class, decide(recorded(DB1_AT_5), AUTO, primary(DB1, 1, "0-1-10"),
                replica(DB2, 2, DB1, "0-1-10"), replica(DB3, 3, DB1, "0-1-10")));
        assertEquals(DB1, f.writer());
        assertEquals(5, f.epoch());
        assertEquals(List.of(), f.repairs());
    }

    @Test
    void aRecordedPrimaryFallingFewerThanFallChecksIsFollowed() {
        Follow f = assertInstanceOf(Follow.class, decide(recorded(DB1_AT_5), AUTO,
                unreachable(DB1, new HealthState.Falling(2, "connection refused", false)),
                lostReplica(DB2, 2, DB1, "0-1-10"), lostReplica(DB3, 3, DB1, "0-1-10")));
        assertEquals(DB1, f.writer());
    }

    @Test
    void aNewlyRecordedPrimaryFallingSinceItsLastAnswerAsAReplicaIsNotFollowed() {
        // This instance last heard from db2 while it was a replica; another instance promoted it since.
        ReplicationNodeState asReplica = Check.at(BEFORE_READ, 2).holds("0-1-10").replicaOf(DB1, RUNNING, "0-1-10").build();
        NodeHealth falling = new NodeHealth(DB2, new HealthState.Falling(1, "connection refused", false),
                Check.unreachable(CHECKED), asReplica);
        StoredWriter promoted = new StoredWriter("db2", 6, "baton2", "db1 lost; promoting db2");
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(promoted), AUTO, primary(DB1, 1, "0-1-10"), falling,
                replica(DB3, 3, DB2, "0-1-10")));
        assertEquals("primary db2 does not answer this Baton (connection refused) and its last answer showed it not "
                + "taking writes (replicates from 127.0.0.1:3311 (IO thread running, SQL thread running)); not routing to it",
                r.reason());
    }

    @Test
    void anUnreachablePrimaryWhoseReplicaStillRunsItsIoThreadIsNotFailedOver() {
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), replica(DB3, 3, DB1, "0-1-10")));
        assertEquals("primary db1 is unreachable from this Baton (connection refused) but db3 still replicates from it; "
                + "not failing over", r.reason());
    }

    @Test
    void anUnreachablePrimaryWhoseReplicasWereCheckedBeforeTheRecordWasReadIsNotFailedOver() {
        NodeHealth old = Check.at(BEFORE_READ, 3).holds("0-1-1").replicaOf(DB1, CONNECTING, "0-1-10").up(DB3);
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), old));
        assertTrue(r.reason().endsWith("but db3 still replicates from it; not failing over"), r.reason());
    }

    @Test
    void anUnreachablePrimaryNoReplicaOfWhichAnswersIsNotFailedOver() {
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                unreachable(DB2, LOST), unreachable(DB3, LOST)));
        assertEquals("primary db1 is unreachable from this Baton (connection refused) and no replica of it answers to "
                + "confirm the loss; not routing anywhere", r.reason());
    }

    // ---------------------------------------------------------------- failover

    @Test
    void confirmedLossPromotesTheReplicaThatReceivedTheMost() {
        Promote p = assertInstanceOf(Promote.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), lostReplica(DB3, 3, DB1, "0-1-12")));
        assertEquals(DB3, p.candidate());
        assertEquals(DB1, p.lost());
        assertEquals(5, p.expectedEpoch());
        assertEquals(6, p.nextEpoch());
        assertEquals(GtidPosition.parse("0-1-12"), p.catchUpTo());
        assertEquals("primary db1 is unreachable from this Baton (connection refused) and its replicas lost it too "
                + "(db2, db3); promoting db3, the most advanced replica (received 0-1-12)", p.reason());
    }

    @Test
    void aReplicaWhoseIoThreadWasStoppedByHandDoesNotConfirmTheLoss() {
        NodeHealth stopped = Check.at(CHECKED, 3).holds("0-1-1").replicaOf(DB1, STOPPED, RUNNING, "0-1-10", "").up(DB3);
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), stopped));
        assertEquals("primary db1 is unreachable from this Baton (connection refused); 1 of its replicas report losing it "
                + "(db2), a majority of the 3 nodes (2) must; not confirming: db3 (IO thread stopped, no IO error); not "
                + "failing over", r.reason());
    }

    @Test
    void aReplicaStoppedByHandAfterItFailedToReconnectDoesNotConfirmTheLoss() {
        // STOP SLAVE keeps Last_IO_Error: the error is old, and nothing tries to reach db1 any more.
        NodeHealth stopped = Check.at(CHECKED, 3).holds("0-1-1")
                .replicaOf(DB1, STOPPED, RUNNING, "0-1-10", Check.reconnectError(DB1)).up(DB3);
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), stopped));
        assertTrue(r.reason().endsWith("not confirming: db3 (IO thread stopped, not reconnecting); not failing over"),
                r.reason());
    }

    @Test
    void aReplicaWhoseIoThreadStoppedOnAnErrorThePrimarySentDoesNotConfirmTheLoss() {
        String error = "Got fatal error 1236 from master when reading data from binary log: 'Error: connecting slave "
                + "requested to start from GTID 0-3-11, which is not in the master's binlog'";
        NodeHealth refused = Check.at(CHECKED, 3).holds("0-3-11").replicaOf(DB1, STOPPED, RUNNING, "0-3-11", error).up(DB3);
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), refused));
        assertTrue(r.reason().endsWith("not confirming: db3 (IO thread stopped, not reconnecting); not failing over"),
                r.reason());
    }

    @Test
    void aReplicaReconnectingWithoutAnErrorDoesNotConfirmTheLoss() {
        // Just pointed at db1 (CHANGE MASTER) or just restarted: its IO thread has not tried db1 and failed yet.
        NodeHealth connecting = Check.at(CHECKED, 3).holds("0-1-1").replicaOf(DB1, CONNECTING, "0-1-10").up(DB3);
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), connecting));
        assertEquals("primary db1 is unreachable from this Baton (connection refused); 1 of its replicas report losing it "
                + "(db2), a majority of the 3 nodes (2) must; not confirming: db3 (IO thread connecting, no IO error); not "
                + "failing over", r.reason());
    }

    @Test
    void oneConfirmingReplicaOfTwoIsNotEnoughInAThreeNodeCluster() {
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), unreachable(DB3, LOST)));
        assertEquals("primary db1 is unreachable from this Baton (connection refused); 1 of its replicas report losing it "
                + "(db2), a majority of the 3 nodes (2) must; not failing over", r.reason());
    }

    @Test
    void inATwoNodeClusterALostPrimaryIsNeverFailedOverAutomatically() {
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10")));
        assertEquals("primary db1 is unreachable from this Baton (connection refused); in a cluster of 2 nodes a lost "
                + "primary is never failed over automatically: its replica alone is not a majority of the nodes, and "
                + "cannot tell a lost primary from a cut link; not failing over", r.reason());
    }

    @Test
    void theReceivedPositionCombinesTheIoPositionWithTheCurrentPosition() {
        // db2's relay log was reset (its Gtid_IO_Pos is empty) but it applied up to 12; db3 received only 11.
        NodeHealth applied = Check.at(CHECKED, 2).holds("0-1-12").lostSource(DB1, "").up(DB2);
        Promote p = assertInstanceOf(Promote.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST), applied,
                lostReplica(DB3, 3, DB1, "0-1-11")));
        assertEquals(DB2, p.candidate());
        assertEquals(GtidPosition.parse("0-1-12"), p.catchUpTo());
    }

    @Test
    void equallyAdvancedReplicasArePromotedByPriority() {
        Node first = new Node("db3", DB3.address(), 0);
        Promote p = assertInstanceOf(Promote.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), lostReplica(first, 3, DB1, "0-1-10")));
        assertEquals(first, p.candidate());
    }

    @Test
    void equallyAdvancedReplicasOfEqualPriorityArePromotedByServerId() {
        Node a = new Node("db2", DB2.address(), 7);
        Node b = new Node("db3", DB3.address(), 7);
        Promote p = assertInstanceOf(Promote.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(a, 20, DB1, "0-1-10"), lostReplica(b, 4, DB1, "0-1-10")));
        assertEquals(b, p.candidate());
    }

    @Test
    void aLaggingReplicaIsNeverPromotedWhileAMoreAdvancedOneExistsEvenIfPreferred() {
        NodeHealth ahead = Check.at(CHECKED, 3).holds("0-1-1").replicaOf(DB1, CONNECTING, STOPPED, "0-1-12", Check.reconnectError(DB1))
                .health(DB3, new HealthState.DownUnfit("replication from 127.0.0.1:3311 stopped applying"));
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), ahead));
        assertEquals("primary db1 is unreachable from this Baton (connection refused) and its replicas lost it too "
                + "(db2, db3); the most advanced replica, db3, cannot be promoted and a replica behind it never is (db2 received "
                + "0-1-10; db3 received 0-1-12 (replication from 127.0.0.1:3311 stopped applying))", r.reason());
    }

    @Test
    void divergedReplicaPositionsRefuse() {
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), lostReplica(DB3, 3, DB1, "0-3-10")));
        assertTrue(r.reason().endsWith("the replicas' positions diverge, so none holds everything the others hold "
                + "(db2 received 0-1-10; db3 received 0-3-10); an operator must decide"), r.reason());
    }

    @Test
    void theMostAdvancedReplicaInMaintenanceRefuses() {
        Decision d = ReplicationElection.decide(recorded(DB1_AT_5), Optional.empty(), List.of(unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), lostReplica(DB3, 3, DB1, "0-1-12")), Set.of("db3"), NOW, AUTO);
        Refuse r = assertInstanceOf(Refuse.class, d);
        assertTrue(r.reason().endsWith("the most advanced replica, db3, cannot be promoted and a replica behind it never "
                + "is (db2 received 0-1-10; db3 received 0-1-12 (in maintenance))"), r.reason());
    }

    @Test
    void withManualFailoverAConfirmedLossRefusesAndNamesBatonSwitchover() {
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), MANUAL, unreachable(DB1, LOST),
                lostReplica(DB2, 2, DB1, "0-1-10"), lostReplica(DB3, 3, DB1, "0-1-12")));
        assertEquals("primary db1 is unreachable from this Baton (connection refused) and its replicas lost it too "
                + "(db2, db3); failover is manual: run 'baton switchover NODE'", r.reason());
    }

    @Test
    void aReadOnlyPrimaryDownForFallChecksSinceTheRecordIsReplacedAfterTheCandidateAppliesItsBinaryLog() {
        NodeHealth readOnly = Check.at(CHECKED, 1).holds("0-1-15").readOnly(true)
                .health(DB1, new HealthState.DownUnfit("read_only is ON and it replicates from nobody"));
        Promote p = assertInstanceOf(Promote.class, decide(recorded(DB1_AT_5), AUTO, readOnly,
                replica(DB2, 2, DB1, "0-1-12"), replica(DB3, 3, DB1, "0-1-11")));
        assertEquals(DB2, p.candidate());
        assertEquals(GtidPosition.parse("0-1-15"), p.catchUpTo(), "everything in the read-only primary's binary log");
        assertEquals("primary db1 is read-only (read_only is ON); promoting db2, the most advanced replica (received 0-1-12)",
                p.reason());
    }

    @Test
    void aReadOnlyPrimaryLastCheckedBeforeTheRecordWasReadIsNotReplaced() {
        NodeHealth readOnly = Check.at(BEFORE_READ, 1).holds("0-1-15").readOnly(true)
                .health(DB1, new HealthState.DownUnfit("read_only is ON and it replicates from nobody"));
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, readOnly,
                replica(DB2, 2, DB1, "0-1-12"), replica(DB3, 3, DB1, "0-1-11")));
        assertEquals("primary db1 answers but cannot take writes: read_only is ON; not routing to it", r.reason());
    }

    @Test
    void aReadOnlyPrimaryStillFallingIsNotRoutedToNorReplaced() {
        NodeHealth readOnly = Check.at(CHECKED, 1).holds("0-1-15").readOnly(true)
                .health(DB1, new HealthState.Falling(1, "read_only is ON and it replicates from nobody", true));
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(DB1_AT_5), AUTO, readOnly,
                replica(DB2, 2, DB1, "0-1-12"), replica(DB3, 3, DB1, "0-1-11")));
        assertEquals("primary db1 answers but cannot take writes: read_only is ON; not routing to it", r.reason());
    }

    // ---------------------------------------------------------------- repairs while following

    @Test
    void whileFollowingAWritableNodeThatIsNotThePrimaryIsFenced() {
        Follow f = assertInstanceOf(Follow.class, decide(recorded(DB1_AT_5), AUTO, primary(DB1, 1, "0-1-10"),
                primary(DB2, 2, "0-1-10"), replica(DB3, 3, DB1, "0-1-10")));
        assertEquals(List.of(new Fence(DB2, "db2 is writable but db1 is the primary")), f.repairs());
    }

    @Test
    void whileFollowingAReadOnlyStandAloneNodeHoldingNothingErrantRejoins() {
        NodeHealth standAlone = Check.at(CHECKED, 2).holds("0-1-8").readOnly(true).up(DB2);
        Follow f = assertInstanceOf(Follow.class, decide(recorded(DB1_AT_5), AUTO, primary(DB1, 1, "0-1-10"), standAlone,
                replica(DB3, 3, DB1, "0-1-10")));
        assertEquals(List.of(new Rejoin(DB2, "db2 replicates from nobody and holds nothing the primary lacks; making it a "
                + "replica of db1")), f.repairs());
    }

    @Test
    void whileFollowingAStandAloneNodeWithAnErrantGtidIsLeftOutNamingIt() {
        NodeHealth errant = Check.at(CHECKED, 2).holds("0-2-11").readOnly(true).up(DB2);
        Follow f = assertInstanceOf(Follow.class, decide(recorded(DB1_AT_5), AUTO, primary(DB1, 1, "0-1-10"), errant,
                replica(DB3, 3, DB1, "0-1-10")));
        assertEquals(List.of(new LeaveOut(DB2, "db2 replicates from nobody and holds transactions the primary db1 lacks "
                + "(it holds up to 0-2-11, the primary only up to 0-1-10); left out: rebuild it from a backup of the "
                + "primary")), f.repairs());
    }

    @Test
    void whileFollowingWithRejoinOffAStandAloneNodeIsLeftOut() {
        NodeHealth standAlone = Check.at(CHECKED, 2).holds("0-1-8").readOnly(true).up(DB2);
        Follow f = assertInstanceOf(Follow.class, decide(recorded(DB1_AT_5), NO_REJOIN, primary(DB1, 1, "0-1-10"),
                standAlone, replica(DB3, 3, DB1, "0-1-10")));
        assertEquals(List.of(new LeaveOut(DB2, "db2 replicates from nobody; rejoin is off")), f.repairs());
    }

    @Test
    void whileFollowingAReplicaWhoseIoThreadFailedWith1236IsLeftOut() {
        String error = "Got fatal error 1236 from master when reading data from binary log: 'Error: connecting slave "
                + "requested to start from GTID 0-2-11, which is not in the master's binlog'";
        NodeHealth refused = Check.at(CHECKED, 2).holds("0-2-11").replicaOf(DB1, STOPPED, RUNNING, "0-2-11", error).up(DB2);
        Follow f = assertInstanceOf(Follow.class, decide(recorded(DB1_AT_5), AUTO, primary(DB1, 1, "0-1-10"), refused,
                replica(DB3, 3, DB1, "0-1-10")));
        assertEquals(List.of(new LeaveOut(DB2, "db2 cannot replicate from db1: " + error)), f.repairs());
    }

    // ---------------------------------------------------------------- hand-overs and epochs

    private static StoredWriter handingOverUntil(Instant until) {
        return new StoredWriter("db1", 6, "baton2", "switchover to db2", "db2", until);
    }

    @Test
    void anExpiredHandOverIsRecordedToItsTargetIfTheTargetAlreadyTookWritesAndTheOldPrimaryDidNot() {
        Instant until = NOW.minus(WriterElection.HANDOVER_GRACE).minusMillis(1);
        NodeHealth oldReadOnly = Check.at(CHECKED, 1).holds("0-1-10").readOnly(true).up(DB1);
        Record r = assertInstanceOf(Record.class, decide(recorded(handingOverUntil(until)), AUTO, oldReadOnly,
                primary(DB2, 2, "0-1-10"), replica(DB3, 3, DB2, "0-1-10")));
        assertEquals(DB2, r.primary());
        assertEquals(6, r.expectedEpoch());
        assertEquals(7, r.nextEpoch());
    }

    @Test
    void anExpiredHandOverIsNotRecordedToAWritableTargetThatLacksWhatAnotherNodeReceived() {
        // db2 was detached by an operator (RESET SLAVE ALL) and restarted writable: it never caught up; db3 did.
        Instant until = NOW.minus(WriterElection.HANDOVER_GRACE).minusMillis(1);
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(handingOverUntil(until)), AUTO, unreachable(DB1, LOST),
                primary(DB2, 2, "0-1-10"), lostReplica(DB3, 3, DB1, "0-1-12")));
        assertTrue(r.reason().endsWith("; db2 takes writes but holds only 0-1-10 (db3 received 0-1-12), so the "
                + "switchover did not promote it: an operator must decide"), r.reason());
    }

    @Test
    void anExpiredHandOverWhoseTargetWasNotPromotedKeepsTheOldPrimary() {
        Instant until = NOW.minus(WriterElection.HANDOVER_GRACE).minusMillis(1);
        Record r = assertInstanceOf(Record.class, decide(recorded(handingOverUntil(until)), AUTO,
                primary(DB1, 1, "0-1-10"), replica(DB2, 2, DB1, "0-1-10"), replica(DB3, 3, DB1, "0-1-10")));
        assertEquals(DB1, r.primary());
        assertTrue(r.reason().endsWith("; db1 stays the primary"), r.reason());
    }

    @Test
    void aHandOverWithinItsDeadlineIsFollowed() {
        Follow f = assertInstanceOf(Follow.class, decide(recorded(handingOverUntil(NOW)), AUTO,
                primary(DB1, 1, "0-1-10"), replica(DB2, 2, DB1, "0-1-10"), replica(DB3, 3, DB1, "0-1-10")));
        assertEquals(DB1, f.writer());
    }

    @Test
    void aMajorityRecordOlderThanAnEpochSeenBeforeIsRefused() {
        RecordKnowledge k = new RecordKnowledge(Optional.of(DB1_AT_5), READ, NOW, Optional.empty(), 7, Optional.of(DB1_AT_5));
        Refuse r = assertInstanceOf(Refuse.class, decide(k, AUTO, primary(DB1, 1, "0-1-10"),
                replica(DB2, 2, DB1, "0-1-10"), replica(DB3, 3, DB1, "0-1-10")));
        assertEquals("the writer record a majority holds (epoch 5) is older than epoch 7 seen before; waiting for the "
                + "nodes that hold the newer one", r.reason());
    }

    @Test
    void theBooksOfAMajorityNameTheHighestEpoch() {
        NodeRecord old = new NodeRecord(Optional.of(DB1_AT_5), Set.of(), Optional.empty(), null);
        NodeRecord newer = new NodeRecord(Optional.of(new StoredWriter("db2", 6, "baton1", "promoted")), Set.of(),
                Optional.empty(), null);
        ReplicationElection.Books books = ReplicationElection.books(List.of(
                Check.at(CHECKED, 1).books(old).up(DB1), Check.at(CHECKED, 2).books(newer).up(DB2),
                unreachable(DB3, LOST)));
        assertTrue(books.majority());
        assertEquals(6, books.record().orElseThrow().epoch());
        ReplicationElection.Books minority = ReplicationElection.books(List.of(
                Check.at(CHECKED, 1).books(old).up(DB1), unreachable(DB2, LOST), unreachable(DB3, LOST)));
        assertEquals("the writer record was read from 1 of 3 nodes, a majority needs 2 (db2: connection refused; "
                + "db3: connection refused)", minority.why());
    }

    @Test
    void anUnknownRecordedPrimaryIsRefused() {
        StoredWriter gone = new StoredWriter("db9", 5, "baton1", "x");
        Refuse r = assertInstanceOf(Refuse.class, decide(recorded(gone), AUTO, primary(DB1, 1, "0-1-10"),
                replica(DB2, 2, DB1, "0-1-10"), replica(DB3, 3, DB1, "0-1-10")));
        assertEquals("recorded primary 'db9' is not in this Baton's config", r.reason());
    }
}
