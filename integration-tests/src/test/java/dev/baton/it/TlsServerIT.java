package dev.baton.it;

import dev.baton.it.fixture.BatonCommand;
import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.LocalReplicationCluster;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.it.fixture.TestCertificates;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.HostPort;
import dev.baton.routing.ServerTls;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Baton opens TLS to the database servers (cluster.tls), whether its clients connect in the clear or over TLS of
 * their own: a server that requires secure transport, accounts that REQUIRE SSL or X509, certificates Baton must
 * refuse, and a session moved to a new primary over TLS. One server serves whichever certificate a test installs (copied over the files its
 * my.cnf names, then FLUSH SSL).
 */
class TlsServerIT {
    private static final String SSL_VERSION =
            "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME='Ssl_version'";

    private static TestCertificates certs;
    private static LocalMariaDb db;
    private static Path liveCert;
    private static Path liveKey;

    @BeforeAll
    static void start() throws Exception {
        certs = TestCertificates.create("tls-server");
        liveCert = certs.dir().resolve("live.pem");
        liveKey = certs.dir().resolve("live.key");
        install(certs.serverCert(), certs.serverKey());
        db = LocalMariaDb.start("tls-server", List.of("ssl_ca=" + certs.ca(), "ssl_cert=" + liveCert,
                "ssl_key=" + liveKey, "require_secure_transport=ON"));
        db.sql("CREATE USER 'secure'@'%' IDENTIFIED BY 'x' REQUIRE SSL;"
                + " CREATE USER 'holder'@'%' IDENTIFIED BY 'x' REQUIRE X509;"
                + " GRANT SELECT ON *.* TO 'secure'@'%', 'holder'@'%'");
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[]{db, certs}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    System.err.println("closing " + c + ": " + e);
                }
            }
        }
    }

    /** The server presents {@code cert} to new connections from now on. */
    private static void serve(Path cert, Path key) throws Exception {
        install(cert, key);
        db.sql("FLUSH SSL");
    }

    /** Copies a certificate and its key to the files the server's my.cnf names, readable by its user (a test key). */
    private static void install(Path cert, Path key) throws Exception {
        Files.copy(cert, liveCert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(key, liveKey, StandardCopyOption.REPLACE_EXISTING);
        for (Path p : List.of(liveCert, liveKey)) {
            Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    private static RunningBaton baton(ServerTls tls) {
        BatonConfig base = RunningBaton.single(new HostPort(db.host(), db.port()));
        ClusterSpec spec = base.cluster();
        return RunningBaton.start(base.withCluster(base.clusterType(), spec.withTls(tls)));
    }

    private static ServerTls verifyCa() {
        return new ServerTls(ServerTls.Mode.VERIFY_CA, certs.ca(), null, null);
    }

    private static Connection plainClient(RunningBaton baton, String user, String password) throws SQLException {
        return DriverManager.getConnection(baton.mysqlUrl("", "sslMode=DISABLED"), user, password);
    }

    private static String sslVersion(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(SSL_VERSION)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Sends a 200 KB query, larger than any packet of the login. */
    private static int lengthOfALongLiteral(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT LENGTH('" + "x".repeat(200_000) + "')")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void aPlainClientReachesAServerThatRequiresSecureTransportThroughBatonsVerifiedTls() throws Exception {
        serve(certs.serverCert(), certs.serverKey());
        try (RunningBaton baton = baton(verifyCa()); Connection c = plainClient(baton, "app", "app")) {
            assertTrue(sslVersion(c).startsWith("TLSv1."), "the server leg is TLS: " + sslVersion(c));
            assertEquals(200_000, lengthOfALongLiteral(c), "a query larger than any login packet goes through");
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT CURRENT_USER()")) {
                rs.next();
                assertEquals("app@%", rs.getString(1));
            }
        }
    }

    @Test
    void tlsOnBothLegsCarriesEveryDriversLoginAndLargeQueriesWhateverEachLegNumbers() throws Exception {
        serve(certs.serverCert(), certs.serverKey());
        BatonConfig.ClientTls clientLeg = new BatonConfig.ClientTls(certs.serverCert(), certs.serverKey(), null, false, "TLSv1.2");
        BatonConfig base = RunningBaton.single(new HostPort(db.host(), db.port()));
        try (RunningBaton baton = RunningBaton.start(base.withCluster(base.clusterType(), base.cluster().withTls(verifyCa()))
                .withTls(clientLeg))) {
            // The mariadb CLI verifying Baton's certificate; Baton verifying the server's (both legs send their handshake
            // response at sequence id 2).
            Process p = new ProcessBuilder("mariadb", "--no-defaults", "-h127.0.0.1", "-P" + baton.port(), "-uapp", "-papp",
                    "--ssl-verify-server-cert", "--ssl-ca=" + certs.ca(), "-N", "-B", "-e",
                    "status; " + SSL_VERSION).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.matches("(?s).*SSL:\\s+Cipher in use is \\S+.*"), "the client's leg is TLS: " + out);
            assertTrue(out.matches("(?s).*\\nTLSv1\\.[23]\\s*$"), "the server's leg is TLS: " + out);

            // MariaDB Connector/J over TLS with ed25519; Connector/J over TLS and in the clear (offsets 0 and +1).
            try (Connection c = DriverManager.getConnection(baton.mariadbUrl("", "sslMode=trust"), "app_ed", "app")) {
                assertTrue(sslVersion(c).startsWith("TLSv1."));
                assertEquals(200_000, lengthOfALongLiteral(c));
            }
            try (Connection c = DriverManager.getConnection(baton.mysqlUrl("", "sslMode=REQUIRED"), "secure", "x")) {
                assertTrue(sslVersion(c).startsWith("TLSv1."), "a REQUIRE SSL account over two TLS legs");
                assertEquals(200_000, lengthOfALongLiteral(c));
            }
            try (Connection c = plainClient(baton, "app", "app")) {
                assertTrue(sslVersion(c).startsWith("TLSv1."));
            }
            // A wrong password over both legs is the server's own refusal, numbered as the client expects.
            SQLException refused = assertThrows(SQLException.class, () -> DriverManager.getConnection(
                    baton.mysqlUrl("", "sslMode=REQUIRED"), "app", "wrong").close());
            assertEquals(1045, refused.getErrorCode(), refused.getMessage());
            baton.awaitNoSessions(Duration.ofSeconds(10));
        }
    }

    @Test
    void aTlsClientReachesAPlainServerThroughBaton() throws Exception {
        LocalMariaDb plain = LocalMariaDb.shared();
        BatonConfig.ClientTls clientLeg = new BatonConfig.ClientTls(certs.serverCert(), certs.serverKey(), null, false,
                "TLSv1.2");
        try (RunningBaton baton = RunningBaton.start(RunningBaton.single(new HostPort(plain.host(), plain.port()))
                .withTls(clientLeg));
             Connection c = DriverManager.getConnection(baton.mysqlUrl("", "sslMode=REQUIRED"), "app", "app")) {
            assertEquals("", sslVersion(c), "the server's leg is plain");
            assertEquals(200_000, lengthOfALongLiteral(c), "the client's leg (offset -1 during the login) relays");
            SQLException refused = assertThrows(SQLException.class, () -> DriverManager.getConnection(
                    baton.mysqlUrl("", "sslMode=REQUIRED"), "app", "wrong").close());
            assertEquals(1045, refused.getErrorCode(), refused.getMessage());
        }
    }

    @Test
    void withTlsDisabledTheClientHearsTheServersOwnRefusalOfInsecureTransport() throws Exception {
        serve(certs.serverCert(), certs.serverKey());
        SQLException direct = assertThrows(SQLException.class, () -> DriverManager.getConnection(db.jdbcUrl("")
                + "?sslMode=DISABLED", "app", "app").close());
        try (RunningBaton baton = baton(ServerTls.DISABLED)) {
            SQLException e = assertThrows(SQLException.class, () -> plainClient(baton, "app", "app").close());
            System.out.println("tls | server leg plain, require_secure_transport=ON | " + e.getErrorCode() + " "
                    + e.getMessage());
            assertEquals(direct.getErrorCode(), e.getErrorCode(), e.getMessage());
            assertEquals(direct.getMessage(), e.getMessage());
        }
    }

    @Test
    void anAccountThatRequiresSslLogsInOverBatonsTlsAndPreferredModeUsesTlsWhenOffered() throws Exception {
        serve(certs.serverCert(), certs.serverKey());
        try (RunningBaton baton = baton(new ServerTls(ServerTls.Mode.PREFERRED, null, null, null));
             Connection c = plainClient(baton, "secure", "x")) {
            assertTrue(sslVersion(c).startsWith("TLSv1."), sslVersion(c));
        }
    }

    @Test
    void anAccountThatRequiresX509LogsInWithBatonsClientCertificateAndIsRefusedWithout() throws Exception {
        serve(certs.serverCert(), certs.serverKey());
        try (RunningBaton baton = baton(new ServerTls(ServerTls.Mode.VERIFY_CA, certs.ca(), certs.clientCert(),
                certs.clientKey())); Connection c = plainClient(baton, "holder", "x")) {
            assertTrue(sslVersion(c).startsWith("TLSv1."), sslVersion(c));
        }
        try (RunningBaton baton = baton(verifyCa())) {
            SQLException e = assertThrows(SQLException.class, () -> plainClient(baton, "holder", "x").close());
            assertEquals(1045, e.getErrorCode(), e.getMessage());
        }
    }

    @Test
    void aCertificateFromAnotherCaIsRefusedUnderVerifyCaWithAnErrorNamingTls() throws Exception {
        serve(certs.strangerCert(), certs.strangerKey());
        try (RunningBaton baton = baton(verifyCa())) {
            SQLException e = assertThrows(SQLException.class, () -> plainClient(baton, "app", "app").close());
            assertTrue(e.getMessage().contains("TLS to writer db1 (127.0.0.1:" + db.port() + ") failed: certificate is not "
                    + "signed by a CA in cluster.tls.ca"), e.getMessage());
        }
        try (RunningBaton baton = baton(new ServerTls(ServerTls.Mode.REQUIRED, null, null, null));
             Connection c = plainClient(baton, "app", "app")) {
            assertTrue(sslVersion(c).startsWith("TLSv1."), "required encrypts without verifying: " + sslVersion(c));
        }
    }

    @Test
    void aCertificateForAnotherNameIsRefusedUnderVerifyIdentityAndAcceptedUnderVerifyCa() throws Exception {
        serve(certs.wrongNameCert(), certs.wrongNameKey());
        try (RunningBaton baton = baton(new ServerTls(ServerTls.Mode.VERIFY_IDENTITY, certs.ca(), null, null))) {
            SQLException e = assertThrows(SQLException.class, () -> plainClient(baton, "app", "app").close());
            assertTrue(e.getMessage().contains("TLS to writer db1") && e.getMessage().contains("certificate does not name "
                    + "the node"), e.getMessage());
        }
        try (RunningBaton baton = baton(verifyCa()); Connection c = plainClient(baton, "app", "app")) {
            assertTrue(sslVersion(c).startsWith("TLSv1."), sslVersion(c));
        }
    }

    @Test
    void theRightNameIsAcceptedUnderVerifyIdentity() throws Exception {
        serve(certs.serverCert(), certs.serverKey());
        try (RunningBaton baton = baton(new ServerTls(ServerTls.Mode.VERIFY_IDENTITY, certs.ca(), null, null));
             Connection c = plainClient(baton, "app", "app")) {
            assertTrue(sslVersion(c).startsWith("TLSv1."), sslVersion(c));
        }
    }

    @Test
    void anExpiredCertificateIsRefusedUnderVerifyCa() throws Exception {
        serve(certs.expiredCert(), certs.expiredKey());
        try (RunningBaton baton = baton(verifyCa())) {
            SQLException e = assertThrows(SQLException.class, () -> plainClient(baton, "app", "app").close());
            assertTrue(e.getMessage().contains("TLS to writer db1") && e.getMessage().contains("certificate is not valid now"),
                    e.getMessage());
        }
    }

    @Test
    void mariadbConnectorJAndTheMariadbClientLogInWithEd25519OverBatonsTls() throws Exception {
        serve(certs.serverCert(), certs.serverKey());
        try (RunningBaton baton = baton(verifyCa())) {
            try (Connection c = DriverManager.getConnection(baton.mariadbUrl("", ""), "app_ed", "app")) {
                assertTrue(sslVersion(c).startsWith("TLSv1."), sslVersion(c));
            }
            Process p = new ProcessBuilder("mariadb", "-h127.0.0.1", "-P" + baton.port(), "--skip-ssl", "--batch", "-N",
                    "-uapp_ed", "-papp", "-e", SSL_VERSION).redirectErrorStream(true).start();
            p.getOutputStream().close();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "mariadb client finished");
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.startsWith("TLSv1."), out);
        }
    }

    @Test
    void aRequiredModeRefusesAServerWithoutTlsAndPreferredFallsBackToPlain() throws Exception {
        try (LocalMariaDb plain = LocalMariaDb.start("tls-none", List.of("skip_ssl"))) {
            BatonConfig base = RunningBaton.single(new HostPort(plain.host(), plain.port()));
            ClusterSpec spec = base.cluster();
            for (ServerTls.Mode mode : List.of(ServerTls.Mode.REQUIRED, ServerTls.Mode.PREFERRED)) {
                try (RunningBaton baton = RunningBaton.start(base.withCluster(base.clusterType(), spec.withTls(
                        new ServerTls(mode, null, null, null))))) {
                    if (mode == ServerTls.Mode.REQUIRED) {
                        SQLException e = assertThrows(SQLException.class, () -> plainClient(baton, "app", "app").close());
                        assertTrue(e.getMessage().contains("does not offer TLS, which cluster.tls.mode required requires"),
                                e.getMessage());
                    } else {
                        try (Connection c = plainClient(baton, "app", "app")) {
                            assertEquals("", sslVersion(c), "plain, as the server offers no TLS");
                        }
                    }
                }
            }
        }
    }

    /**
     * Two nodes whose monitor account REQUIRE SSL: the monitor elects a writer only over TLS; a switchover moves an
     * idle session (AccountHashes reads the hashes over TLS, SessionMove logs in over TLS) and its next query answers
     * on the new primary, still over TLS.
     */
    @Test
    void anIdleSessionMovesToTheNewPrimaryOverTlsAndTheMonitorChecksOverTls() throws Exception {
        try (LocalReplicationCluster cluster = LocalReplicationCluster.start("tls-moves", 2, false,
                List.of("ssl_ca=" + certs.ca(), "ssl_cert=" + certs.serverCert(), "ssl_key=" + certs.serverKey()))) {
            cluster.sql(1, "GRANT SELECT ON mysql.global_priv TO 'baton_monitor'@'%';"
                    + " ALTER USER 'baton_monitor'@'%' REQUIRE SSL; ALTER USER 'app'@'%' REQUIRE SSL");
            cluster.awaitReplicasCaughtUp();
            BatonConfig base = RunningBaton.replication(cluster, "baton-tls", Map.of(), true);
            ClusterSpec spec = base.cluster();
            BatonConfig config = base.withCluster(base.clusterType(),
                    spec.withTls(new ServerTls(ServerTls.Mode.VERIFY_IDENTITY, certs.ca(), null, null)));
            try (RunningBaton baton = RunningBaton.start(config)) {
                assertEquals("db1", baton.awaitWriter(Duration.ofSeconds(30)), "the monitor checks over TLS");
                try (Connection c = plainClient(baton, "app", "app"); Statement s = c.createStatement()) {
                    s.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE'");
                    assertTrue(sslVersion(c).startsWith("TLSv1."), sslVersion(c));
                    assertEquals(200_000, lengthOfALongLiteral(c), "a movable session reads whole packets of any size");
                    String admin = "http://127.0.0.1:" + baton.proxy().adminAddress().getPort();
                    BatonCommand.Result r = BatonCommand.run("switchover", "db2", "--drain-timeout", "5s", "--url", admin,
                            "--json");
                    assertEquals(0, r.exit(), r.err());
                    assertTrue(r.out().contains("\"sessions_moved\":1,"), r.out());
                    try (ResultSet rs = s.executeQuery("SELECT @@port, @@sql_mode, (" + SSL_VERSION + ")")) {
                        rs.next();
                        assertEquals(cluster.port(2), rs.getInt(1), "the session is on db2");
                        assertEquals("STRICT_ALL_TABLES,NO_ZERO_DATE", rs.getString(2), "the session kept its state");
                        assertTrue(rs.getString(3).startsWith("TLSv1."), rs.getString(3));
                    }
                }
            }
        }
    }
}
