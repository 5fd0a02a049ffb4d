package dev.baton.routing.core;

import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.WriterChoice;
import dev.baton.routing.galera.GaleraNodeState;
import dev.baton.routing.galera.GaleraViewCheck;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

class WriterKeeperTest {
    private static final Node DB1 = new Node("db1", new HostPort("127.0.0.1", 3311), 1);
    private static final Node DB2 = new Node("db2", new HostPort("127.0.0.1", 3312), 2);

    private final SimScheduler time = new SimScheduler(Instant.parse("2026-11-01T00:00:00Z"));
    private final InMemoryWriterRecordStore table = new InMemoryWriterRecordStore(time::now);
    private final InMemoryWriterRecordStore.Faults faults = new InMemoryWriterRecordStore.Faults();
    private final WriterKeeper keeper = new WriterKeeper(table.through(faults), this::bothUp,
            new WriterElection.Rules(false, Duration.ofMillis(4500), new GaleraViewCheck()), new ClusterEvents(time.clock()),
            time.clock(), "baton1");

    /** Both nodes answered a check just now as Synced Primary members. */
    private List<NodeHealth> bothUp() {
        GaleraNodeState one = new GaleraNodeState(time.now(), null, 4, "Synced", true, "Primary", false, "NONE", false, 0, 2,
                Set.of("AUTO"), 0, 0, 300, "u1", Set.of("u1", "u2"));
        GaleraNodeState two = new GaleraNodeState(time.now(), null, 4, "Synced", true, "Primary", false, "NONE", false, 1, 2,
                Set.of("AUTO"), 0, 0, 300, "u2", Set.of("u1", "u2"));
        return List.of(new NodeHealth(DB1, new HealthState.Up(), one, one), new NodeHealth(DB2, new HealthState.Up(), two, two));
    }

    @Test
    void recordUnreadableForLongerThanItsAgeLimitRefusesClientsInsteadOfFollowingIt() {
        keeper.decide();
        assertEquals(new WriterChoice.Writer(DB1, 1), keeper.current());
        faults.failReads = true;
        time.runUntil(time.now().plusMillis(4400), () -> { });
        keeper.decide();
        assertEquals(new WriterChoice.Writer(DB1, 1), keeper.current(), "within the limit the last record is followed");
        time.runUntil(time.now().plusMillis(200), () -> { });
        keeper.decide();
        assertEquals("writer record unreadable for 4.6 s: db2: reading baton.writer failed: Read timed out",
                assertInstanceOf(WriterChoice.NoWriter.class, keeper.current()).reason());
        faults.failReads = false;
        keeper.decide();
        assertEquals(new WriterChoice.Writer(DB1, 1), keeper.current());
    }

    @Test
    void droppedRecordTableIsReCreatedWithTheSameWriterAndAHigherEpoch() {
        keeper.decide();
        keeper.switchTo(DB2, "test", "operator");
        assertEquals(new WriterChoice.Writer(DB2, 2), keeper.current());
        table.drop();
        keeper.decide();
        assertEquals(new WriterChoice.Writer(DB2, 3), keeper.current());
        assertEquals("db2", table.row().orElseThrow().writer());
        assertEquals(3, table.row().orElseThrow().epoch());
    }
}
