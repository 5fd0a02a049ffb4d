package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RawMySqlClient;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.routing.HostPort;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Garbage, truncation, stalls and mutated packets: each bad connection is closed (with an ERR where the protocol
 * allows), nothing leaks, and a well-behaved session beside them keeps working.
 */
class BadInputIT {
    private static final Duration HANDSHAKE_TIMEOUT = Duration.ofMillis(1500);
    private static LocalMariaDb db;
    private static RunningBaton baton;
    private static Connection bystander;

    @BeforeAll
    static void start() throws SQLException {
        db = LocalMariaDb.shared();
        // A user that can do no harm whatever the fuzzer makes of its commands (no SHUTDOWN, no KILL of others).
        db.sql("CREATE DATABASE IF NOT EXISTS fuzzdb; CREATE TABLE IF NOT EXISTS fuzzdb.t (a INT) ENGINE=InnoDB; "
                + "CREATE USER IF NOT EXISTS 'fuzz'@'%' IDENTIFIED BY 'fuzz'; GRANT SELECT ON fuzzdb.* TO 'fuzz'@'%'");
        baton = RunningBaton.inFrontOf(new HostPort(db.host(), db.port()), Duration.ofSeconds(3), HANDSHAKE_TIMEOUT);
        bystander = DriverManager.getConnection(baton.mysqlUrl("fuzzdb", "sslMode=DISABLED"), "app", "app");
    }

    @AfterAll
    static void stop() throws SQLException {
        if (bystander != null) {
            bystander.close();
        }
        if (baton != null) {
            baton.close();
        }
    }

