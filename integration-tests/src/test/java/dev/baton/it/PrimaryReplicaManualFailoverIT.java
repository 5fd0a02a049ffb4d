package dev.baton.it;

import dev.baton.it.fixture.BatonCommand;
import dev.baton.it.fixture.LocalReplicationCluster;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.routing.WriterChoice;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code failover: manual}: a lost primary waits for the operator's {@code baton switchover}, which follows the same rules. */
class PrimaryReplicaManualFailoverIT {
    private static LocalReplicationCluster cluster;
    private static RunningBaton baton;

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalReplicationCluster.start("prmanual", 3);
        baton = RunningBaton.start(RunningBaton.replication(cluster, "baton-m", Map.of(), false));
        baton.awaitWriter(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() {
        if (baton != null) {
            baton.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aLostPrimaryWaitsForTheOperatorWhoseSwitchoverMustNameTheReplicaTheRulesChoose() throws Exception {
        assertEquals("db1", baton.writer());
        cluster.kill9(1);
        await().atMost(Duration.ofSeconds(20)).until(() -> baton.proxy().topology().currentWriter()
                instanceof WriterChoice.NoWriter n && n.reason().contains("failover is manual: run 'baton switchover NODE'"));
        Thread.sleep(3000); // time for a promotion to happen, were failover automatic
        assertEquals(null, baton.writer(), "nothing is promoted without the operator");
        assertTrue(cluster.replicaStatus(2).get("Master_Port").equals(String.valueOf(cluster.port(1))), "db2 still points at db1");

        String url = "http://127.0.0.1:" + baton.proxy().adminAddress().getPort();
        BatonCommand.Result wrong = BatonCommand.run("switchover", "db3", "--url", url);
        assertEquals(1, wrong.exit(), wrong.out());
        assertTrue(wrong.err().contains("db3 cannot be promoted: the rules choose db2"), wrong.err());

        BatonCommand.Result right = BatonCommand.run("switchover", "db2", "--url", url, "--json");
        assertEquals(0, right.exit(), right.err());
        assertTrue(right.out().contains("\"to\":\"db2\"") && right.out().contains("\"promoted_without_a_writer\":true"), right.out());
        assertEquals("db2", baton.writer());
        await().atMost(Duration.ofSeconds(20)).until(() -> String.valueOf(cluster.port(2)).equals(cluster.replicaStatus(3).get("Master_Port"))
                && "Yes".equals(cluster.replicaStatus(3).get("Slave_IO_Running")));
        try (Connection c = DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app");
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@port, @@read_only")) {
            rs.next();
            assertEquals(cluster.port(2), rs.getInt(1));
            assertEquals(0, rs.getInt(2));
        }
    }
}
