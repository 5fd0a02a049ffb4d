package dev.baton.it;

import com.mysql.cj.jdbc.JdbcConnection;
import com.mysql.cj.jdbc.exceptions.MySQLQueryInterruptedException;
import com.mysql.cj.jdbc.exceptions.MySQLStatementCancelledException;
import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MySQL Connector/J, the driver Rancher uses, through Baton against a real MariaDB: it must not notice Baton. */
class ConnectorJIT {
    private static LocalMariaDb db;
    private static RunningBaton baton;

    @BeforeAll
    static void start() {
        db = LocalMariaDb.shared();
        db.sql("CREATE DATABASE IF NOT EXISTS cj; "
                + "CREATE TABLE IF NOT EXISTS cj.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100), qty INT) ENGINE=InnoDB; "
                + "CREATE TABLE IF NOT EXISTS cj.blobs (id INT PRIMARY KEY, data LONGBLOB) ENGINE=InnoDB; "
                + "CREATE TABLE IF NOT EXISTS cj.loaded (a INT, b VARCHAR(20)) ENGINE=InnoDB; "
                + "DROP PROCEDURE IF EXISTS cj.two_results;\n"
                + "DELIMITER //\n"
                + "CREATE PROCEDURE cj.two_results() BEGIN SELECT 1 AS first; SELECT 'x' AS second, 2 AS n UNION ALL SELECT 'y', 3; END//\n"
                + "DELIMITER ;\n");
        baton = RunningBaton.inFrontOf(db);
    }

    @AfterAll
    static void stop() {
        if (baton != null) {
            baton.close();
        }
    }

    @AfterEach
    void everySessionEnds() throws InterruptedException {
        baton.awaitNoSessions(Duration.ofSeconds(10));
    }

    private Connection connect(String params) throws SQLException {
        return DriverManager.getConnection(baton.mysqlUrl("cj", "sslMode=DISABLED&allowPublicKeyRetrieval=true" + (params.isEmpty() ? "" : "&" + params)), "app", "app");
    }

    @Test
    void textQueriesReturnWhatTheServerHas() throws SQLException {
        try (Connection c = connect(""); Statement s = c.createStatement()) {
            s.executeUpdate("DELETE FROM items WHERE name LIKE 'text-%'");
            assertEquals(1, s.executeUpdate("INSERT INTO items(name, qty) VALUES ('text-a', 5)"));
            try (ResultSet rs = s.executeQuery("SELECT name, qty, @@port FROM items WHERE name = 'text-a'")) {
                assertTrue(rs.next());
                assertEquals("text-a", rs.getString(1));
                assertEquals(5, rs.getInt(2));
                assertEquals(db.port(), rs.getInt(3), "the query ran on the server behind Baton");
                assertFalse(rs.next());
            }
            try (ResultSet rs = s.executeQuery("SELECT DATABASE(), CURRENT_USER()")) {
                assertTrue(rs.next());
                assertEquals("cj", rs.getString(1));
                assertEquals("app@%", rs.getString(2));
            }
        }
    }

