package dev.baton.routing.core;

import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.galera.GaleraNodeState;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertFalse;

class NodeHealthTest {
    private static final Node DB1 = new Node("db1", new HostPort("127.0.0.1", 3311), 1);
    private static final GaleraNodeState GOOD = new GaleraNodeState(Instant.EPOCH, null, 4, "Synced", true, "Primary",
            false, "NONE", false, 0, 3, Set.of(), 0, 0, 300);
    private static final GaleraNodeState BAD = GaleraNodeState.unreachable(Instant.EPOCH, "no answer within 1000 ms");
    private static final GaleraNodeState NON_PRIMARY = new GaleraNodeState(Instant.EPOCH, null, 4, "Synced", true,
            "non-Primary", false, "NONE", false, 0, 1, Set.of(), 0, 0, 300);

    @Test
    void firstCheckDecidesAtOnce() {
        assertInstanceOf(HealthState.Up.class, NodeHealth.initial(DB1).after(GOOD, 3, 2).state());
        assertEquals(new HealthState.DownUnreachable("no answer within 1000 ms"), NodeHealth.initial(DB1).after(BAD, 3, 2).state());
    }

    @Test
    void goesDownOnlyAfterFallConsecutiveFailures() {
        NodeHealth h = NodeHealth.initial(DB1).after(GOOD, 3, 2);
        h = h.after(BAD, 3, 2).after(BAD, 3, 2);
        assertEquals(new HealthState.Falling(2, "no answer within 1000 ms", false), h.state());
        assertTrue(h.state().electable());
        h = h.after(GOOD, 3, 2); // one good answer resets the count
        h = h.after(BAD, 3, 2).after(BAD, 3, 2);
        assertTrue(h.state().electable());
        NodeHealth down = h.after(BAD, 3, 2);
        assertEquals(new HealthState.DownUnreachable("no answer within 1000 ms"), down.state());
        assertTrue(down.upChangedFrom(h));
    }

    @Test
    void risingNodeIsFollowableButNotElectableUntilRiseGoodChecks() {
        NodeHealth h = NodeHealth.initial(DB1).after(BAD, 3, 2).after(GOOD, 3, 2);
        assertEquals(new HealthState.Rising(1), h.state());
        assertFalse(h.state().electable());
        assertTrue(h.state().followable());
        assertInstanceOf(HealthState.Up.class, h.after(GOOD, 3, 2).state());
    }

    @Test
    void aFallingNodeThatAnsweredUnfitIsNeitherElectedNorFollowed() {
        NodeHealth h = NodeHealth.initial(DB1).after(GOOD, 3, 2).after(NON_PRIMARY, 3, 2).after(BAD, 3, 2);
        assertEquals(new HealthState.Falling(2, "no answer within 1000 ms", true), h.state());
        assertFalse(h.state().followable());
    }

    @Test
    void downStateSaysWhetherTheNodeAnsweredUnfitOrDidNotAnswer() {
        NodeHealth h = NodeHealth.initial(DB1).after(NON_PRIMARY, 3, 2);
        assertEquals(new HealthState.DownUnfit("wsrep_cluster_status is non-Primary, not Primary (the node lost quorum)"), h.state());
        assertInstanceOf(HealthState.DownUnreachable.class, h.after(BAD, 3, 2).state());
        assertEquals("db1", h.node().name());
        assertEquals(NON_PRIMARY, h.after(BAD, 3, 2).lastAnswer(), "the last answer is kept while the node does not answer");
    }

    @Test
    void everyUnfitStateHasAnOperatorsReason() {
        assertEquals("wsrep_desync is ON", new GaleraNodeState(Instant.EPOCH, null, 4, "Synced", true, "Primary", true, "NONE",
                false, 0, 3, Set.of(), 0, 0, 0).whyNotWritable());
        assertEquals("read_only is ON", new GaleraNodeState(Instant.EPOCH, null, 4, "Synced", true, "Primary", false, "NONE",
                true, 0, 3, Set.of(), 0, 0, 0).whyNotWritable());
        assertEquals("wsrep_reject_queries is ALL", new GaleraNodeState(Instant.EPOCH, null, 4, "Synced", true, "Primary", false,
                "ALL", false, 0, 3, Set.of(), 0, 0, 0).whyNotWritable());
        assertEquals("wsrep_local_state is 2 (Donor/Desynced), not 4 (Synced)", new GaleraNodeState(Instant.EPOCH, null, 2,
                "Donor/Desynced", true, "Primary", false, "NONE", false, 0, 3, Set.of(), 0, 0, 0).whyNotWritable());
        assertEquals("wsrep_ready is OFF", new GaleraNodeState(Instant.EPOCH, null, 4, "Synced", false, "Primary", false,
                "NONE", false, 0, 3, Set.of(), 0, 0, 0).whyNotWritable());
    }
}
