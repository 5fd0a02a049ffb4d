package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code mariadb} command-line client (libmariadb) through Baton, as an operator would use it. */
class MariaDbCliIT {
    private static LocalMariaDb db;
    private static RunningBaton baton;

    @BeforeAll
    static void start() {
        db = LocalMariaDb.shared();
        db.sql("CREATE DATABASE IF NOT EXISTS cli");
        baton = RunningBaton.inFrontOf(db);
    }

    @AfterAll
    static void stop() {
        baton.close();
    }

    private record Result(int exit, String output) {
    }

    private Result mariadb(String stdin, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("mariadb", "-h127.0.0.1", "-P" + baton.port(), "--skip-ssl", "--batch"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "mariadb client finished");
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void scriptOfStatementsRunsAndPrintsResults() throws Exception {
        Result r = mariadb("""
                USE cli;
                DROP TABLE IF EXISTS notes;
                CREATE TABLE notes (id INT PRIMARY KEY, body TEXT) ENGINE=InnoDB;
                INSERT INTO notes VALUES (1, 'first'), (2, 'second');
                BEGIN;
                UPDATE notes SET body = 'changed' WHERE id = 2;
                COMMIT;
                SELECT id, body FROM notes ORDER BY id;
                SELECT DATABASE();
                """, "-uapp", "-papp");
        assertEquals(0, r.exit(), r.output());
        assertEquals("id\tbody\n1\tfirst\n2\tchanged\nDATABASE()\ncli\n", r.output());
    }

    @Test
    void ed25519UserLogsIn() throws Exception {
        Result r = mariadb(null, "-uapp_ed", "-papp", "-N", "-e", "SELECT CURRENT_USER()");
        assertEquals(0, r.exit(), r.output());
        assertEquals("app_ed@%\n", r.output());
    }

    @Test
    void wrongPasswordShowsTheServersError() throws Exception {
        Result r = mariadb(null, "-uapp", "-pnot-it", "-e", "SELECT 1");
        assertEquals(1, r.exit());
        assertTrue(r.output().contains("ERROR 1045 (28000): Access denied for user 'app'@'127.0.0.1'"), r.output());
    }

    @Test
    void sqlErrorsAreTheServersAndTheSessionGoesOn() throws Exception {
        Result r = mariadb("SELECT * FROM cli.no_such_table;\nSELECT 'still here';\n", "-uapp", "-papp", "--force");
        assertTrue(r.output().contains("ERROR 1146 (42S02) at line 1: Table 'cli.no_such_table' doesn't exist"), r.output());
        assertTrue(r.output().contains("still here\nstill here\n"), "the next statement ran on the same session: " + r.output());
    }

    @Test
    void requiringTlsFailsClearlyInsteadOfHanging() throws Exception {
        List<String> command = List.of("mariadb", "-h127.0.0.1", "-P" + baton.port(), "-uapp", "-papp", "--ssl-verify-server-cert", "-e", "SELECT 1");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the client gave up instead of hanging");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("SSL"), out);
    }

    @Test
    void ctrlCStopsTheRunningQueryThroughASecondConnection() throws Exception {
        List<String> command = List.of("mariadb", "-h127.0.0.1", "-P" + baton.port(), "--skip-ssl", "-uapp", "-papp",
                "-e", "SELECT SLEEP(10); SELECT 'still here';");
        long start = System.nanoTime();
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        await("the query runs on the server").atMost(Duration.ofSeconds(10)).until(() -> db.query(
                "SELECT COUNT(*) FROM information_schema.processlist WHERE info = 'SELECT SLEEP(10)'").equals("1"));
        assertEquals(0, new ProcessBuilder("kill", "-INT", String.valueOf(p.pid())).start().waitFor(), "sent Ctrl-C");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "mariadb client finished");
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(out.contains("Ctrl-C -- query killed"), out);
        assertTrue(out.contains("ERROR 1317 (70100) at line 1: Query execution was interrupted"),
                "the client's KILL QUERY, sent to Baton with the id from Baton's greeting, reached the query: " + out);
        assertTrue(took.compareTo(Duration.ofSeconds(8)) < 0, "the query was stopped, not run to its end: " + took);
    }
}
