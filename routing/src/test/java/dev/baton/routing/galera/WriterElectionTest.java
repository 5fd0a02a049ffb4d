package dev.baton.routing.galera;

import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.core.HealthState;
import dev.baton.routing.core.NodeHealth;
import dev.baton.routing.core.RecordKnowledge;
import dev.baton.routing.core.StoredWriter;
import dev.baton.routing.core.WriterElection;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The core election rules with Galera's health checks and view check. */
class WriterElectionTest {
    private static final Node DB1 = new Node("db1", new HostPort("127.0.0.1", 3311), 1);
    private static final Node DB2 = new Node("db2", new HostPort("127.0.0.1", 3312), 2);
    private static final Node DB3 = new Node("db3", new HostPort("127.0.0.1", 3313), 3);
    /** When the instance first read the record; checks in these tests complete one second later. */
    private static final Instant READ = Instant.parse("2026-11-01T10:00:00Z");
    private static final Instant CHECKED = READ.plusSeconds(1);
    private static final Instant NOW = READ.plusSeconds(2);
    private static final WriterElection.Rules RULES = new WriterElection.Rules(false, Duration.ofMillis(4500), new GaleraViewCheck());

    private static GaleraNodeState synced(int localIndex, Set<String> addresses, String uuid, Set<String> members) {
        return new GaleraNodeState(CHECKED, null, 4, "Synced", true, "Primary", false, "NONE", false, localIndex,
                Math.max(addresses.size(), members.size()), addresses, 0, 0, 300, uuid, members);
    }

    /** A node that answered as a Synced Primary member seeing {@code members} (by address). */
    private static NodeHealth healthy(Node node, int localIndex, Node... members) {
        Set<String> addresses = new LinkedHashSet<>();
        for (Node m : members) {
            addresses.add(m.address().toString());
        }
        GaleraNodeState state = synced(localIndex, addresses, null, Set.of());
        return new NodeHealth(node, new HealthState.Up(), state, state);
    }

    private static NodeHealth unreachable(Node node) {
        GaleraNodeState state = GaleraNodeState.unreachable(CHECKED, "connection refused");
        return new NodeHealth(node, new HealthState.DownUnreachable("connection refused"), state, null);
    }

    private static NodeHealth answeredUnfit(Node node, String status) {
        GaleraNodeState state = new GaleraNodeState(CHECKED, null, 1, "Joining", false, status, false, "NONE", false,
                0, 1, Set.of(node.address().toString()), 0, 0, 300);
        return new NodeHealth(node, new HealthState.DownUnfit(state.whyNotWritable()), state, state);
    }

    private static RecordKnowledge stored(String writer, long epoch) {
        StoredWriter value = new StoredWriter(writer, epoch, "test", "test");
        return new RecordKnowledge(Optional.of(value), READ, READ, Optional.empty(), epoch, Optional.of(value));
    }

    private static final RecordKnowledge NONE = new RecordKnowledge(Optional.empty(), READ, READ, Optional.empty(), 0, Optional.empty());

    private static WriterElection.Decision decide(RecordKnowledge record, NodeHealth... health) {
        return WriterElection.decide(record, List.of(health), Set.of(), NOW, RULES);
    }

    @Test
    void firstElectionPicksLowestPriorityAmongHealthyNodes() {
        var p = assertInstanceOf(WriterElection.Propose.class,
                decide(NONE, unreachable(DB1), healthy(DB2, 1, DB2, DB3), healthy(DB3, 0, DB2, DB3)));
        assertEquals(DB2, p.candidate());
        assertEquals(0, p.expectedEpoch());
        assertEquals(1, p.nextEpoch());
    }

    @Test
    void equalPrioritiesAreBrokenByLocalIndexSoEveryInstanceAgrees() {
        Node a = new Node("a", new HostPort("127.0.0.1", 1), 5);
        Node b = new Node("b", new HostPort("127.0.0.1", 2), 5);
        assertEquals(b, assertInstanceOf(WriterElection.Propose.class, decide(NONE, healthy(a, 1, a, b), healthy(b, 0, a, b))).candidate());
    }

