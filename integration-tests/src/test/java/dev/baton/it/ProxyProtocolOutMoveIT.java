package dev.baton.it;

import dev.baton.it.fixture.BatonCommand;
import dev.baton.it.fixture.LocalReplicationCluster;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.ProxyProtocolVersion;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A primary/replica cluster whose servers all trust Baton's address with PROXY protocol headers: Baton's monitor,
 * whose connections carry a header naming Baton, elects the primary; a client of the application server 127.0.0.2 logs
 * in as an account known only at that address, and after a switchover its session, moved to the new primary, is
 * still that account there.
 */
class ProxyProtocolOutMoveIT {
    private static LocalReplicationCluster cluster;
    private static RunningBaton baton;

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalReplicationCluster.start("ppmoves", 2, true, List.of("proxy_protocol_networks=127.0.0.1"));
        cluster.sql(1, "CREATE USER 'origin'@'127.0.0.2' IDENTIFIED BY 'origin'");
        cluster.sql(1, "GRANT ALL ON baton_test.* TO 'origin'@'127.0.0.2'");
        cluster.sql(1, "GRANT SELECT ON mysql.global_priv TO 'baton_monitor'@'%'");
        BatonConfig config = RunningBaton.replication(cluster, "baton-pp", Map.of(), true);
        baton = RunningBaton.start(config.withCluster(config.clusterType(),
                config.cluster().withProxyProtocol(ProxyProtocolVersion.V2)));
        baton.awaitWriter(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[]{baton, cluster}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    System.err.println("closing " + c + ": " + e);
                }
            }
        }
    }

    /** The account and the server's port the session is on. */
    private static String whoAndWhere(Connection c) throws Exception {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT USER(), @@port")) {
            rs.next();
            return rs.getString(1) + " on " + rs.getInt(2);
        }
    }

    @Test
    void aSessionMovedToTheNewPrimaryIsStillTheApplicationServersAccount() throws Exception {
        assertEquals("db1", baton.writer(), "the monitor, whose connections carry a header, elected the primary");
        try (Connection c = DriverManager.getConnection(baton.mysqlUrl("baton_test",
                "sslMode=DISABLED&localSocketAddress=127.0.0.2"), "origin", "origin")) {
            assertEquals("origin@127.0.0.2 on " + cluster.port(1), whoAndWhere(c));
            String adminUrl = "http://127.0.0.1:" + baton.proxy().adminAddress().getPort();
            BatonCommand.Result r = BatonCommand.run("switchover", "db2", "--drain-timeout", "5s", "--url", adminUrl, "--json");
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains("\"sessions_moved\":1,"), r.out());
            assertEquals("origin@127.0.0.2 on " + cluster.port(2), whoAndWhere(c),
                    "the new primary was told the same client when the session moved there");
        }
    }
}
