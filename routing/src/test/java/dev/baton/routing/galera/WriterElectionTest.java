package dev.baton.routing.galera;

import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WriterElectionTest {
    private static final Node DB1 = new Node("db1", new HostPort("127.0.0.1", 3311), 1);
    private static final Node DB2 = new Node("db2", new HostPort("127.0.0.1", 3312), 2);
    private static final Node DB3 = new Node("db3", new HostPort("127.0.0.1", 3313), 3);

    /** A node that answered as a Synced Primary member seeing {@code members}. */
    private static NodeHealth healthy(Node node, int localIndex, Node... members) {
        Set<String> addresses = new LinkedHashSet<>();
        for (Node m : members) {
            addresses.add(m.address().toString());
        }
        GaleraNodeState state = new GaleraNodeState(Instant.EPOCH, null, 4, "Synced", true, "Primary", false, "NONE", false,
                localIndex, members.length, addresses, 0, 0, 300);
        return new NodeHealth(node, true, null, 0, state, false);
    }

    private static NodeHealth unreachable(Node node) {
        return new NodeHealth(node, false, "connection refused", 0, GaleraNodeState.unreachable(Instant.EPOCH, "connection refused"), false);
    }

    private static NodeHealth answeredUnfit(Node node, String status) {
        GaleraNodeState state = new GaleraNodeState(Instant.EPOCH, null, 1, "Joining", false, status, false, "NONE", false,
                0, 1, Set.of(node.address().toString()), 0, 0, 300);
        return new NodeHealth(node, false, state.whyNotWritable(), 0, state, false);
    }

    private static WriterRecord.Stored stored(String writer, long epoch) {
        return new WriterRecord.Stored(writer, epoch, "test", "test");
    }

    @Test
    void firstElectionPicksLowestPriorityAmongHealthyNodes() {
        var d = WriterElection.decide(null, List.of(unreachable(DB1), healthy(DB2, 1, DB2, DB3), healthy(DB3, 0, DB2, DB3)), false);
        var p = assertInstanceOf(WriterElection.Propose.class, d);
        assertEquals(DB2, p.candidate());
        assertEquals(0, p.expectedEpoch());
    }

    @Test
    void equalPrioritiesAreBrokenByLocalIndexSoEveryInstanceAgrees() {
        Node a = new Node("a", new HostPort("127.0.0.1", 1), 5);
        Node b = new Node("b", new HostPort("127.0.0.1", 2), 5);
        var d = WriterElection.decide(null, List.of(healthy(a, 1, a, b), healthy(b, 0, a, b)), false);
        assertEquals(b, assertInstanceOf(WriterElection.Propose.class, d).candidate());
    }

    @Test
    void healthyStoredWriterIsFollowedEvenWhenABetterNodeIsBack() {
        var d = WriterElection.decide(stored("db2", 7), List.of(healthy(DB1, 0, DB1, DB2, DB3), healthy(DB2, 1, DB1, DB2, DB3),
                healthy(DB3, 2, DB1, DB2, DB3)), false);
        var f = assertInstanceOf(WriterElection.Follow.class, d);
        assertEquals(DB2, f.writer());
        assertEquals(7, f.epoch());
    }

    @Test
    void failbackProposesTheBetterNodeWhenEnabled() {
        var d = WriterElection.decide(stored("db2", 7), List.of(healthy(DB1, 0, DB1, DB2), healthy(DB2, 1, DB1, DB2)), true);
        var p = assertInstanceOf(WriterElection.Propose.class, d);
        assertEquals(DB1, p.candidate());
        assertEquals(7, p.expectedEpoch());
        assertTrue(p.reason().startsWith("failback"), p.reason());
    }

    @Test
    void unreachableWriterStillInTheClustersViewIsNotReplaced() {
        var d = WriterElection.decide(stored("db1", 3), List.of(unreachable(DB1), healthy(DB2, 1, DB1, DB2, DB3),
                healthy(DB3, 2, DB1, DB2, DB3)), false);
        var r = assertInstanceOf(WriterElection.Refuse.class, d);
        assertEquals("writer db1 is unreachable from this Baton (connection refused) but the cluster still lists it as a member; "
                + "not routing anywhere else", r.reason());
    }

    @Test
    void unreachableWriterEvictedFromTheViewIsReplacedByTheNextNode() {
        var d = WriterElection.decide(stored("db1", 3), List.of(unreachable(DB1), healthy(DB2, 0, DB2, DB3), healthy(DB3, 1, DB2, DB3)), false);
        var p = assertInstanceOf(WriterElection.Propose.class, d);
        assertEquals(DB2, p.candidate());
        assertEquals(3, p.expectedEpoch());
        assertEquals("writer db1 lost: connection refused; elected db2", p.reason());
    }

    @Test
    void viewInAnotherAddressFormProvesNothingSoTheWriterIsNotReplaced() {
        // The cluster reports host names while Baton's config has IP addresses: db1's absence from the list means
        // nothing, and a Baton with a bad link to db1 must not move the writer for everyone.
        Set<String> names = Set.of("galera-2:3306", "galera-3:3306", "galera-1:3306");
        GaleraNodeState seen = new GaleraNodeState(Instant.EPOCH, null, 4, "Synced", true, "Primary", false, "NONE", false,
                1, 3, names, 0, 0, 300);
        var d = WriterElection.decide(stored("db1", 3), List.of(unreachable(DB1), new NodeHealth(DB2, true, null, 0, seen, false),
                new NodeHealth(DB3, true, null, 0, seen, false)), false);
        assertInstanceOf(WriterElection.Refuse.class, d);
    }

    /** A node seen by member id only: wsrep_incoming_addresses says AUTO, as MariaDB reports by default. */
    private static NodeHealth healthyById(Node node, String uuid, String... members) {
        GaleraNodeState state = new GaleraNodeState(Instant.EPOCH, null, 4, "Synced", true, "Primary", false, "NONE", false,
                0, members.length, Set.of("AUTO"), 0, 0, 300, uuid, new LinkedHashSet<>(List.of(members)));
        return new NodeHealth(node, true, null, 0, state, false);
    }

    private static NodeHealth unreachableOnceKnownAs(Node node, String uuid) {
        return new NodeHealth(node, false, "connection refused", 0,
                GaleraNodeState.unreachable(Instant.EPOCH, "connection refused"), false, uuid);
    }

    @Test
    void writerMissingFromTheMembersTableIsReplacedEvenWhenAddressesSayAuto() {
        var d = WriterElection.decide(stored("db1", 4), List.of(unreachableOnceKnownAs(DB1, "u1"),
                healthyById(DB2, "u2", "u2", "u3"), healthyById(DB3, "u3", "u2", "u3")), false);
        assertEquals(DB2, assertInstanceOf(WriterElection.Propose.class, d).candidate());
    }

    @Test
    void writerStillInTheMembersTableIsNotReplacedByABatonThatCannotReachIt() {
        var d = WriterElection.decide(stored("db1", 4), List.of(unreachableOnceKnownAs(DB1, "u1"),
                healthyById(DB2, "u2", "u1", "u2", "u3"), healthyById(DB3, "u3", "u1", "u2", "u3")), false);
        assertInstanceOf(WriterElection.Refuse.class, d);
    }

    @Test
    void firstElectionWaitsUntilEveryNodeWasCheckedOnce() {
        var d = WriterElection.decide(null, List.of(NodeHealth.initial(DB1), healthy(DB2, 1, DB2, DB3), healthy(DB3, 2, DB2, DB3)), false);
        assertEquals("Baton is starting: waiting for the first check of db1", assertInstanceOf(WriterElection.Refuse.class, d).reason());
    }

    @Test
    void everyNodeUnreachableSaysSoRatherThanBlamingTheLink() {
        var d = WriterElection.decide(stored("db1", 3), List.of(unreachable(DB1), unreachable(DB2), unreachable(DB3)), false);
        assertEquals("writer db1 lost: connection refused; no other node is healthy (db2: connection refused; db3: connection refused)",
                assertInstanceOf(WriterElection.Refuse.class, d).reason());
    }

    @Test
    void writerThatAnswersUnfitIsReplacedWithoutWaitingForTheView() {
        var d = WriterElection.decide(stored("db1", 3), List.of(answeredUnfit(DB1, "Primary"), healthy(DB2, 1, DB1, DB2, DB3),
                healthy(DB3, 2, DB1, DB2, DB3)), false);
        assertEquals(DB2, assertInstanceOf(WriterElection.Propose.class, d).candidate());
    }

    @Test
    void lostQuorumRefusesClients() {
        var d = WriterElection.decide(stored("db1", 3), List.of(answeredUnfit(DB1, "non-Primary"), unreachable(DB2), unreachable(DB3)), false);
        var r = assertInstanceOf(WriterElection.Refuse.class, d);
        assertTrue(r.reason().startsWith("writer db1 lost: wsrep_cluster_status is non-Primary, not Primary (the node lost quorum); "
                + "no other node is healthy (db2: connection refused; db3: connection refused)"), r.reason());
    }

    @Test
    void nothingHealthyAtAllRefusesWithEveryReason() {
        var d = WriterElection.decide(null, List.of(unreachable(DB1), unreachable(DB2)), false);
        assertEquals("no healthy node (db1: connection refused; db2: connection refused)",
                assertInstanceOf(WriterElection.Refuse.class, d).reason());
    }

    @Test
    void recordNamingAnUnknownNodeIsReplaced() {
        var d = WriterElection.decide(stored("old-db", 9), List.of(healthy(DB1, 0, DB1)), false);
        var p = assertInstanceOf(WriterElection.Propose.class, d);
        assertEquals(DB1, p.candidate());
        assertEquals(9, p.expectedEpoch());
    }
}