    @Test
    void healthyStoredWriterIsFollowedEvenWhenABetterNodeIsBack() {
        var f = assertInstanceOf(WriterElection.Follow.class, decide(stored("db2", 7), healthy(DB1, 0, DB1, DB2, DB3),
                healthy(DB2, 1, DB1, DB2, DB3), healthy(DB3, 2, DB1, DB2, DB3)));
        assertEquals(DB2, f.writer());
        assertEquals(7, f.epoch());
    }

    @Test
    void failbackProposesTheBetterNodeWhenEnabled() {
        var d = WriterElection.decide(stored("db2", 7), List.of(healthy(DB1, 0, DB1, DB2), healthy(DB2, 1, DB1, DB2)), Set.of(), NOW,
                new WriterElection.Rules(true, Duration.ofSeconds(5), new GaleraViewCheck()));
        var p = assertInstanceOf(WriterElection.Propose.class, d);
        assertEquals(DB1, p.candidate());
        assertEquals(7, p.expectedEpoch());
        assertTrue(p.reason().startsWith("failback"), p.reason());
    }

    @Test
    void writerThatAnswersWellAgainButIsStillRisingIsFollowedNotReplaced() {
        GaleraNodeState good = synced(0, Set.of(DB1.address().toString(), DB2.address().toString(), DB3.address().toString()),
                null, Set.of());
        NodeHealth rising = new NodeHealth(DB1, new HealthState.Rising(1), good, good);
        var f = assertInstanceOf(WriterElection.Follow.class, decide(stored("db1", 3), rising, healthy(DB2, 1, DB1, DB2, DB3),
                healthy(DB3, 2, DB1, DB2, DB3)));
        assertEquals(DB1, f.writer());
    }

    @Test
    void writerSwitchedToByAnotherInstanceIsFollowedWhileThisInstanceStillSeesItRising() {
        GaleraNodeState good = synced(1, Set.of(DB1.address().toString(), DB2.address().toString()), null, Set.of());
        var f = assertInstanceOf(WriterElection.Follow.class, decide(stored("db2", 8), healthy(DB1, 0, DB1, DB2),
                new NodeHealth(DB2, new HealthState.Rising(1), good, good)));
        assertEquals(DB2, f.writer());
    }

    @Test
    void unreachableWriterStillInTheClustersViewIsNotReplaced() {
        var r = assertInstanceOf(WriterElection.Refuse.class, decide(stored("db1", 3), unreachable(DB1),
                healthy(DB2, 1, DB1, DB2, DB3), healthy(DB3, 2, DB1, DB2, DB3)));
        assertEquals("writer db1 is unreachable from this Baton (connection refused) but the cluster still lists it as a member; "
                + "not routing anywhere else", r.reason());
    }

    @Test
    void unreachableWriterEvictedFromTheViewIsReplacedByTheNextNode() {
        var p = assertInstanceOf(WriterElection.Propose.class, decide(stored("db1", 3), unreachable(DB1),
                healthy(DB2, 0, DB2, DB3), healthy(DB3, 1, DB2, DB3)));
        assertEquals(DB2, p.candidate());
        assertEquals(3, p.expectedEpoch());
        assertEquals(4, p.nextEpoch());
        assertEquals("writer db1 lost: connection refused; elected db2", p.reason());
    }

    @Test
    void viewInAnotherAddressFormProvesNothingSoTheWriterIsNotReplaced() {
        // The cluster reports host names while Baton's config has IP addresses: db1's absence from the list means
        // nothing, and a Baton with a bad link to db1 must not move the writer for everyone.
        GaleraNodeState seen = synced(1, Set.of("galera-2:3306", "galera-3:3306", "galera-1:3306"), null, Set.of());
        assertInstanceOf(WriterElection.Refuse.class, decide(stored("db1", 3), unreachable(DB1),
                new NodeHealth(DB2, new HealthState.Up(), seen, seen), new NodeHealth(DB3, new HealthState.Up(), seen, seen)));
    }

    /** A node seen by member id only: wsrep_incoming_addresses says AUTO, as MariaDB reports by default. */
    private static NodeHealth healthyById(Node node, String uuid, String... members) {
        GaleraNodeState state = synced(0, Set.of("AUTO"), uuid, new LinkedHashSet<>(List.of(members)));
        return new NodeHealth(node, new HealthState.Up(), state, state);
    }

