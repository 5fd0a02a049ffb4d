package dev.baton.proxy;

import dev.baton.admin.api.CheckReport;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.TopologyType;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code baton check} says, node by node, whether moving sessions there can work, only while sessions.move is on. */
class SessionMoveCheckTest {
    private static final Node DOWN = new Node("db1", new HostPort("127.0.0.1", WriterChangeTest.freePort()), 1);

    private static BatonConfig config(boolean move) {
        ClusterSpec.MonitorSettings monitor = new ClusterSpec.MonitorSettings("baton_monitor", "secret", Duration.ofMillis(500),
                Duration.ofMillis(500), 3, 2);
        return WriterChangeTest.config(DOWN.address())
                .withCluster(TopologyType.GALERA, new ClusterSpec(List.of(DOWN), monitor, false, Duration.ofSeconds(1), "baton", "test"))
                .withSessions(new BatonConfig.Sessions(move));
    }

    private static List<CheckReport.Finding> findings(BatonProxy proxy) {
        return AdminApi.check(proxy).findings();
    }

    @Test
    void withSessionsMovingTheCheckWarnsThatANodeWhoseHashesCannotBeReadGetsNoMovedSessions() throws Exception {
        try (BatonProxy proxy = BatonProxy.start(config(true), new FakeTopology(DOWN))) {
            CheckReport.Finding finding = findings(proxy).stream()
                    .filter(f -> f.check().equals("password hashes readable on db1")).findFirst().orElseThrow();
            assertEquals("warn", finding.result());
            assertEquals("cannot read stored password hashes on node db1: connection refused; until then, sessions are "
                    + "closed instead of moved when db1 becomes the writer", finding.detail());
        }
    }

    @Test
    void withSessionsMoveOffTheCheckDoesNotAskForTheHashes() throws Exception {
        try (BatonProxy proxy = BatonProxy.start(config(false), new FakeTopology(DOWN))) {
            assertTrue(proxy.accountHashes().isEmpty());
            assertFalse(findings(proxy).stream().anyMatch(f -> f.check().startsWith("password hashes")));
        }
    }
}
