package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** sysbench's OLTP read/write mix (libmariadb, prepared statements, transactions) through Baton, with no errors. */
class SysbenchIT {
    private static LocalMariaDb db;
    private static RunningBaton baton;

    @BeforeAll
    static void start() throws Exception {
        db = LocalMariaDb.shared();
        db.sql("DROP DATABASE IF EXISTS sbit; CREATE DATABASE sbit");
        baton = RunningBaton.inFrontOf(db);
        String prepare = sysbench("prepare", db.port(), 4);
        assertTrue(prepare.contains("Inserting 10000 records"), prepare);
    }

    @AfterAll
    static void stop() {
        baton.close();
    }

    @Test
    void oltpReadWriteForTenSecondsHasNoErrors() throws Exception {
        long deadlocksBefore = serverDeadlocks();
        String out = sysbench("run", baton.port(), 4);
        // sysbench retries deadlocks ("ignored errors"); every one must be a deadlock the server itself reported.
        long deadlocks = serverDeadlocks() - deadlocksBefore;
        assertEquals(String.valueOf(deadlocks), field(out, "ignored errors:\\s+(\\d+)"), out);
        assertEquals("0", field(out, "reconnects:\\s+(\\d+)"), out);
        long transactions = Long.parseLong(field(out, "transactions:\\s+(\\d+)"));
        assertTrue(transactions > 100, "only " + transactions + " transactions in 10 s: " + out);
        System.out.println("sysbench oltp_read_write through Baton: " + transactions + " transactions in 10 s");
    }

    private static String sysbench(String action, int port, int threads) throws Exception {
        List<String> command = new ArrayList<>(List.of("sysbench", "oltp_read_write", "--db-driver=mysql",
                "--mysql-host=127.0.0.1", "--mysql-port=" + port, "--mysql-user=app", "--mysql-password=app",
                "--mysql-db=sbit", "--tables=4", "--table-size=10000", "--threads=" + threads, "--time=10",
                "--report-interval=0", "--mysql-ssl=off", action));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "sysbench finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    private static long serverDeadlocks() {
        return Long.parseLong(db.query("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'").split("\\s+")[1]);
    }

    private static String field(String out, String regex) {
        Matcher m = Pattern.compile(regex).matcher(out);
        assertTrue(m.find(), "no '" + regex + "' in: " + out);
        return m.group(1);
    }
}