    private static NodeHealth unreachableOnceKnownAs(Node node, String uuid, Instant knownAt) {
        GaleraNodeState answered = new GaleraNodeState(knownAt, null, 4, "Synced", true, "Primary", false, "NONE", false, 0, 3,
                Set.of("AUTO"), 0, 0, 300, uuid, Set.of());
        return new NodeHealth(node, new HealthState.DownUnreachable("connection refused"),
                GaleraNodeState.unreachable(CHECKED, "connection refused"), answered);
    }

    @Test
    void writerMissingFromTheMembersTableIsReplacedEvenWhenAddressesSayAuto() {
        var d = decide(stored("db1", 4), unreachableOnceKnownAs(DB1, "u1", CHECKED.minusMillis(500)),
                healthyById(DB2, "u2", "u2", "u3"), healthyById(DB3, "u3", "u2", "u3"));
        assertEquals(DB2, assertInstanceOf(WriterElection.Propose.class, d).candidate());
    }

    @Test
    void writerStillInTheMembersTableIsNotReplacedByABatonThatCannotReachIt() {
        assertInstanceOf(WriterElection.Refuse.class, decide(stored("db1", 4), unreachableOnceKnownAs(DB1, "u1", CHECKED),
                healthyById(DB2, "u2", "u1", "u2", "u3"), healthyById(DB3, "u3", "u1", "u2", "u3")));
    }

    @Test
    void memberIdLearnedBeforeTheRecordWasReadProvesNothing() {
        // db1 restarted with a new id while this Baton could not reach it; another instance made it the writer.
        assertInstanceOf(WriterElection.Refuse.class, decide(stored("db1", 4), unreachableOnceKnownAs(DB1, "old", READ.minusSeconds(9)),
                healthyById(DB2, "u2", "new", "u2", "u3"), healthyById(DB3, "u3", "new", "u2", "u3")));
    }

    @Test
    void writerThatCrashedRightAfterBecomingWriterIsReplacedOnceTheViewHoldsOnlyKnownMembers() {
        // db1 was last seen answering just before this instance read the record that names it, then crashed.
        assertEquals(DB2, assertInstanceOf(WriterElection.Propose.class, decide(stored("db1", 4),
                unreachableOnceKnownAs(DB1, "u1", READ.minusMillis(200)),
                healthyById(DB2, "u2", "u2", "u3"), healthyById(DB3, "u3", "u2", "u3"))).candidate());
    }

    @Test
    void firstElectionWaitsUntilEveryNodeWasCheckedOnce() {
        var d = decide(NONE, NodeHealth.initial(DB1), healthy(DB2, 1, DB2, DB3), healthy(DB3, 2, DB2, DB3));
        assertEquals("Baton is starting: waiting for the first check of db1", assertInstanceOf(WriterElection.Refuse.class, d).reason());
    }

    @Test
    void everyNodeUnreachableSaysSoRatherThanBlamingTheLink() {
        var d = decide(stored("db1", 3), unreachable(DB1), unreachable(DB2), unreachable(DB3));
        assertEquals("writer db1 lost: connection refused; no other node is healthy (db2: connection refused; db3: connection refused)",
                assertInstanceOf(WriterElection.Refuse.class, d).reason());
    }

    @Test
    void writerThatAnswersUnfitIsReplacedWithoutWaitingForTheView() {
        var d = decide(stored("db1", 3), answeredUnfit(DB1, "Primary"), healthy(DB2, 1, DB1, DB2, DB3), healthy(DB3, 2, DB1, DB2, DB3));
        assertEquals(DB2, assertInstanceOf(WriterElection.Propose.class, d).candidate());
    }

    @Test
    void writerUnfitAtACheckOlderThanTheRecordIsNotReplacedUntilANewerCheck() {
        RecordKnowledge fresh = new RecordKnowledge(Optional.of(new StoredWriter("db1", 3, "a", "switchover to db1")),
                CHECKED.plusMillis(1), CHECKED.plusMillis(1), Optional.empty(), 3, Optional.empty());
        var r = WriterElection.decide(fresh, List.of(answeredUnfit(DB1, "Primary"), healthy(DB2, 1, DB1, DB2)), Set.of(), NOW, RULES);
        assertTrue(assertInstanceOf(WriterElection.Refuse.class, r).reason().contains("waiting for a newer check"));
    }

