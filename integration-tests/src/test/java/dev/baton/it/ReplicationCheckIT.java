package dev.baton.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.it.fixture.LocalReplicationCluster;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.NodeReport;
import dev.baton.routing.core.CheckVerdict;
import dev.baton.routing.replication.ReplicationCheck;
import dev.baton.routing.replication.ReplicationCheck.Finding;
import dev.baton.routing.replication.ReplicationCheck.Result;
import dev.baton.routing.replication.ReplicationNodeState;
import dev.baton.routing.replication.ReplicationProbe;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * {@code baton check}'s findings for a real primary/replica cluster, from one probe of each node as the monitor user:
 * what the check says of the fixture's settings, and how it names a primary that stopped waiting for
 * acknowledgements and a replica that stopped applying.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicationCheckIT {
    private static final ReplicationProbe PROBE = new ReplicationProbe(new ClusterSpec.MonitorSettings("baton_monitor",
            "monitor", Duration.ofSeconds(1), Duration.ofSeconds(1), 3, 2), Clock.systemUTC());
    /** quotas.max-total's default (250) plus Baton's 2 monitor connections. */
    private static final long NEEDED = 252;

    private static LocalReplicationCluster cluster;
    private static List<Node> nodes;

    @BeforeAll
    static void startCluster() {
        cluster = LocalReplicationCluster.start("check", 3);
        nodes = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            nodes.add(new Node("r" + i, new HostPort(cluster.host(), cluster.port(i)), i));
        }
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** The findings from one check of every node, each report built the way the topology builds it. */
    private static List<Finding> check() {
        List<NodeReport> reports = new ArrayList<>();
        for (Node node : nodes) {
            ReplicationNodeState state = PROBE.check(node);
            CheckVerdict verdict = state.verdict();
            reports.add(NodeReport.ofReplication(node.name(), verdict instanceof CheckVerdict.Writable,
                    state.whyUnfit(), state, null));
        }
        return ReplicationCheck.findings(nodes, reports, NEEDED);
    }

    private static Finding find(List<Finding> findings, String check) {
        return findings.stream().filter(f -> f.check().equals(check)).findFirst()
                .orElseThrow(() -> new AssertionError("no finding '" + check + "' in " + findings));
    }

    @Test
    @Order(1)
    void theFixturePassesEverythingButItsShortSemiSyncTimeout() {
        List<Finding> findings = check();
        List<String> notPassed = findings.stream().filter(f -> f.result() != Result.PASS)
                .map(f -> f.result() + " " + f.check() + ": " + f.detail()).toList();
        String warning = "; a primary that waits less falls back to asynchronous replication on a short hiccup, and "
                + "the writes after it may be lost on a failover (warned below 5000 ms)";
        assertEquals(List.of(
                "WARN rpl_semi_sync_master_timeout on r1: rpl_semi_sync_master_timeout=2000 ms" + warning,
                "WARN rpl_semi_sync_master_timeout on r2: rpl_semi_sync_master_timeout=2000 ms" + warning,
                "WARN rpl_semi_sync_master_timeout on r3: rpl_semi_sync_master_timeout=2000 ms" + warning), notPassed);
        assertEquals("r1 is the primary", find(findings, "one primary").detail());
        assertEquals("enabled on both sides, active with 2 replica(s)", find(findings, "semi-sync on r1").detail());
        assertEquals("enabled on both sides, acknowledging", find(findings, "semi-sync on r2").detail());
        assertEquals("slave_net_timeout=2 s", find(findings, "slave_net_timeout on r3").detail());
        assertEquals("max_connections=300; needs at least 252 (quotas.max-total plus Baton's monitor connections), as "
                + "any node may become the primary", find(findings, "max_connections on r2").detail());
    }

    @Test
    @Order(2)
    void aPrimaryWithSemiSyncDisabledIsWarnedAboutLosingAcknowledgedWrites() {
        cluster.sql(1, "SET GLOBAL rpl_semi_sync_master_enabled = OFF");
        try {
            Finding f = find(check(), "semi-sync on r1");
            assertEquals(Result.WARN, f.result());
            assertEquals("rpl_semi_sync_master_enabled OFF; without semi-synchronous replication on both sides of "
                    + "every node, writes acknowledged to clients may be lost on a failover", f.detail());
        } finally {
            cluster.sql(1, "SET GLOBAL rpl_semi_sync_master_enabled = ON");
        }
    }

    @Test
    @Order(3)
    void aReplicaThatStoppedApplyingFailsAndCountsAsUnhealthy() {
        cluster.sql(3, "STOP SLAVE SQL_THREAD");
        try {
            List<Finding> findings = check();
            Finding replication = find(findings, "replication on r3");
            assertEquals(Result.FAIL, replication.result());
            assertEquals("replicates from " + nodes.get(0).address() + " but does not apply (IO thread running, SQL "
                    + "thread stopped)", replication.detail());
            Finding healthy = find(findings, "nodes healthy");
            assertEquals(Result.WARN, healthy.result());
            assertTrue(healthy.detail().startsWith("2 of 3 node(s) healthy; r3: replication from "), healthy.detail());
        } finally {
            cluster.sql(3, "START SLAVE SQL_THREAD");
        }
        await("r3 applies again").atMost(Duration.ofSeconds(10))
                .until(() -> find(check(), "replication on r3").result() == Result.PASS);
    }
}
