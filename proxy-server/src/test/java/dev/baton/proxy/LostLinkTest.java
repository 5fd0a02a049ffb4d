package dev.baton.proxy;

import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.Node;
import dev.baton.routing.TopologyType;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** An idle session whose server connection is lost, with sessions.move off, ends as it did before sessions moved. */
class LostLinkTest {

    @Test
    void withSessionsMoveOffAnIdleSessionWhoseServerConnectionIsLostIsClosedNotParked() throws Exception {
        try (FakeMySqlServer db1 = FakeMySqlServer.answeringOk()) {
            Node node1 = new Node("db1", db1.address(), 1);
            ClusterSpec.MonitorSettings monitor = new ClusterSpec.MonitorSettings("baton_monitor", "secret",
                    Duration.ofMillis(500), Duration.ofMillis(500), 3, 2);
            BatonConfig config = WriterChangeTest.config(db1.address())
                    .withCluster(TopologyType.GALERA, new ClusterSpec(List.of(node1), monitor, false, Duration.ofSeconds(1),
                            "baton", "test"))
                    .withSessions(new BatonConfig.Sessions(false)); // a monitor user is set: only the setting keeps it off
            try (BatonProxy proxy = BatonProxy.start(config, new FakeTopology(node1));
                 RawClient client = new RawClient(proxy.address())) {
                assertEquals(0x00, client.login()[0]);
                assertEquals(0x00, client.query("SELECT 1")[0]);
                assertFalse(proxy.movesSessions());
                int accepted = db1.connectionsAccepted();

                db1.dropConnections(); // the server restarts under an idle session

                await("Baton closes the client").atMost(Duration.ofSeconds(5)).until(client::closedByBaton);
                await("the session ends").atMost(Duration.ofSeconds(5)).until(() -> proxy.activeSessions() == 0);
                assertEquals(accepted, db1.connectionsAccepted(), "no new connection was made for the session");
                assertEquals(java.util.Map.of(), proxy.metrics().sessionsNotMoved(),
                        "with moving off, the session was never a candidate: baton_sessions_not_moved_total counts nothing");
                assertEquals(0, proxy.metrics().sessionsMoved());
            }
        }
    }
}
