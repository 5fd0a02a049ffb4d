package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MariaDB Connector/J through Baton. It pipelines commands, uses COM_STMT_BULK_EXECUTE and the ed25519 plugin
 * (an auth switch), so it exercises paths MySQL Connector/J does not.
 */
class MariaDbConnectorIT {
    private static LocalMariaDb db;
    private static RunningBaton baton;

    @BeforeAll
    static void start() {
        db = LocalMariaDb.shared();
        db.sql("CREATE DATABASE IF NOT EXISTS mdb; CREATE TABLE IF NOT EXISTS mdb.kv (k INT PRIMARY KEY, v VARCHAR(64), b MEDIUMBLOB) ENGINE=InnoDB");
        baton = RunningBaton.inFrontOf(db);
    }

    @AfterAll
    static void stop() {
        baton.close();
    }

    @AfterEach
    void everySessionEnds() throws InterruptedException {
        baton.awaitNoSessions(Duration.ofSeconds(10));
    }

    @Test
    void ed25519UserLogsInThroughAnAuthSwitch() throws SQLException {
        try (Connection c = DriverManager.getConnection(baton.mariadbUrl("mdb", ""), "app_ed", "app");
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT CURRENT_USER(), DATABASE()")) {
            assertTrue(rs.next());
            assertEquals("app_ed@%", rs.getString(1));
            assertEquals("mdb", rs.getString(2));
        }
    }

    @Test
    void bulkBatchAndPipelinedPreparedStatementsStoreEveryRow() throws SQLException {
        try (Connection c = DriverManager.getConnection(baton.mariadbUrl("mdb", "useBulkStmts=true&useServerPrepStmts=true"), "app", "app")) {
            try (Statement s = c.createStatement()) {
                s.executeUpdate("DELETE FROM kv");
            }
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO kv(k, v) VALUES (?, ?)")) {
                for (int i = 0; i < 1000; i++) {
                    insert.setInt(1, i);
                    insert.setString(2, "v" + i);
                    insert.addBatch();
                }
                int[] counts = insert.executeBatch();
                assertEquals(1000, counts.length);
            }
            try (PreparedStatement select = c.prepareStatement("SELECT v FROM kv WHERE k = ?")) {
                for (int k : new int[]{0, 499, 999}) {
                    select.setInt(1, k);
                    try (ResultSet rs = select.executeQuery()) {
                        assertTrue(rs.next());
                        assertEquals("v" + k, rs.getString(1));
                    }
                }
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM kv")) {
                rs.next();
                assertEquals(1000, rs.getInt(1));
            }
        }
    }

    @Test
    void transactionsCommitAndRollBackAsAsked() throws SQLException {
        try (Connection c = DriverManager.getConnection(baton.mariadbUrl("mdb", ""), "app", "app")) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.executeUpdate("REPLACE INTO kv(k, v) VALUES (-1, 'kept')");
                c.commit();
                s.executeUpdate("REPLACE INTO kv(k, v) VALUES (-2, 'dropped')");
                c.rollback();
                try (ResultSet rs = s.executeQuery("SELECT GROUP_CONCAT(v ORDER BY k) FROM kv WHERE k < 0")) {
                    rs.next();
                    assertEquals("kept", rs.getString(1));
                }
            }
        }
    }

    @Test
    void fourMebibyteBlobRoundTripsThroughBinaryProtocol() throws SQLException {
        byte[] blob = new byte[4 * 1024 * 1024 + 17];
        new Random(3).nextBytes(blob);
        try (Connection c = DriverManager.getConnection(baton.mariadbUrl("mdb", "useServerPrepStmts=true"), "app", "app")) {
            try (PreparedStatement p = c.prepareStatement("REPLACE INTO kv(k, v, b) VALUES (-3, 'blob', ?)")) {
                p.setBytes(1, blob);
                p.executeUpdate();
            }
            try (PreparedStatement p = c.prepareStatement("SELECT b FROM kv WHERE k = ?")) {
                p.setInt(1, -3);
                try (ResultSet rs = p.executeQuery()) {
                    assertTrue(rs.next());
                    byte[] read = rs.getBytes(1);
                    assertEquals(blob.length, read.length);
                    assertArrayEquals(blob, read, "bytes differ from index " + Arrays.mismatch(blob, read));
                }
            }
        }
    }

    @Test
    void cancelFromAnotherThreadInterruptsALongQuery() throws Exception {
        try (Connection c = DriverManager.getConnection(baton.mariadbUrl("mdb", ""), "app", "app"); Statement s = c.createStatement()) {
            long server;
            try (ResultSet rs = s.executeQuery("SELECT CONNECTION_ID()")) {
                rs.next();
                server = rs.getLong(1);
            }
            CompletableFuture<Void> canceller = CompletableFuture.runAsync(() -> {
                await("the query runs on the server").atMost(Duration.ofSeconds(5)).until(() -> db.query(
                        "SELECT COUNT(*) FROM information_schema.processlist WHERE id = " + server + " AND info LIKE 'SELECT SLEEP%'").equals("1"));
                try {
                    s.cancel(); // a second connection to Baton sends KILL QUERY with the id from Baton's greeting
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            long start = System.nanoTime();
            SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT SLEEP(10)"));
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            canceller.get(10, TimeUnit.SECONDS);
            assertEquals(1317, e.getErrorCode(), "Query execution was interrupted: " + e.getMessage());
            assertTrue(took.compareTo(Duration.ofSeconds(8)) < 0, "the query was stopped, not run to its end: " + took);
            try (ResultSet rs = s.executeQuery("SELECT 'after'")) {
                assertTrue(rs.next(), "the same connection answers the next query");
            }
        }
    }
}