    @Test
    void lostQuorumRefusesClients() {
        var r = assertInstanceOf(WriterElection.Refuse.class,
                decide(stored("db1", 3), answeredUnfit(DB1, "non-Primary"), unreachable(DB2), unreachable(DB3)));
        assertEquals("writer db1 lost: wsrep_cluster_status is non-Primary, not Primary (the node lost quorum); "
                + "no other node is healthy (db2: connection refused; db3: connection refused)", r.reason());
    }

    @Test
    void writerThatJustAnsweredNonPrimaryIsNotRoutedToWhileItFalls() {
        GaleraNodeState state = new GaleraNodeState(CHECKED, null, 4, "Synced", true, "non-Primary", false, "NONE", false,
                0, 1, Set.of(), 0, 0, 300);
        NodeHealth falling = new NodeHealth(DB1, new HealthState.Falling(1, state.whyNotWritable(), true), state, state);
        assertInstanceOf(WriterElection.Refuse.class, decide(stored("db1", 3), falling, healthy(DB2, 1, DB1, DB2)));
    }

    @Test
    void nothingHealthyAtAllRefusesWithEveryReason() {
        assertEquals("no healthy node (db1: connection refused; db2: connection refused)",
                assertInstanceOf(WriterElection.Refuse.class, decide(NONE, unreachable(DB1), unreachable(DB2))).reason());
    }

    @Test
    void recordNamingAnUnknownNodeIsReplaced() {
        var p = assertInstanceOf(WriterElection.Propose.class, decide(stored("old-db", 9), healthy(DB1, 0, DB1)));
        assertEquals(DB1, p.candidate());
        assertEquals(9, p.expectedEpoch());
    }

    @Test
    void recordUnreadableForLongerThanItsMaxAgeRefusesClientsWithTheLastError() {
        StoredWriter value = new StoredWriter("db1", 3, "a", "test");
        RecordKnowledge stale = new RecordKnowledge(Optional.of(value), READ, NOW.minusMillis(4600),
                Optional.of("db1: reading baton.writer failed: Read timed out"), 3, Optional.of(value));
        var r = assertInstanceOf(WriterElection.Refuse.class, decide(stale, healthy(DB1, 0, DB1, DB2), healthy(DB2, 1, DB1, DB2)));
        assertEquals("writer record unreadable for 4.6 s: db1: reading baton.writer failed: Read timed out", r.reason());
    }

    @Test
    void recordUnreadableForLessThanItsMaxAgeIsStillFollowed() {
        StoredWriter value = new StoredWriter("db1", 3, "a", "test");
        RecordKnowledge stale = new RecordKnowledge(Optional.of(value), READ, NOW.minusMillis(4400),
                Optional.of("db1: Read timed out"), 3, Optional.of(value));
        assertEquals(DB1, assertInstanceOf(WriterElection.Follow.class, decide(stale, healthy(DB1, 0, DB1, DB2))).writer());
    }

    @Test
    void vanishedRecordIsReEstablishedWithTheSameWriterAboveTheHighestEpochSeen() {
        StoredWriter last = new StoredWriter("db2", 12, "a", "test");
        RecordKnowledge gone = new RecordKnowledge(Optional.empty(), NOW, NOW, Optional.empty(), 12, Optional.of(last));
        var p = assertInstanceOf(WriterElection.Propose.class, decide(gone, healthy(DB1, 0, DB1, DB2), healthy(DB2, 1, DB1, DB2)));
        assertEquals(DB2, p.candidate());
        assertEquals(0, p.expectedEpoch());
        assertEquals(13, p.nextEpoch());
    }

    @Test
    void recordReCreatedBelowTheHighestEpochSeenIsRaisedBeforeAnyoneRoutes() {
        StoredWriter value = new StoredWriter("db1", 1, "b", "re-created");
        RecordKnowledge lower = new RecordKnowledge(Optional.of(value), READ, READ, Optional.empty(), 12, Optional.of(value));
        var p = assertInstanceOf(WriterElection.Propose.class, decide(lower, healthy(DB1, 0, DB1, DB2), healthy(DB2, 1, DB1, DB2)));
        assertEquals(DB1, p.candidate());
        assertEquals(1, p.expectedEpoch());
        assertEquals(13, p.nextEpoch());
        assertInstanceOf(WriterElection.Refuse.class, p.otherwise());
    }
}
