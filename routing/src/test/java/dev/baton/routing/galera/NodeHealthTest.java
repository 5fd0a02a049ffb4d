package dev.baton.routing.galera;

import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NodeHealthTest {
    private static final Node DB1 = new Node("db1", new HostPort("127.0.0.1", 3311), 1);
    private static final GaleraNodeState GOOD = new GaleraNodeState(Instant.EPOCH, null, 4, "Synced", true, "Primary",
            false, "NONE", false, 0, 3, Set.of(), 0, 0, 300);
    private static final GaleraNodeState BAD = GaleraNodeState.unreachable(Instant.EPOCH, "no answer within 1000 ms");

    @Test
    void firstCheckDecidesAtOnce() {
        NodeHealth h = NodeHealth.initial(DB1).after(GOOD, 3, 2);
        assertTrue(h.up());
        assertTrue(h.changed());
        assertFalse(NodeHealth.initial(DB1).after(BAD, 3, 2).up());
    }

    @Test
    void goesDownOnlyAfterFallConsecutiveFailures() {
        NodeHealth h = NodeHealth.initial(DB1).after(GOOD, 3, 2);
        h = h.after(BAD, 3, 2);
        assertTrue(h.up());
        h = h.after(BAD, 3, 2);
        assertTrue(h.up());
        h = h.after(GOOD, 3, 2); // one good answer resets the count
        h = h.after(BAD, 3, 2).after(BAD, 3, 2);
        assertTrue(h.up());
        h = h.after(BAD, 3, 2);
        assertFalse(h.up());
        assertTrue(h.changed());
        assertEquals("no answer within 1000 ms", h.reason());
    }

    @Test
    void comesBackOnlyAfterRiseConsecutiveGoodChecks() {
        NodeHealth h = NodeHealth.initial(DB1).after(BAD, 3, 2);
        h = h.after(GOOD, 3, 2);
        assertFalse(h.up());
        h = h.after(GOOD, 3, 2);
        assertTrue(h.up());
        assertNull(h.reason());
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
