package dev.baton.it;

import dev.baton.it.fixture.BatonCommand;
import dev.baton.it.fixture.LocalGaleraCluster;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.it.fixture.TestCertificates;
import dev.baton.proxy.config.BatonConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client's TLS ends at Baton, so a session moved to a new writer keeps its TLS connection: the client does not
 * notice the switchover, over TLS as without.
 */
class TlsSessionMoveIT {
    private static LocalGaleraCluster cluster;
    private static TestCertificates certs;
    private static RunningBaton baton;

    @BeforeAll
    static void start() throws Exception {
        certs = TestCertificates.create("tls-moves");
        cluster = LocalGaleraCluster.start("tls-moves", 2, GaleraFailoverIT.EVS);
        cluster.sql(1, "GRANT SELECT ON mysql.global_priv TO 'baton_monitor'@'%'");
        baton = RunningBaton.inFrontOfGalera(cluster, "baton-tls-moves",
                new BatonConfig.ClientTls(certs.serverCert(), certs.serverKey(), null, true, "TLSv1.2"));
        baton.awaitWriter(Duration.ofSeconds(20));
    }

    @AfterAll
    static void stop() {
        if (baton != null) {
            baton.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        if (certs != null) {
            certs.close();
        }
    }

    @Test
    void aTlsSessionMovesToTheNewWriterWithoutItsClientNoticing() throws Exception {
        String writer = baton.writer();
        String other = writer.equals("db1") ? "db2" : "db1";
        String url = "http://127.0.0.1:" + baton.proxy().adminAddress().getPort();
        try (Connection mysql = DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=REQUIRED"), "app", "app");
             Connection mariadb = DriverManager.getConnection(baton.mariadbUrl("baton_test",
                     "sslMode=verify-ca&serverSslCert=" + certs.ca()), "app", "app")) {
            try (Statement s = mysql.createStatement()) {
                s.execute("SET @@session.sql_mode = 'ANSI_QUOTES'");
            }
            BatonCommand.Result r = BatonCommand.run("switchover", other, "--drain-timeout", "5s", "--url", url, "--json");
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains("\"sessions_moved\":2,"), r.out());
            for (Connection c : new Connection[] {mysql, mariadb}) {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@port, @@session.sql_mode")) {
                    assertTrue(rs.next());
                    assertEquals(cluster.port(Integer.parseInt(other.substring(2))), rs.getInt(1), "on the new writer");
                }
            }
            try (Statement s = mysql.createStatement(); ResultSet rs = s.executeQuery("SELECT @@session.sql_mode")) {
                assertTrue(rs.next());
                assertEquals("ANSI_QUOTES", rs.getString(1), "the session's state came along");
            }
        }
    }
}