    @AfterEach
    void bystanderStillWorksAndBadSessionsAreGone() throws Exception {
        try (Statement s = bystander.createStatement(); ResultSet rs = s.executeQuery("SELECT 42")) {
            assertTrue(rs.next());
            assertEquals(42, rs.getInt(1), "the well-behaved session is unaffected");
        }
        await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertEquals(1, baton.proxy().activeSessions(), "only the bystander's session is left"));
        awaitServerSessionsOf("fuzz", 0);
    }

    @Test
    void garbageBeforeTheHandshakeGetsBadHandshake() throws IOException {
        try (RawMySqlClient client = new RawMySqlClient(baton.port(), 5000)) {
            client.writeRaw("GET / HTTP/1.1\r\nHost: baton\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            RawMySqlClient.Packet greeting = client.read();
            assertEquals(10, greeting.first(), "Baton greets first, as a server does");
            RawMySqlClient.Packet err = client.read();
            assertTrue(err.isErr());
            assertEquals(1043, err.errorCode());
            assertTrue(err.errorMessage().startsWith("Bad handshake: packet of "), err.errorMessage());
            assertTrue(client.closedByPeer());
        }
    }

    @Test
    void unknownCommandAfterLoginIsRefusedAndClosed() throws IOException {
        try (RawMySqlClient client = new RawMySqlClient(baton.port(), 5000)) {
            assertTrue(client.login("fuzz", "fuzz", "fuzzdb").isOk());
            client.send(0, new byte[]{(byte) 0x99, 1, 2, 3});
            RawMySqlClient.Packet err = client.read();
            assertEquals(1047, err.errorCode());
            assertEquals(1, err.sequenceId());
            assertTrue(client.closedByPeer());
        }
    }

    @Test
    void commandWithWrongSequenceIdIsRefusedAndClosed() throws IOException {
        try (RawMySqlClient client = new RawMySqlClient(baton.port(), 5000)) {
            assertTrue(client.login("fuzz", "fuzz", "fuzzdb").isOk());
            client.send(7, RawMySqlClient.query("SELECT 1"));
            RawMySqlClient.Packet err = client.read();
            assertEquals(1156, err.errorCode());
            assertEquals("08S01", err.sqlState());
            assertTrue(client.closedByPeer());
        }
    }

    @Test
    void randomGarbageAfterLoginEndsTheSession() throws IOException {
        byte[] garbage = new byte[300];
        new Random(7).nextBytes(garbage);
        try (RawMySqlClient client = new RawMySqlClient(baton.port(), 5000)) {
            assertTrue(client.login("fuzz", "fuzz", "fuzzdb").isOk());
            client.writeRaw(garbage);
        } // the client goes away; Baton must close the backend too
    }

    @Test
    void truncatedHeaderThenHangUpLeavesNothingBehind() throws IOException {
        try (RawMySqlClient client = new RawMySqlClient(baton.port(), 5000)) {
            client.read();
            client.writeRaw(new byte[]{0x20, 0x00});
        }
    }

    @Test
    void oversizedLengthHeaderInTheHandshakeIsRefusedAtOnce() throws IOException {
        try (RawMySqlClient client = new RawMySqlClient(baton.port(), 5000)) {
            client.read();
            client.writeRaw(new byte[]{(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1, 1, 2, 3});
            RawMySqlClient.Packet err = client.read();
            assertEquals(1043, err.errorCode());
            assertTrue(err.errorMessage().contains("16777215 bytes exceeds"), err.errorMessage());
            assertTrue(client.closedByPeer());
        }
    }

    @Test
    void clientThatStopsMidPacketInTheHandshakeIsTimedOut() throws IOException {
        try (RawMySqlClient client = new RawMySqlClient(baton.port(), 10_000)) {
            client.read();
            client.writeRaw(new byte[]{100, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
            RawMySqlClient.Packet err = client.read();
            assertEquals(1043, err.errorCode());
            assertEquals("Bad handshake: authentication did not complete within 1500 ms", err.errorMessage());
            assertTrue(client.closedByPeer());
        }
    }

    @Test
    void clientThatStopsMidPacketAfterLoginThenVanishesIsCleanedUp() throws IOException {
        try (RawMySqlClient client = new RawMySqlClient(baton.port(), 5000)) {
            assertTrue(client.login("fuzz", "fuzz", "fuzzdb").isOk());
            byte[] header = {(byte) 0xE8, 0x03, 0x00, 0x00, 0x03, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1'};
            client.writeRaw(header); // announces 1000 bytes, sends 9
        }
    }

    @Test
    void elevenHundredMutatedPacketsLeaveBatonServing() throws Exception {
        int connections = 1100;
        Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> runs = new ArrayList<>();
            Random seeds = new Random(20261126); // nearby seeds give java.util.Random correlated first draws
            for (int i = 0; i < connections; i++) {
                long seed = seeds.nextLong();
                runs.add(pool.submit(() -> {
                    String outcome = fuzzOnce(new Random(seed));
                    outcomes.computeIfAbsent(outcome, k -> new AtomicInteger()).incrementAndGet();
                    return null;
                }));
            }
            for (int i = 0; i < runs.size(); i++) {
                runs.get(i).get();
                if (i % 100 == 0) {
                    bystanderStillWorksNow();
                }
            }
        } finally {
            pool.shutdownNow();
        }
        System.out.println("mutated connections by outcome: " + outcomes);
        int total = outcomes.values().stream().mapToInt(AtomicInteger::get).sum();
        assertEquals(connections, total, "every mutated connection came to an end: " + outcomes);
        assertNotNull(outcomes.get("baton-err-1043"), "Baton itself refused malformed handshakes: " + outcomes);
        assertNotNull(outcomes.get("baton-err-1047"), "Baton itself refused unknown commands: " + outcomes);
    }

    /** One connection with one mutated packet; returns what the client saw. */
    private String fuzzOnce(Random random) throws IOException {
        try (RawMySqlClient client = new RawMySqlClient(baton.port(), 300)) {
            RawMySqlClient.Packet greeting = client.read();
            byte[] payload;
            int sequenceId;
            if (random.nextBoolean()) {
                payload = RawMySqlClient.handshakeResponse(greeting, "fuzz", "fuzz", "fuzzdb");
                sequenceId = 1;
            } else {
                client.send(1, RawMySqlClient.handshakeResponse(greeting, "fuzz", "fuzz", "fuzzdb"));
                if (!client.loginAnswer("fuzz").isOk()) {
                    return "login-failed";
                }
                payload = validCommand(random);
                sequenceId = 0;
            }
            byte[] framed = mutate(RawMySqlClient.frame(sequenceId, payload), random);
            client.writeRaw(framed);
            try {
                RawMySqlClient.Packet answer = client.read();
                if (answer.isErr() && (answer.errorCode() == 1043 || answer.errorCode() == 1047 || answer.errorCode() == 1156)
                        && answer.errorMessage().contains(answer.errorCode() == 1043 ? "Bad handshake" : "Baton closes")) {
                    return "baton-err-" + answer.errorCode();
                }
                return answer.isErr() ? "server-err" : "answered";
            } catch (SocketTimeoutException e) {
                return "no-answer-client-hung-up"; // e.g. a length header promising bytes that never come
            } catch (IOException e) {
                return "closed";
            }
        } catch (IOException e) {
            return "closed";
        }
    }

    private static byte[] validCommand(Random random) {
        return switch (random.nextInt(6)) {
            case 0 -> RawMySqlClient.query("SELECT a FROM t");
            case 1 -> new byte[]{0x0E}; // COM_PING
            case 2 -> "\u0002fuzzdb".getBytes(StandardCharsets.US_ASCII); // COM_INIT_DB
            case 3 -> "\u0016SELECT ?".getBytes(StandardCharsets.US_ASCII); // COM_STMT_PREPARE
            case 4 -> "\u0004t\u0000".getBytes(StandardCharsets.US_ASCII); // COM_FIELD_LIST
            default -> new byte[]{0x09}; // COM_STATISTICS
        };
    }

    /** Bit flips, byte overwrites, truncation, extension or a rewritten length header. */
    private static byte[] mutate(byte[] packet, Random random) {
        byte[] out = packet.clone();
        switch (random.nextInt(5)) {
            case 0 -> {
                for (int i = 0; i < 1 + random.nextInt(4); i++) {
                    int at = random.nextInt(out.length);
                    out[at] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> out[random.nextInt(out.length)] = (byte) random.nextInt(256);
            case 2 -> out = java.util.Arrays.copyOf(out, 1 + random.nextInt(out.length));
            case 3 -> {
                byte[] longer = java.util.Arrays.copyOf(out, out.length + 1 + random.nextInt(64));
                for (int i = out.length; i < longer.length; i++) {
                    longer[i] = (byte) random.nextInt(256);
                }
                out = longer;
            }
            default -> {
                int length = random.nextInt(3) == 0 ? random.nextInt(1 << 24) : random.nextInt(out.length + 16);
                out[0] = (byte) length;
                out[1] = (byte) (length >> 8);
                out[2] = (byte) (length >> 16);
            }
        }
        return out;
    }

    private void bystanderStillWorksNow() throws SQLException {
        try (Statement s = bystander.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM t")) {
            assertTrue(rs.next());
        }
    }

    private static void awaitServerSessionsOf(String user, int expected) {
        await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(50))
                .untilAsserted(() -> {
                    String count = db.query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '" + user + "'").trim();
                    assertEquals(String.valueOf(expected), count,
                            () -> "server still has " + count + " session(s) of '" + user + "', expected " + expected);
                });
    }
}
