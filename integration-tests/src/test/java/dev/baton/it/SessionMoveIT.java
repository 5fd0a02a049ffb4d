package dev.baton.it;

import dev.baton.it.fixture.BatonCommand;
import dev.baton.it.fixture.LocalGaleraCluster;
import dev.baton.it.fixture.RunningBaton;
import org.apache.commons.dbcp2.BasicDataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sessions follow the writer: a pool shaped like Rancher's (commons-dbcp2, no test on borrow, 50 connections, each
 * with its database, {@code SET NAMES utf8mb4} and its own sql_mode) keeps working through switchovers with no error,
 * and every pooled session keeps its state on the new writer. Against real Galera, through two Baton instances' worth
 * of drain machinery on one instance.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SessionMoveIT {
    private static final String SQL_MODE = "ANSI_QUOTES,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION";
    private static LocalGaleraCluster cluster;
    private static RunningBaton baton;

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalGaleraCluster.start("moves", 3, GaleraFailoverIT.EVS);
        cluster.sql(1, "CREATE TABLE IF NOT EXISTS baton_test.pool_writes (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                + "worker INT NOT NULL, note VARCHAR(40)) ENGINE=InnoDB");
        cluster.sql(1, "GRANT SELECT ON mysql.global_priv TO 'baton_monitor'@'%'");
        baton = RunningBaton.inFrontOfGalera(cluster, "baton-moves");
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
    }

    private static String adminUrl() {
        return "http://127.0.0.1:" + baton.proxy().adminAddress().getPort();
    }

    private static long metric(String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " ([0-9.E]+)$").matcher(baton.proxy().scrapeMetrics());
        return m.find() ? (long) Double.parseDouble(m.group(1)) : -1;
    }

    private static BasicDataSource rancherLikePool() {
        BasicDataSource pool = new BasicDataSource();
        pool.setUrl(baton.mysqlUrl("baton_test", "sslMode=DISABLED"));
        pool.setUsername("app");
        pool.setPassword("app");
        pool.setInitialSize(50);
        pool.setMaxTotal(50);
        pool.setMaxIdle(50);
        pool.setTestOnBorrow(false);
        pool.setTestWhileIdle(true);
        pool.setValidationQuery("SELECT 1");
        pool.setDurationBetweenEvictionRuns(Duration.ofSeconds(60));
        pool.setConnectionInitSqls(List.of("SET NAMES utf8mb4", "SET SESSION sql_mode='" + SQL_MODE + "'"));
        return pool;
    }

    @Test
    @Order(1)
    void sysbenchReadWriteRunsThroughThreeSwitchoversWithNoErrorAndNoReconnect() throws Exception {
        assertEquals("db1", baton.writer());
        cluster.sql(1, "DROP DATABASE IF EXISTS sbmoves; CREATE DATABASE sbmoves");
        Process prepare = sysbench("prepare", 4).start();
        assertTrue(prepare.waitFor(120, TimeUnit.SECONDS), "sysbench prepare finished");
        String prepared = new String(prepare.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, prepare.exitValue(), prepared);
        long movedBefore = metric("baton_sessions_moved_total");
        long deadlocksBefore = deadlocks();
        java.io.File output = java.io.File.createTempFile("sysbench-moves", ".txt");
        Process run = sysbench("run", 8).redirectOutput(output).start();
        List<String> reports = new ArrayList<>();
        for (String to : List.of("db2", "db3", "db1")) {
            Thread.sleep(5000); // sysbench runs against the writer for a while between switchovers
            BatonCommand.Result r = BatonCommand.run("switchover", to, "--drain-timeout", "10s", "--url", adminUrl());
            assertEquals(0, r.exit(), r.err());
            reports.add(field(r.out(), "writes unavailable for (\\d+) ms") + " ms");
        }
        assertTrue(run.waitFor(120, TimeUnit.SECONDS), "sysbench run finished");
        String out = java.nio.file.Files.readString(output.toPath());
        assertEquals(0, run.exitValue(), out);
        assertEquals("0", field(out, "reconnects:\\s+(\\d+)"), out);
        // sysbench retries deadlocks ("ignored errors"); every one must be a deadlock a server itself reported.
        assertEquals(String.valueOf(deadlocks() - deadlocksBefore), field(out, "ignored errors:\\s+(\\d+)"), out);
        long moved = metric("baton_sessions_moved_total") - movedBefore;
        assertTrue(moved >= 24, "sysbench's 8 sessions moved at each of 3 switchovers: " + moved + "; " + reports);
        System.out.println("moves | sysbench oltp_read_write, 8 threads, 22 s, 3 switchovers | "
                + field(out, "transactions:\\s+(\\d+)") + " transactions, " + field(out, "ignored errors:\\s+(\\d+)")
                + " ignored errors (deadlocks), 0 reconnects, " + moved + " session moves, writes unavailable "
                + String.join(" / ", reports));
    }

    private static ProcessBuilder sysbench(String action, int threads) {
        return new ProcessBuilder("sysbench", "oltp_read_write", "--db-driver=mysql", "--mysql-host=127.0.0.1",
                "--mysql-port=" + baton.port(), "--mysql-user=app", "--mysql-password=app", "--mysql-db=sbmoves",
                "--tables=4", "--table-size=10000", "--threads=" + threads, "--time=22", "--report-interval=0",
                "--mysql-ssl=off", action).redirectErrorStream(true);
    }

    private static long deadlocks() {
        long sum = 0;
        for (int node = 1; node <= 3; node++) {
            sum += Long.parseLong(cluster.query(node, "SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'").split("\\s+")[1]);
        }
        return sum;
    }

    private static String field(String out, String regex) {
        Matcher m = Pattern.compile(regex).matcher(out);
        assertTrue(m.find(), "no '" + regex + "' in: " + out);
        return m.group(1);
    }

    @Test
    @Order(2)
    void aRancherLikePoolSeesNoErrorThroughASwitchoverAndBackAndEverySessionKeepsItsState() throws Exception {
        assertEquals("db1", baton.writer());
        long movedBefore = metric("baton_sessions_moved_total");
        try (BasicDataSource pool = rancherLikePool()) {
            ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger writes = new AtomicInteger();
            AtomicLong longestWriteNanos = new AtomicLong();
            ExecutorService workers = Executors.newFixedThreadPool(8);
            for (int w = 0; w < 8; w++) {
                int worker = w;
                workers.execute(() -> {
                    while (running.get()) {
                        long began = System.nanoTime();
                        try (Connection c = pool.getConnection()) {
                            try (PreparedStatement insert = c.prepareStatement(
                                    "INSERT INTO pool_writes (worker, note) VALUES (?, 'from the pool')")) {
                                insert.setInt(1, worker);
                                insert.executeUpdate();
                            }
                            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                                    "SELECT COUNT(*) FROM pool_writes WHERE worker = " + worker)) {
                                rs.next();
                            }
                            writes.incrementAndGet();
                            longestWriteNanos.accumulateAndGet(System.nanoTime() - began, Math::max);
                        } catch (SQLException e) {
                            errors.add(e.getSQLState() + " " + e.getMessage());
                        }
                    }
                });
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> writes.get() > 200);
            longestWriteNanos.set(0); // not the pool's start, which opens its 50 connections
            BatonCommand.Result there = BatonCommand.run("switchover", "db2", "--drain-timeout", "10s", "--url", adminUrl(),
                    "--json");
            assertEquals(0, there.exit(), there.err());
            String pauseThere = field(there.out(), "\"writes_unavailable_ms\":(\\d+)");
            int afterFirst = writes.get();
            await().atMost(Duration.ofSeconds(20)).until(() -> writes.get() > afterFirst + 200);
            BatonCommand.Result back = BatonCommand.run("switchover", "db1", "--drain-timeout", "10s", "--url", adminUrl(),
                    "--json");
            assertEquals(0, back.exit(), back.err());
            String pauseBack = field(back.out(), "\"writes_unavailable_ms\":(\\d+)");
            int afterSecond = writes.get();
            await().atMost(Duration.ofSeconds(20)).until(() -> writes.get() > afterSecond + 200);
            running.set(false);
            workers.shutdown();
            assertTrue(workers.awaitTermination(30, TimeUnit.SECONDS));

            assertEquals(List.of(), new ArrayList<>(errors), "the application saw no error");
            BatonCommand.Result events = BatonCommand.run("events", "--url", adminUrl());
            assertTrue(events.out().contains("sessions after the writer change to db2: 50 moved, 0 not moved"), events.out());
            assertTrue(metric("baton_sessions_moved_total") - movedBefore >= 100,
                    "all 50 sessions moved twice: " + metric("baton_sessions_moved_total"));
            System.out.println("moves | dbcp2 pool of 50, 8 workers, switchover there and back | " + writes.get()
                    + " write transactions, 0 errors, " + (metric("baton_sessions_moved_total") - movedBefore)
                    + " session moves, writes unavailable " + pauseThere + " / " + pauseBack + " ms, longest write transaction seen "
                    + TimeUnit.NANOSECONDS.toMillis(longestWriteNanos.get()) + " ms");

            // Every pooled session, borrowed all at once so each physical connection is seen, kept its state.
            List<Connection> all = new ArrayList<>();
            try {
                for (int i = 0; i < 50; i++) {
                    all.add(pool.getConnection());
                }
                for (Connection c : all) {
                    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                            "SELECT @@port, @@sql_mode, @@character_set_client, @@collation_connection, DATABASE()")) {
                        rs.next();
                        assertEquals(cluster.port(1), rs.getInt(1), "on the writer");
                        assertEquals(SQL_MODE, rs.getString(2));
                        assertEquals("utf8mb4", rs.getString(3));
                        assertTrue(rs.getString(4).startsWith("utf8mb4_"), rs.getString(4));
                        assertEquals("baton_test", rs.getString(5));
                    }
                }
            } finally {
                for (Connection c : all) {
                    c.close();
                }
            }
        }
    }

    @Test
    @Order(3)
    void serverPreparedStatementsKeepWorkingAfterAMoveEvenWhereTheNewServersIdsStandFurther() throws Exception {
        String writer = baton.writer();
        String other = writer.equals("db1") ? "db2" : "db1";
        int target = Integer.parseInt(other.substring(2));
        // Connections that prepared statements leave their server threads, with their statement id counters, in the
        // thread cache: the connection a move opens there is likely to start its ids past the session's.
        for (int i = 0; i < 5; i++) {
            try (Connection direct = DriverManager.getConnection("jdbc:mysql://127.0.0.1:" + cluster.port(target)
                    + "/baton_test?sslMode=DISABLED&useServerPrepStmts=true", "app", "app")) {
                for (int j = 0; j < 20; j++) {
                    try (PreparedStatement p = direct.prepareStatement("SELECT ? + " + j)) {
                        p.setInt(1, j);
                        p.executeQuery().close();
                    }
                }
            }
        }
        long movedBefore = metric("baton_sessions_moved_total");
        try (Connection c = DriverManager.getConnection(baton.mysqlUrl("baton_test",
                "sslMode=DISABLED&useServerPrepStmts=true&cachePrepStmts=true"), "app", "app")) {
            PreparedStatement insert = c.prepareStatement("INSERT INTO pool_writes (worker, note) VALUES (?, ?)");
            PreparedStatement count = c.prepareStatement("SELECT COUNT(*), MAX(note) FROM pool_writes WHERE worker = ?");
            insert.setInt(1, 900);
            insert.setString(2, "before the move");
            insert.executeUpdate();
            BatonCommand.Result r = BatonCommand.run("switchover", other, "--drain-timeout", "5s", "--url", adminUrl(), "--json");
            assertEquals(0, r.exit(), r.err());
            assertEquals(movedBefore + 1, metric("baton_sessions_moved_total"), r.out());
            insert.setInt(1, 900);
            insert.setString(2, "after the move");
            insert.executeUpdate(); // the same server-side statement, executed on the new writer
            count.setInt(1, 900);
            try (ResultSet rs = count.executeQuery()) {
                rs.next();
                assertEquals(2, rs.getInt(1));
                assertEquals("before the move", rs.getString(2));
            }
            // A statement prepared after the move, and the earlier ones still working beside it.
            try (PreparedStatement port = c.prepareStatement("SELECT @@port + ?")) {
                port.setInt(1, 0);
                try (ResultSet rs = port.executeQuery()) {
                    rs.next();
                    assertEquals(cluster.port(target), rs.getInt(1), "on the new writer");
                }
            }
            count.setInt(1, 900);
            try (ResultSet rs = count.executeQuery()) {
                rs.next();
                assertEquals(2, rs.getInt(1));
            }
            insert.close();
            count.close();
        }
    }

    @Test
    @Order(4)
    void aSessionThatChangedUserMovesAsItsNewUser() throws Exception {
        cluster.sql(1, "CREATE USER IF NOT EXISTS 'reporter'@'%' IDENTIFIED BY 'reports'; "
                + "GRANT SELECT ON baton_test.* TO 'reporter'@'%'");
        String writer = baton.writer();
        String other = writer.equals("db1") ? "db2" : "db1";
        try (Connection c = DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app")) {
            c.unwrap(com.mysql.cj.jdbc.JdbcConnection.class).changeUser("reporter", "reports"); // COM_CHANGE_USER
            BatonCommand.Result r = BatonCommand.run("switchover", other, "--drain-timeout", "5s", "--url", adminUrl(), "--json");
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains("\"sessions_moved\":1,"), r.out());
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT CURRENT_USER(), @@port")) {
                rs.next();
                assertEquals("reporter@%", rs.getString(1), "logged in again as the user it changed to");
                assertEquals(cluster.port(Integer.parseInt(other.substring(2))), rs.getInt(2));
            }
        }
    }

    @Test
    @Order(5)
    void mariaDbConnectorSessionsMoveWithTheirTimeZoneAndIsolation() throws Exception {
        String writer = baton.writer();
        String other = writer.equals("db1") ? "db2" : "db1";
        try (Connection c = DriverManager.getConnection(baton.mariadbUrl("baton_test", ""), "app", "app")) {
            try (Statement s = c.createStatement()) {
                s.execute("SET time_zone = '+03:00'");
            }
            c.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
            BatonCommand.Result r = BatonCommand.run("switchover", other, "--drain-timeout", "5s", "--url", adminUrl(), "--json");
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains("\"sessions_moved\":1,"), r.out());
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT @@port, @@time_zone, @@tx_isolation, DATABASE()")) {
                rs.next();
                assertEquals(cluster.port(Integer.parseInt(other.substring(2))), rs.getInt(1), "on the new writer");
                assertEquals("+03:00", rs.getString(2));
                assertEquals("SERIALIZABLE", rs.getString(3));
                assertEquals("baton_test", rs.getString(4));
            }
        }
    }

    @Test
    @Order(6)
    void sessionsWithUserVariablesOrLocksAreClosedAndCountedNotTheIdleOnes() throws Exception {
        String writer = baton.writer();
        String other = writer.equals("db1") ? "db2" : "db1";
        long stateChangeBefore = metric("baton_sessions_not_moved_total{reason=\"state_change\"}");
        long userLockBefore = metric("baton_sessions_not_moved_total{reason=\"user_lock\"}");
        try (Connection plain = DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app");
             Connection withVariable = DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app");
             Connection withLock = DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED"), "app", "app")) {
            try (Statement s = withVariable.createStatement()) {
                s.execute("SET @baton_test_variable = 42");
            }
            try (Statement s = withLock.createStatement()) {
                // The lock is taken far past the first 256 bytes of the statement: Baton reads the whole text.
                s.executeQuery("SELECT /* " + "padding ".repeat(60) + "*/ GET_LOCK('baton_test_lock', 0)").close();
            }
            BatonCommand.Result r = BatonCommand.run("switchover", other, "--drain-timeout", "5s", "--url", adminUrl());
            assertEquals(0, r.exit(), r.err());
            try (Statement s = plain.createStatement(); ResultSet rs = s.executeQuery("SELECT @@port")) {
                rs.next();
                assertEquals(cluster.port(Integer.parseInt(other.substring(2))), rs.getInt(1), "the idle session moved");
            }
            SQLException closed = assertThrows(SQLException.class, () -> {
                try (Statement s = withVariable.createStatement()) {
                    s.executeQuery("SELECT @baton_test_variable");
                }
            });
            assertTrue(closed.getSQLState().startsWith("08"), closed.getSQLState() + " " + closed.getMessage());
            assertEquals(stateChangeBefore + 1, metric("baton_sessions_not_moved_total{reason=\"state_change\"}"));
            assertThrows(SQLException.class, () -> withLock.createStatement().executeQuery("SELECT 1"),
                    "the session holding a user lock was closed, not moved without its lock");
            assertEquals(userLockBefore + 1, metric("baton_sessions_not_moved_total{reason=\"user_lock\"}"));
        }
    }

    @Test
    @Order(7)
    void afterTheWriterIsKilledOnlyStatementsInFlightFailAndIdleSessionsMove() throws Exception {
        String writer = baton.writer();
        int killed = Integer.parseInt(writer.substring(2));
        long movedBefore = metric("baton_sessions_moved_total");
        try (BasicDataSource pool = rancherLikePool()) {
            ConcurrentLinkedQueue<SQLException> errors = new ConcurrentLinkedQueue<>();
            java.util.concurrent.ConcurrentHashMap<Integer, AtomicInteger> errorsByWorker = new java.util.concurrent.ConcurrentHashMap<>();
            AtomicLong lastErrorAt = new AtomicLong();
            AtomicLong killedAtRef = new AtomicLong();
            AtomicLong firstWriteAfterKill = new AtomicLong();
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger writes = new AtomicInteger();
            ExecutorService workers = Executors.newFixedThreadPool(8);
            for (int w = 0; w < 8; w++) {
                int worker = w;
                workers.execute(() -> {
                    while (running.get()) {
                        try (Connection c = pool.getConnection(); PreparedStatement insert = c.prepareStatement(
                                "INSERT INTO pool_writes (worker, note) VALUES (?, 'through a failover')")) {
                            insert.setInt(1, worker);
                            long began = System.nanoTime();
                            insert.executeUpdate();
                            writes.incrementAndGet();
                            if (killedAtRef.get() != 0 && began > killedAtRef.get()) {
                                firstWriteAfterKill.compareAndSet(0, System.nanoTime());
                            }
                        } catch (SQLException e) {
                            errors.add(e);
                            errorsByWorker.computeIfAbsent(worker, k -> new AtomicInteger()).incrementAndGet();
                            lastErrorAt.accumulateAndGet(System.nanoTime(), Math::max);
                        }
                    }
                });
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> writes.get() > 200);
            cluster.kill9(killed); // returns once the process is gone
            long killedAt = System.nanoTime();
            killedAtRef.set(killedAt);
            String next = baton.awaitWriterOtherThan(writer, Duration.ofSeconds(20));
            long electedAt = System.nanoTime();
            int afterFailover = writes.get();
            await().atMost(Duration.ofSeconds(20)).until(() -> writes.get() > afterFailover + 200);
            running.set(false);
            workers.shutdown();
            assertTrue(workers.awaitTermination(30, TimeUnit.SECONDS));

            List<String> seen = errors.stream().map(e -> e.getSQLState() + " " + e.getMessage()).toList();
            // A statement fails only if it was on its way to the writer as it died, never once a new writer is known.
            // One sent just after, before Baton read that connection's end, is held while the other connections to the
            // dying writer end too, and moved with its session.
            assertTrue(errorsByWorker.values().stream().allMatch(n -> n.get() <= 1),
                    "a worker loses at most the statement it had in flight at the kill: " + errorsByWorker);
            assertTrue(lastErrorAt.get() < electedAt, "no statement fails after the new writer is known: " + seen);
            assertTrue(errors.stream().allMatch(e -> e.getSQLState() != null && e.getSQLState().startsWith("08")),
                    "only lost connections: " + seen);
            long moved = metric("baton_sessions_moved_total") - movedBefore;
            assertTrue(moved >= 50 - errors.size(), "every session without a statement in flight moved: " + moved);
            try (Connection c = pool.getConnection(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT @@port, @@sql_mode")) {
                rs.next();
                assertEquals(cluster.port(Integer.parseInt(next.substring(2))), rs.getInt(1));
                assertEquals(SQL_MODE, rs.getString(2));
            }
            System.out.println("moves | dbcp2 pool of 50, 8 workers, kill -9 of the writer | " + errors.size()
                    + " statements failed (in flight as it died), " + moved + " sessions moved, first write begun after the process died done "
                    + TimeUnit.NANOSECONDS.toMillis(firstWriteAfterKill.get() - killedAt) + " ms after the kill");
        }
    }
}
