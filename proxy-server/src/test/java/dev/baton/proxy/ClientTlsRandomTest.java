package dev.baton.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.proxy.config.TestTlsFiles;
import dev.baton.routing.Node;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import static dev.baton.proxy.WriterChangeTest.config;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random SSLRequests followed by random bytes where the client's TLS handshake should be, sent to a Baton with TLS:
 * every connection is closed by Baton, either with an ERR packet (a refused SSLRequest, before any TLS) or without a
 * word (a failed TLS handshake, logged naming the client); no exception reaches the end of a pipeline, and nothing
 * leaks (the paranoid leak detector runs). The seed is fixed so a failure repeats; the message names the bytes.
 */
class ClientTlsRandomTest {
    private static final int CONNECTIONS = 100;

    @TempDir
    Path dir;

    @Test
    void randomBytesAfterAnSslRequestAreRefusedOrEndTheTlsHandshakeAndNothingElse() throws Exception {
        TestTlsFiles files = TestTlsFiles.create(dir);
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        root.addAppender(logged);
        Random random = new Random(20261127L);
        int tlsFailures = 0;
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db.address()).withTls(files.settings(false))
                             .withTimeouts(Duration.ofSeconds(1), Duration.ofMillis(500)),
                     new FakeTopology(new Node("db1", db.address(), 1)))) {
            for (int n = 0; n < CONNECTIONS; n++) {
                byte[] bytes = input(random);
                String name = "connection " + n + ": " + HexFormat.of().formatHex(bytes);
                try (Socket socket = new Socket()) {
                    socket.connect(proxy.address(), 5000);
                    socket.setSoTimeout(5000);
                    InputStream in = socket.getInputStream();
                    in.readNBytes(in.readNBytes(4)[0] & 0xFF); // the greeting, under 256 bytes
                    socket.getOutputStream().write(bytes);
                    socket.getOutputStream().flush();
                    byte[] answer = in.readAllBytes(); // until Baton closes
                    boolean err = answer.length > 4 && (answer[4] & 0xFF) == 0xFF;
                    boolean tlsRecord = answer.length == 0 || answer[0] == 0x15 || answer[0] == 0x16;
                    assertTrue(err || tlsRecord, name + ": answered " + HexFormat.of().formatHex(answer));
                    tlsFailures += err ? 0 : 1;
                }
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.activeSessions() == 0);
        } finally {
            root.detachAppender(logged);
        }
        List<ILoggingEvent> warnings = logged.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN)).toList();
        for (ILoggingEvent e : warnings) {
            assertTrue(e.getLoggerName().equals(ClientHandshake.class.getName())
                            && e.getFormattedMessage().matches("TLS handshake with 127\\.0\\.0\\.1:\\d+ failed: .+"),
                    "an unexpected warning: " + e.getLoggerName() + ": " + e.getFormattedMessage());
        }
        assertTrue(tlsFailures > CONNECTIONS / 4, "only " + tlsFailures + " connections got as far as TLS");
        assertEquals(tlsFailures, warnings.size(), "one line per failed TLS handshake");
    }

    /** A well-formed or changed SSLRequest packet, then random bytes, sometimes shaped like a TLS record header. */
    private static byte[] input(Random random) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] request = ClientTlsHandshakeTest.sslRequest();
        int sequenceId = random.nextInt(8) == 0 ? random.nextInt(256) : 1;
        if (random.nextInt(4) == 0) {
            request[random.nextInt(request.length)] = (byte) random.nextInt(256);
        }
        out.write(request.length);
        out.write(0);
        out.write(0);
        out.write(sequenceId);
        out.writeBytes(request);
        byte[] after = new byte[random.nextInt(300)];
        random.nextBytes(after);
        if (after.length >= 5 && random.nextBoolean()) {
            after[0] = 0x16; // handshake record
            after[1] = 0x03;
            after[2] = (byte) random.nextInt(5);
        }
        out.writeBytes(after);
        return out.toByteArray();
    }

}
