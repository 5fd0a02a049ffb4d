package dev.baton.proxy;

import dev.baton.routing.Node;
import dev.baton.routing.NodeReport;
import dev.baton.routing.replication.GtidPosition;
import dev.baton.routing.replication.ReplicationNodeState;
import dev.baton.routing.replication.ReplicationNodeState.SemiSync;
import dev.baton.routing.replication.ReplicationNodeState.Source;
import dev.baton.routing.replication.ReplicationNodeState.ThreadState;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What an operator sees of a primary/replica cluster: the status's replication block, the metrics and the check. */
class ReplicationStatusTest {
    private static final Instant AT = Instant.parse("2026-11-01T10:00:00Z");
    private static final GtidPosition POS = GtidPosition.parse("0-1-10");
    private static final Map<String, String> SETTINGS = Map.of("binlog_format", "ROW", "gtid_strict_mode", "ON",
            "log_slave_updates", "ON", "log_bin", "ON", "rpl_semi_sync_master_timeout", "10000", "slave_net_timeout", "10");

    private static List<NodeReport> reports(Node primary) {
        ReplicationNodeState p = new ReplicationNodeState(AT, null, 1, false, POS, POS, GtidPosition.EMPTY, List.of(),
                new SemiSync(true, true, 1, true, false), 1000, SETTINGS);
        Source fromPrimary = new Source("", primary.address().host(), primary.address().port(), ThreadState.RUNNING,
                ThreadState.RUNNING, "", "", OptionalLong.of(3), GtidPosition.parse("0-1-10"), "b.1:9", "b.1:9",
                "Slave_Pos");
        ReplicationNodeState r = new ReplicationNodeState(AT, null, 2, true, POS, GtidPosition.parse("0-1-9"),
                GtidPosition.parse("0-1-9"), List.of(fromPrimary), new SemiSync(true, false, 0, true, true), 1000, SETTINGS);
        return List.of(NodeReport.ofReplication("db1", true, null, p, null),
                NodeReport.ofReplication("db2", true, null, r, null),
                NodeReport.ofReplication("db3", false, "connection refused",
                        ReplicationNodeState.unreachable(AT, "connection refused"), "unreachable since the last failover"));
    }

    private static String get(BatonProxy proxy, String path) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + proxy.adminAddress().getPort() + path)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    @Test
    void statusMetricsAndCheckShowEachNodesReplication() throws Exception {
        try (FakeMySqlServer db1 = FakeMySqlServer.answeringOk(); FakeMySqlServer db2 = FakeMySqlServer.answeringOk();
             FakeMySqlServer db3 = FakeMySqlServer.answeringOk()) {
            Node node1 = new Node("db1", db1.address(), 1);
            FakeTopology topology = new FakeTopology(node1, new Node("db2", db2.address(), 2),
                    new Node("db3", db3.address(), 3));
            topology.type = "primary-replica";
            topology.reports = reports(node1);
            try (BatonProxy proxy = BatonProxy.start(WriterChangeTest.config(db1.address()), topology)) {
                String status = get(proxy, "/api/v1/status");
                assertTrue(status.contains("\"replication\":{\"role\":\"replica\",\"read_only\":true,\"source\":\""
                        + node1.address() + "\",\"io_thread\":\"running\",\"sql_thread\":\"running\",\"last_io_error\":null,"
                        + "\"last_sql_error\":null,\"lag_seconds\":3,\"gtid_binlog_pos\":\"0-1-10\",\"gtid_current_pos\":"
                        + "\"0-1-9\",\"gtid_slave_pos\":\"0-1-9\",\"gtid_io_pos\":\"0-1-10\",\"semi_sync\":{\"source_enabled\":"
                        + "true,\"source_active\":false,\"source_clients\":0,\"replica_enabled\":true,\"replica_active\":true},"
                        + "\"left_out\":null}"), status);
                assertTrue(status.contains("\"left_out\":\"unreachable since the last failover\""), status);

                String metrics = proxy.scrapeMetrics();
                assertTrue(metrics.contains("baton_node_replication_lag_seconds{node=\"db2\"} 3.0"), metrics);
                assertTrue(metrics.contains("baton_node_replication_lag_seconds{node=\"db1\"} NaN"), metrics);
                assertTrue(metrics.contains("baton_node_role{node=\"db1\",role=\"primary\"} 1.0"), metrics);
                assertTrue(metrics.contains("baton_node_role{node=\"db1\",role=\"replica\"} 0.0"), metrics);
                assertTrue(metrics.contains("baton_node_role{node=\"db3\",role=\"unknown\"} 1.0"), metrics);
                assertTrue(metrics.contains("baton_node_semi_sync_active{node=\"db2\"} 1.0"), metrics);
                assertTrue(metrics.contains("baton_node_semi_sync_active{node=\"db3\"} 0.0"), metrics);
                assertFalse(metrics.contains("baton_node_flow_control_paused"), "no Galera series for replication nodes");

                String check = get(proxy, "/api/v1/check");
                assertTrue(check.contains("{\"check\":\"one primary\",\"result\":\"pass\",\"detail\":\"db1 is the primary\"}"),
                        check);
                assertTrue(check.contains("{\"check\":\"in the cluster: db3\",\"result\":\"fail\",\"detail\":\"Baton keeps db3"
                        + " out: unreachable since the last failover\"}"), check);
                assertTrue(check.contains("\"check\":\"replication on db2\",\"result\":\"pass\""), check);
                assertTrue(check.contains("\"check\":\"one writer\",\"result\":\"pass\""), check);
                assertFalse(check.contains("innodb_autoinc_lock_mode"), "no Galera findings: " + check);
            }
        }
    }
}
