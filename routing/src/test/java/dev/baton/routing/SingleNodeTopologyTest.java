package dev.baton.routing;

import dev.baton.routing.core.SimScheduler;
import dev.baton.routing.single.SingleNodeState;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SingleNodeTopologyTest {
    private static final Node DB1 = new Node("db1", new HostPort("127.0.0.1", 3311), 1);
    private static final ClusterSpec.MonitorSettings MONITOR = new ClusterSpec.MonitorSettings("baton_monitor", "secret",
            Duration.ofMillis(500), Duration.ofSeconds(1), 3, 2);
    private static final Instant START = Instant.parse("2026-11-27T10:00:00Z");

    private final SimScheduler sched = new SimScheduler(START);
    /** What the server answers at the next check. */
    private SingleNodeState answer;
    private final AtomicInteger checks = new AtomicInteger();

    private SingleNodeTopology monitored() {
        ClusterSpec spec = new ClusterSpec(List.of(DB1), MONITOR, false, Duration.ZERO, "baton", "baton");
        return new SingleNodeTopology(spec, node -> {
            checks.incrementAndGet();
            return answer;
        }, node -> sched, sched, sched, sched.clock());
    }

    private SingleNodeState good(long maxConnections) {
        return new SingleNodeState(sched.now(), null, false, maxConnections, Map.of("version", "10.11.6-MariaDB"));
    }

    private SingleNodeState refused() {
        return SingleNodeState.unreachable(sched.now(), "connection refused");
    }

    /** Runs the checks due in the next {@code n} monitor intervals (the probe answers at once here). */
    private void runChecks(int n) {
        sched.runUntil(sched.now().plus(MONITOR.interval().multipliedBy(n)).minusMillis(1), () -> { });
    }

    @Test
    void withoutMonitorUserNothingIsCheckedAndEverySessionGoesToTheNode() {
        try (SingleNodeTopology topology = new SingleNodeTopology(ClusterSpec.ofNodes(List.of(DB1)))) {
            topology.start();
            assertFalse(topology.monitored());
            assertEquals(List.of(), topology.nodeReports());
            assertEquals(new WriterChoice.Writer(DB1, 1), topology.currentWriter());
        }
    }

    @Test
    void reportsTheNodeNotCheckedYetBeforeItsFirstCheck() {
        try (SingleNodeTopology topology = monitored()) {
            NodeReport report = topology.nodeReports().get(0);
            assertFalse(report.up());
            assertEquals("not checked yet", report.reason());
            assertNull(report.lastCheck());
        }
    }

    @Test
    void reportsTheNodeUpWithItsMaxConnectionsAfterAGoodCheck() {
        try (SingleNodeTopology topology = monitored()) {
            answer = good(151);
            topology.start();
            runChecks(1);
            NodeReport report = topology.nodeReports().get(0);
            assertTrue(report.up());
            assertNull(report.reason());
            assertEquals(151, report.maxConnections());
            assertEquals("10.11.6-MariaDB", report.settings().get("version"));
            assertEquals(START, report.lastCheck());
        }
    }

    @Test
    void reportsTheNodeDownWithTheReasonAfterFallFailedChecksButKeepsRoutingToIt() {
        try (SingleNodeTopology topology = monitored()) {
            answer = good(151);
            topology.start();
            runChecks(1);
            answer = refused();
            runChecks(2);
            assertTrue(topology.nodeReports().get(0).up(), "two failed checks of three: still up (falling)");
            runChecks(1);
            NodeReport report = topology.nodeReports().get(0);
            assertFalse(report.up());
            assertEquals("connection refused", report.reason());
            assertEquals(new WriterChoice.Writer(DB1, 1), topology.currentWriter());
            assertEquals("node db1 is down: connection refused", topology.events().get(topology.events().size() - 1).description());
        }
    }

    @Test
    void comesBackUpOnlyAfterRiseGoodChecks() {
        try (SingleNodeTopology topology = monitored()) {
            answer = refused();
            topology.start();
            runChecks(1);
            assertFalse(topology.nodeReports().get(0).up());
            answer = good(151);
            runChecks(1);
            assertFalse(topology.nodeReports().get(0).up());
            assertEquals("rising (1 good check)", topology.nodeReports().get(0).reason());
            runChecks(1);
            assertTrue(topology.nodeReports().get(0).up());
        }
    }

    @Test
    void reportsAReadOnlyServerDownBecauseItRefusesWrites() {
        try (SingleNodeTopology topology = monitored()) {
            answer = new SingleNodeState(sched.now(), null, true, 151, Map.of());
            topology.start();
            runChecks(1);
            NodeReport report = topology.nodeReports().get(0);
            assertFalse(report.up());
            assertEquals("read_only is ON: the server refuses every client's writes", report.reason());
        }
    }

    @Test
    void tellsItsListenersAfterEveryCheckAndGoesOnWhenOneFails() {
        try (SingleNodeTopology topology = monitored()) {
            AtomicInteger told = new AtomicInteger();
            topology.onNodeChecked(() -> {
                throw new IllegalStateException("a broken listener");
            });
            topology.onNodeChecked(told::incrementAndGet);
            answer = good(151);
            topology.start();
            runChecks(3);
            assertEquals(3, checks.get());
            assertEquals(3, told.get());
        }
    }

    @Test
    void refusesMoreThanOneNode() {
        Node db2 = new Node("db2", new HostPort("127.0.0.1", 3312), 2);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new SingleNodeTopology(new ClusterSpec(List.of(DB1, db2), MONITOR, false, Duration.ZERO, "baton", "baton")));
        assertEquals("cluster type 'single' takes exactly one node, got 2", e.getMessage());
    }
}
