package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code mariadb} command-line client (libmariadb) through Baton, as an operator would use it. */
class MariaDbCliIT {
    private static RunningBaton baton;

    @BeforeAll
    static void start() {
        LocalMariaDb db = LocalMariaDb.shared();
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
}