    @Test
    void serverSidePreparedStatementsBindAndReturnValues() throws SQLException {
        try (Connection c = connect("useServerPrepStmts=true&cachePrepStmts=true")) {
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO items(name, qty) VALUES (?, ?)")) {
                for (int i = 0; i < 20; i++) {
                    insert.setString(1, "prep-" + i);
                    insert.setInt(2, i * 10);
                    assertEquals(1, insert.executeUpdate());
                }
            }
            try (PreparedStatement select = c.prepareStatement("SELECT qty, name FROM items WHERE name = ?")) {
                for (int i = 0; i < 20; i += 7) {
                    select.setString(1, "prep-" + i);
                    try (ResultSet rs = select.executeQuery()) {
                        assertTrue(rs.next());
                        assertEquals(i * 10, rs.getInt(1));
                        assertEquals("prep-" + i, rs.getString(2));
                    }
                }
            }
            try (Statement s = c.createStatement()) {
                s.executeUpdate("DELETE FROM items WHERE name LIKE 'prep-%'");
            }
        }
    }

    @Test
    void batchInsertsArriveWholeWithAndWithoutRewriting() throws SQLException {
        for (String params : List.of("rewriteBatchedStatements=false", "rewriteBatchedStatements=true", "useServerPrepStmts=true")) {
            try (Connection c = connect(params)) {
                c.setAutoCommit(false);
                try (PreparedStatement insert = c.prepareStatement("INSERT INTO items(name, qty) VALUES (?, ?)")) {
                    for (int i = 0; i < 500; i++) {
                        insert.setString(1, "batch");
                        insert.setInt(2, i);
                        insert.addBatch();
                    }
                    insert.executeBatch();
                }
                c.commit();
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*), SUM(qty) FROM items WHERE name = 'batch'")) {
                    rs.next();
                    assertEquals(500, rs.getInt(1), params);
                    assertEquals(500 * 499 / 2, rs.getInt(2), params);
                    s.executeUpdate("DELETE FROM items WHERE name = 'batch'");
                }
                c.commit();
            }
        }
    }

    @Test
    void twentyMebibyteBlobRoundTripsIntact() throws Exception {
        byte[] blob = new byte[20 * 1024 * 1024];
        new Random(42).nextBytes(blob);
        try (Connection c = connect("useServerPrepStmts=true")) {
            try (PreparedStatement insert = c.prepareStatement("REPLACE INTO blobs(id, data) VALUES (1, ?)")) {
                insert.setBytes(1, blob);
                insert.executeUpdate();
            }
        }
        for (String params : List.of("useServerPrepStmts=false", "useServerPrepStmts=true")) {
            try (Connection c = connect(params); PreparedStatement select = c.prepareStatement("SELECT data, LENGTH(data), SHA2(data, 256) FROM blobs WHERE id = ?")) {
                select.setInt(1, 1);
                try (ResultSet rs = select.executeQuery()) {
                    assertTrue(rs.next());
                    assertEquals(blob.length, rs.getInt(2));
                    assertEquals(sha256Hex(blob), rs.getString(3), "the server stored exactly what was sent");
                    assertArrayEquals(blob, rs.getBytes(1), "the client read back exactly what was stored (" + params + ")");
                }
            }
        }
    }

    @Test
    void storedProcedureReturnsEveryResultSet() throws SQLException {
        try (Connection c = connect(""); CallableStatement call = c.prepareCall("{CALL two_results()}")) {
            assertTrue(call.execute());
            try (ResultSet rs = call.getResultSet()) {
                assertTrue(rs.next());
                assertEquals(1, rs.getInt("first"));
            }
            assertTrue(call.getMoreResults());
            List<String> second = new ArrayList<>();
            try (ResultSet rs = call.getResultSet()) {
                while (rs.next()) {
                    second.add(rs.getString(1) + rs.getInt(2));
                }
            }
            assertEquals(List.of("x2", "y3"), second);
            assertFalse(call.getMoreResults());
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 'after'")) {
                assertTrue(rs.next(), "the session still works after the multi-result response");
                assertEquals("after", rs.getString(1));
            }
        }
    }

    @Test
    void multiQueriesReturnOneResultPerStatement() throws SQLException {
        try (Connection c = connect("allowMultiQueries=true"); Statement s = c.createStatement()) {
            assertTrue(s.execute("SELECT 1; UPDATE items SET qty = qty WHERE 1 = 0; SELECT 'three'"));
            try (ResultSet rs = s.getResultSet()) {
                assertTrue(rs.next());
                assertEquals(1, rs.getInt(1));
            }
            assertFalse(s.getMoreResults());
            assertEquals(0, s.getUpdateCount());
            assertTrue(s.getMoreResults());
            try (ResultSet rs = s.getResultSet()) {
                assertTrue(rs.next());
                assertEquals("three", rs.getString(1));
            }
        }
    }

    @Test
    void loadDataLocalInfileSendsTheClientsFile() throws Exception {
        Path file = Files.createTempFile("baton-load", ".csv");
        StringBuilder csv = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            csv.append(i).append(",row-").append(i).append('\n');
        }
        Files.writeString(file, csv, StandardCharsets.UTF_8);
        try (Connection c = connect("allowLoadLocalInfile=true"); Statement s = c.createStatement()) {
            s.executeUpdate("DELETE FROM loaded");
            int loaded = s.executeUpdate("LOAD DATA LOCAL INFILE '" + file + "' INTO TABLE loaded FIELDS TERMINATED BY ','");
            assertEquals(5000, loaded);
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*), MAX(a), MAX(b) FROM loaded")) {
                rs.next();
                assertEquals(5000, rs.getInt(1));
                assertEquals(4999, rs.getInt(2));
                assertEquals("row-999", rs.getString(3));
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void pingAnswersOnALiveSession() throws SQLException {
        try (Connection c = connect("")) {
            for (int i = 0; i < 5; i++) {
                assertTrue(c.isValid(2), "COM_PING through Baton");
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("/* ping */ SELECT 1")) {
                assertTrue(rs.next());
            }
        }
    }

    @Test
    void resetConnectionAndChangeUserResetSessionState() throws SQLException {
        try (Connection c = connect("useServerPrepStmts=true")) {
            JdbcConnection cj = c.unwrap(JdbcConnection.class);
            try (Statement s = c.createStatement()) {
                s.execute("SET @marker = 'before'");
            }
            cj.changeUser("app", "app"); // COM_CHANGE_USER
            assertNull(userVariable(c), "COM_CHANGE_USER cleared the session");
            try (Statement s = c.createStatement()) {
                s.execute("SET @marker = 'again'");
            }
            cj.resetServerState(); // COM_RESET_CONNECTION
            assertNull(userVariable(c), "COM_RESET_CONNECTION cleared the session");
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT CURRENT_USER()")) {
                rs.next();
                assertEquals("app@%", rs.getString(1));
            }
        }
    }

    @Test
    void wrongPasswordIsTheServersOwnAccessDenied() {
        SQLException e = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                () -> DriverManager.getConnection(baton.mysqlUrl("cj", "sslMode=DISABLED"), "app", "wrong").close());
        assertEquals(1045, e.getErrorCode());
        assertEquals("28000", e.getSQLState());
        assertTrue(e.getMessage().contains("Access denied for user 'app'"), e.getMessage());
    }

    @Test
    void clientThatRequiresTlsGetsAClearErrorNotAHang() {
        SQLException e = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                () -> DriverManager.getConnection(baton.mysqlUrl("cj", "sslMode=REQUIRED&connectTimeout=5000"), "app", "app").close());
        assertTrue(e.getMessage().toLowerCase().contains("ssl") || e.getMessage().contains("TLS"), e.getMessage());
    }

    @Test
    void queryTimeoutStopsALongQueryAndTheConnectionStaysUsable() throws SQLException {
        try (Connection c = connect(""); Statement s = c.createStatement()) {
            s.setQueryTimeout(1);
            long start = System.nanoTime();
            SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT SLEEP(10)"));
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertInstanceOf(SQLTimeoutException.class, e, "Connector/J's KILL QUERY reached the query: " + e);
            assertTrue(took.compareTo(Duration.ofSeconds(8)) < 0, "the query was stopped, not run to its end: " + took);
            s.setQueryTimeout(0);
            try (ResultSet rs = s.executeQuery("SELECT 'after'")) {
                assertTrue(rs.next(), "the same connection answers the next query");
                assertEquals("after", rs.getString(1));
            }
        }
    }

    @Test
    void cancelFromAnotherThreadInterruptsALongQuery() throws Exception {
        try (Connection c = connect(""); Statement s = c.createStatement()) {
            long server = serverThreadId(c);
            CompletableFuture<Void> canceller = CompletableFuture.runAsync(() -> {
                await("the query runs on the server").atMost(Duration.ofSeconds(5)).until(() -> sleeping(server));
                try {
                    s.cancel();
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            long start = System.nanoTime();
            SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT SLEEP(10)"));
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            canceller.get(10, TimeUnit.SECONDS);
            assertTrue(e instanceof MySQLStatementCancelledException || e instanceof MySQLQueryInterruptedException,
                    "cancel() stopped the query: " + e);
            assertTrue(took.compareTo(Duration.ofSeconds(8)) < 0, "the query was stopped, not run to its end: " + took);
            try (ResultSet rs = s.executeQuery("SELECT 'after'")) {
                assertTrue(rs.next(), "the same connection answers the next query");
            }
        }
    }

    @Test
    void killQueryNamingTheGreetingsConnectionIdStopsThatSessionsQuery() throws Exception {
        try (Connection victim = connect(""); Connection killer = connect(""); Statement s = victim.createStatement()) {
            long greeted = victim.unwrap(JdbcConnection.class).getId();
            long server = serverThreadId(victim);
            assertTrue(greeted >= 3_000_000_000L, "Baton announced an id of its own in its greeting: " + greeted);
            CompletableFuture<Void> kill = CompletableFuture.runAsync(() -> {
                await("the query runs on the server").atMost(Duration.ofSeconds(5)).until(() -> sleeping(server));
                try (Statement k = killer.createStatement()) {
                    k.execute("kill  QUERY\t" + greeted);
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT SLEEP(10)"));
            kill.get(10, TimeUnit.SECONDS);
            assertEquals(1317, e.getErrorCode(), "Query execution was interrupted: " + e.getMessage());
            try (ResultSet rs = s.executeQuery("SELECT 'after'")) {
                assertTrue(rs.next(), "KILL QUERY leaves the connection usable");
            }
        }
    }

    @Test
    void killNamingTheServersConnectionIdStillReachesThatThread() throws Exception {
        try (Connection victim = connect(""); Connection killer = connect(""); Statement s = victim.createStatement()) {
            long server = serverThreadId(victim);
            assertTrue(server < 3_000_000_000L, "CONNECTION_ID() is the server's own thread id: " + server);
            CompletableFuture<Void> kill = CompletableFuture.runAsync(() -> {
                await("the query runs on the server").atMost(Duration.ofSeconds(5)).until(() -> sleeping(server));
                try (Statement k = killer.createStatement()) {
                    k.execute("KILL QUERY " + server);
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT SLEEP(10)"));
            kill.get(10, TimeUnit.SECONDS);
            assertEquals(1317, e.getErrorCode(), "Query execution was interrupted: " + e.getMessage());
            try (Statement k = killer.createStatement()) {
                k.execute("KILL " + server);
            }
            assertThrows(SQLException.class, () -> s.executeQuery("SELECT 1"), "KILL CONNECTION ended that session");
        }
    }

    private static long serverThreadId(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT CONNECTION_ID()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** True while the server thread {@code id} runs a SLEEP (asked as root, straight to the server). */
    private static boolean sleeping(long id) {
        return db.query("SELECT COUNT(*) FROM information_schema.processlist WHERE id = " + id
                + " AND info LIKE 'SELECT SLEEP%'").equals("1");
    }

    private static String userVariable(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @marker")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String sha256Hex(byte[] data) throws Exception {
        StringBuilder hex = new StringBuilder();
        for (byte b : MessageDigest.getInstance("SHA-256").digest(data)) {
            hex.append(String.format("%02x", b));
        }
        return hex.toString();
    }
}
