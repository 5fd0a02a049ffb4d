package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RawMySqlClient;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.routing.ClientQuota;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No server connection exists for a client until it has sent a handshake response its quota admits, and a user
 * name counts against that user only once the server accepted the login.
 */
class LoginAdmissionIT {
    private static LocalMariaDb db;

    @BeforeAll
    static void start() {
        db = LocalMariaDb.shared();
    }

    private static RunningBaton byUser(int perClient, int maxTotal) {
        return RunningBaton.inFrontOf(db, new ClientQuota.Settings(ClientQuota.Key.USER, perClient, maxTotal, Map.of(),
                Duration.ofMinutes(10)));
    }

    private static Connection login(RunningBaton baton, String user, String password) throws SQLException {
        return DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED"), user, password);
    }

    /** Connections the server has from TCP clients (Baton), logged in or not; the fixture's root uses the socket. */
    private static int serverTcpConnections() {
        return Integer.parseInt(db.query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE HOST LIKE '127.0.0.1:%'").trim());
    }

    private static long abortedConnects() {
        return Long.parseLong(db.query("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                + "WHERE VARIABLE_NAME = 'ABORTED_CONNECTS'").trim());
    }

    @Test
    void silentClientsOpenNoServerConnectionsAndTheUserOverQuotaGetsTooManyConnections() throws Exception {
        List<RawMySqlClient> silent = new ArrayList<>();
        List<Connection> held = new ArrayList<>();
        try (RunningBaton baton = byUser(2, 4)) {
            login(baton, "app", "app").close(); // Baton has seen the server's greeting
            await().atMost(Duration.ofSeconds(10)).until(() -> baton.proxy().activeSessions() == 0);
            int before = serverTcpConnections();
            for (int i = 0; i < 20; i++) {
                RawMySqlClient client = new RawMySqlClient(baton.port(), 5000);
                silent.add(client);
                assertEquals(10, client.read().first(), "greeted by Baton");
            }
            held.add(login(baton, "app", "app"));
            held.add(login(baton, "app", "app"));

            SQLException e = assertThrows(SQLException.class, () -> login(baton, "app", "app").close());
            assertEquals(1040, e.getErrorCode());
            assertEquals("08004", e.getSQLState());
            assertTrue(e.getMessage().startsWith("Too many connections: client app has 2/2 connections"), e.getMessage());
            assertEquals(before + 2, serverTcpConnections(),
                    "only the two logged-in clients have server connections, not the 20 silent ones nor the refused one");
        } finally {
            for (Connection c : held) {
                c.close();
            }
            for (RawMySqlClient c : silent) {
                c.close();
            }
        }
    }

    @Test
    void probesOfTheMySqlPortLeaveNoAbortedConnectsOnTheServer() throws Exception {
        try (RunningBaton baton = RunningBaton.inFrontOf(db)) {
            login(baton, "app", "app").close(); // Baton has seen the server's greeting
            long before = abortedConnects();
            for (int i = 0; i < 200; i++) { // what a load balancer's TCP check does
                try (Socket probe = new Socket()) {
                    probe.connect(new InetSocketAddress("127.0.0.1", baton.port()), 2000);
                }
            }
            Random random = new Random(8);
            for (int i = 0; i < 5; i++) {
                try (Socket probe = new Socket()) {
                    probe.connect(new InetSocketAddress("127.0.0.1", baton.port()), 2000);
                    byte[] garbage = new byte[64];
                    random.nextBytes(garbage);
                    OutputStream out = probe.getOutputStream();
                    out.write(garbage);
                    out.flush();
                }
            }

            try (Connection c = login(baton, "app", "app"); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT 6 * 7")) {
                assertTrue(rs.next());
                assertEquals(42, rs.getInt(1));
            }
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> abortedConnects() == before);
            assertEquals(before, abortedConnects(), "the probes never reached the server");
        }
    }

    @Test
    void aClientClaimingAUserCannotHoldThatUsersSlotsBeforeTheServerAcceptsIt() throws Exception {
        List<RawMySqlClient> claimers = new ArrayList<>();
        List<Connection> held = new ArrayList<>();
        try (RunningBaton baton = byUser(2, 4)) {
            for (int i = 0; i < 2; i++) { // claim 'app' and stall at the server's auth switch
                RawMySqlClient claimer = new RawMySqlClient(baton.port(), 5000);
                claimers.add(claimer);
                RawMySqlClient.Packet greeting = claimer.read();
                claimer.send(1, RawMySqlClient.handshakeResponse(greeting, "app", "not-the-password", "baton_test"));
                assertEquals(0xFE, claimer.read().first(), "the server asks for the account's plugin");
            }
            for (int i = 0; i < 3; i++) { // failed logins give their place back
                SQLException e = assertThrows(SQLException.class, () -> login(baton, "app", "wrong").close());
                assertEquals(1045, e.getErrorCode());
            }

            held.add(login(baton, "app", "app"));
            held.add(login(baton, "app", "app"));

            assertEquals(2, baton.proxy().quota().usageOf("app").connections(), "only accepted logins count for 'app'");
            assertEquals(4, baton.proxy().quota().total(), "clients still logging in count in max-total");
            SQLException full = assertThrows(SQLException.class, () -> login(baton, "app_ed", "app").close());
            assertEquals(1040, full.getErrorCode());
            assertTrue(full.getMessage().startsWith("Too many connections: Baton has 4/4 connections in all"), full.getMessage());
        } finally {
            for (Connection c : held) {
                c.close();
            }
            for (RawMySqlClient c : claimers) {
                c.close();
            }
        }
    }

    @Test
    void everySlotComesBackAfterClaimersVanishAndLoginsFail() throws Exception {
        try (RunningBaton baton = byUser(2, 4)) {
            for (int i = 0; i < 3; i++) {
                try (RawMySqlClient claimer = new RawMySqlClient(baton.port(), 5000)) {
                    claimer.send(1, RawMySqlClient.handshakeResponse(claimer.read(), "app", "x", ""));
                    claimer.read();
                }
                assertThrows(SQLException.class, () -> login(baton, "app", "wrong").close());
            }
            try (Connection c = login(baton, "app", "app")) {
                assertTrue(c.isValid(2));
            }
            baton.awaitNoSessions(Duration.ofSeconds(10));
            assertEquals(0, baton.proxy().quota().total());
            assertEquals(0, baton.proxy().quota().usageOf("app").connections());
        }
    }
}
