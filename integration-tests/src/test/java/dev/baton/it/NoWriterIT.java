package dev.baton.it;

import dev.baton.it.fixture.RawMySqlClient;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.routing.HostPort;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** When the writer cannot be reached, a client gets a MySQL error that says so, within the connect timeout. */
class NoWriterIT {

    @Test
    void refusedWriterGivesConnectorJAnErrorNamingTheWriter() throws Exception {
        int deadPort = RunningBaton.freePort();
        try (RunningBaton baton = RunningBaton.inFrontOf(new HostPort("127.0.0.1", deadPort), Duration.ofSeconds(2), Duration.ofSeconds(10))) {
            long start = System.nanoTime();
            SQLException e = assertThrows(SQLException.class, () -> DriverManager.getConnection(
                    baton.mysqlUrl("", "sslMode=DISABLED&connectTimeout=20000"), "app", "app").close());
            long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals("08S01", e.getSQLState(), e.getMessage());
            assertEquals(9001, e.getErrorCode());
            assertEquals("no writer available: cannot connect to writer db1 (127.0.0.1:" + deadPort + "): connection refused", e.getMessage());
            assertTrue(elapsedMs < 10_000, "answered in " + elapsedMs + " ms, not after a hang");
            baton.awaitNoSessions(Duration.ofSeconds(5));
        }
    }

    @Test
    void writerThatNeverGreetsIsReportedAfterTheConnectTimeout() throws Exception {
        List<Socket> accepted = new ArrayList<>();
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        accepted.add(silent.accept()); // accept and say nothing, like a hung server
                    }
                } catch (IOException ignored) {
                    // closed at the end of the test
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            try (RunningBaton baton = RunningBaton.inFrontOf(new HostPort("127.0.0.1", silent.getLocalPort()), Duration.ofSeconds(1), Duration.ofSeconds(10));
                 RawMySqlClient client = new RawMySqlClient(baton.port(), 15_000)) {
                long start = System.nanoTime();
                RawMySqlClient.Packet greeting = client.read();
                long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertEquals(10, greeting.first(), "Baton greets the client itself so the error can carry its SQL state");
                client.send(1, RawMySqlClient.handshakeResponse(greeting, "app", "app", ""));
                RawMySqlClient.Packet packet = client.read();
                assertTrue(packet.isErr());
                assertEquals(2, packet.sequenceId());
                assertEquals(9001, packet.errorCode());
                assertEquals("08S01", packet.sqlState());
                assertEquals("no writer available: writer db1 (127.0.0.1:" + silent.getLocalPort() + ") did not greet within 1000 ms",
                        packet.errorMessage());
                assertTrue(elapsedMs >= 900 && elapsedMs < 8_000, "refused after " + elapsedMs + " ms");
                assertTrue(client.closedByPeer(), "Baton closes the connection after the error");
                baton.awaitNoSessions(Duration.ofSeconds(5));
            }
        } finally {
            for (Socket s : accepted) {
                s.close();
            }
        }
    }

    @Test
    void mariadbCommandLineClientPrintsTheReason() throws Exception {
        int deadPort = RunningBaton.freePort();
        try (RunningBaton baton = RunningBaton.inFrontOf(new HostPort("127.0.0.1", deadPort), Duration.ofSeconds(2), Duration.ofSeconds(10))) {
            Process cli = new ProcessBuilder("mariadb", "-h127.0.0.1", "-P" + baton.port(), "-uapp", "-papp", "--skip-ssl", "-e", "SELECT 1")
                    .redirectErrorStream(true).start();
            assertTrue(cli.waitFor(20, TimeUnit.SECONDS), "the client returned instead of hanging");
            String output = new String(cli.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(1, cli.exitValue(), output);
            assertTrue(output.contains("ERROR 9001 (08S01)") && output.contains("no writer available"), output);
        }
    }
}
