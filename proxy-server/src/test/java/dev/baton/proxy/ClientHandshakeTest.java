package dev.baton.proxy;

import dev.baton.protocol.CapabilityFlags;
import dev.baton.protocol.TestPackets;
import dev.baton.routing.Node;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static dev.baton.proxy.WriterChangeTest.config;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Baton's own side of the connection phase: the greeting it sends every client before any server connection exists,
 * and the handshake responses it refuses itself, each with the error a client shows its user, before the writer
 * hears of the client. (Over-quota clients are covered by QuotaIT and LoginAdmissionIT; garbage that cannot even be
 * framed, by BadInputIT.)
 */
class ClientHandshakeTest {
    /** Everything Baton removes, next to flags it passes on, in a MariaDB greeting (CLIENT_MYSQL unset). */
    private static final int WRITER_CAPABILITIES = (FakeMySqlServer.CAPABILITIES & ~CapabilityFlags.CLIENT_MYSQL)
            | CapabilityFlags.CLIENT_DEPRECATE_EOF | CapabilityFlags.UNSUPPORTED;
    private static final int WRITER_MARIADB_CAPABILITIES = CapabilityFlags.UNSUPPORTED_MARIADB
            | CapabilityFlags.MARIADB_CLIENT_STMT_BULK_OPERATIONS;

    @Test
    void theGreetingCarriesTheSessionsConnectionIdAFreshScrambleAndNoCapabilityBatonCannotHonour() throws Exception {
        try (ScriptedServer writer = new ScriptedServer(c -> {
            c.send(0, SessionMoveTest.greeting(WRITER_CAPABILITIES, WRITER_MARIADB_CAPABILITIES, 7));
            c.awaitClosedByPeer(); // Baton fetched one greeting to copy
        });
             BatonProxy proxy = BatonProxy.start(config(writer.address()), new FakeTopology(new Node("db1", writer.address(), 1)));
             RawClient first = new RawClient(proxy.address()); RawClient second = new RawClient(proxy.address())) {
            Greeting g = Greeting.parse(first.greeting());
            Greeting other = Greeting.parse(second.greeting());
            writer.played.get(5, TimeUnit.SECONDS);

            assertEquals(0, first.lastSequenceId());
            assertEquals(10, g.protocolVersion);
            assertEquals("10.11.6-MariaDB-log", g.serverVersion, "the writer's version, as clients adapt to it");
            assertTrue(g.connectionId >= SessionIds.FIRST && g.connectionId <= SessionIds.LAST, "id " + g.connectionId);
            ClientSession session = proxy.sessionIds().find(g.connectionId);
            assertTrue(session != null, "the id names this client's session, so a KILL with it is translated");
            assertEquals(g.connectionId, session.connectionId());
            assertSame(session, proxy.sessionIds().find(g.connectionId));
            assertNotEquals(g.connectionId, other.connectionId);

            assertEquals(20, g.scramble.length);
            for (byte b : g.scramble) {
                assertNotEquals(0, b, "a NUL in the scramble would cut it short for clients that read it as a string: "
                        + Arrays.toString(g.scramble));
            }
            assertEquals(0, g.part2Terminator, "the scramble's second part ends with a NUL, as servers send it");
            assertFalse(Arrays.equals("greetingscramble.two".getBytes(StandardCharsets.US_ASCII), g.scramble),
                    "Baton's own scramble, not the writer's");
            assertFalse(Arrays.equals(g.scramble, other.scramble), "each client its own scramble");

            assertEquals(0, g.capabilities & CapabilityFlags.UNSUPPORTED, "offered 0x" + Integer.toHexString(g.capabilities));
            assertEquals(0, g.mariadbCapabilities & CapabilityFlags.UNSUPPORTED_MARIADB,
                    "offered MariaDB 0x" + Integer.toHexString(g.mariadbCapabilities));
            assertEquals(WRITER_CAPABILITIES & ~CapabilityFlags.UNSUPPORTED, g.capabilities, "the rest of the writer's flags");
            assertEquals(CapabilityFlags.MARIADB_CLIENT_STMT_BULK_OPERATIONS, g.mariadbCapabilities);
            assertEquals("mysql_native_password", g.authPlugin);
        }
    }

    @Test
    void anSslRequestGetsAnErrorSayingBatonHasNoTlsAndNoServerConnection() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db.address()), new FakeTopology(new Node("db1", db.address(), 1)));
             RawClient client = new RawClient(proxy.address())) {
            client.greeting();

            client.send(1, TestPackets.payload().int4(RawClient.CAPABILITIES | CapabilityFlags.CLIENT_SSL).int4(16 * 1024 * 1024)
                    .int1(45).zeros(23).build()); // Protocol::SSLRequest: the fixed part of a response, then TLS

            byte[] err = client.read();
            assertEquals(2, client.lastSequenceId());
            assertEquals(0xFF, err[0] & 0xFF);
            assertEquals(1043, RawClient.errorCode(err));
            assertEquals("08004", RawClient.sqlState(err));
            assertEquals("Baton does not offer TLS (its config has no tls section); connect without TLS (Connector/J "
                    + "sslMode=DISABLED, mariadb client --skip-ssl) or ask for tls to be set up", RawClient.errorMessage(err));
            assertRefusedBeforeTheWriter(client, proxy, db);
        }
    }

    @Test
    void aHandshakeResponseWithSequenceIdTwoIsABadHandshakeNamingTheSequenceId() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db.address()), new FakeTopology(new Node("db1", db.address(), 1)));
             RawClient client = new RawClient(proxy.address())) {
            client.greeting();

            client.send(2, response(RawClient.CAPABILITIES));

            byte[] err = client.read();
            assertEquals(3, client.lastSequenceId());
            assertEquals(1043, RawClient.errorCode(err));
            assertEquals("08S01", RawClient.sqlState(err));
            assertEquals("Bad handshake: handshake response has sequence id 2, expected 1", RawClient.errorMessage(err));
            assertRefusedBeforeTheWriter(client, proxy, db);
        }
    }

    @Test
    void aClientWithoutPluggableAuthenticationIsToldItNeedsIt() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db.address()), new FakeTopology(new Node("db1", db.address(), 1)));
             RawClient client = new RawClient(proxy.address())) {
            client.greeting();

            client.send(1, TestPackets.payload().int4(RawClient.CAPABILITIES & ~CapabilityFlags.CLIENT_PLUGIN_AUTH)
                    .int4(16 * 1024 * 1024).int1(45).zeros(23).nulString("app").int1(0).build());

            byte[] err = client.read();
            assertEquals(2, client.lastSequenceId());
            assertEquals(1043, RawClient.errorCode(err));
            assertEquals("08S01", RawClient.sqlState(err));
            assertEquals("Bad handshake: the client does not support pluggable authentication (CLIENT_PLUGIN_AUTH), which "
                    + "Baton needs to pass the login to the server; use a client from MySQL 5.5 or later", RawClient.errorMessage(err));
            assertRefusedBeforeTheWriter(client, proxy, db);
        }
    }

    @Test
    void aWholePacketThatIsNoHandshakeResponseIsABadHandshake() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db.address()), new FakeTopology(new Node("db1", db.address(), 1)));
             RawClient client = new RawClient(proxy.address())) {
            client.greeting();

            client.send(1, "HELO baton".getBytes(StandardCharsets.US_ASCII));

            byte[] err = client.read();
            assertEquals(2, client.lastSequenceId());
            assertEquals(1043, RawClient.errorCode(err));
            assertEquals("08S01", RawClient.sqlState(err));
            assertTrue(RawClient.errorMessage(err).startsWith("Bad handshake: "), RawClient.errorMessage(err));
            assertRefusedBeforeTheWriter(client, proxy, db);
        }
    }

    /** The client is disconnected, its session gone, and the writer never saw a login for it. */
    private static void assertRefusedBeforeTheWriter(RawClient client, BatonProxy proxy, FakeMySqlServer db) {
        await("Baton closes the client").atMost(Duration.ofSeconds(5)).until(client::closedByBaton);
        await("the session ends").atMost(Duration.ofSeconds(5)).until(() -> proxy.activeSessions() == 0);
        await("only the greeting fetch reached the writer, and it is closed").atMost(Duration.ofSeconds(5))
                .until(() -> db.openConnections() == 0);
        assertEquals(0, db.commands.size());
    }

    /** A well-formed Protocol::HandshakeResponse41 as {@code app} without a password. */
    private static byte[] response(int capabilities) {
        return TestPackets.payload().int4(capabilities).int4(16 * 1024 * 1024).int1(45).zeros(23).nulString("app").int1(0)
                .nulString("mysql_native_password").build();
    }

    /** Protocol::HandshakeV10 read field by field from the payload. */
    private record Greeting(int protocolVersion, String serverVersion, long connectionId, byte[] scramble, int capabilities,
                            int mariadbCapabilities, int part2Terminator, String authPlugin) {
        static Greeting parse(byte[] p) throws IOException {
            int at = 1;
            int nul = indexOf(p, at);
            String version = new String(p, at, nul - at, StandardCharsets.US_ASCII);
            at = nul + 1;
            long id = (p[at] & 0xFFL) | (p[at + 1] & 0xFFL) << 8 | (p[at + 2] & 0xFFL) << 16 | (p[at + 3] & 0xFFL) << 24;
            at += 4;
            byte[] part1 = Arrays.copyOfRange(p, at, at + 8);
            at += 8 + 1; // filler
            int capabilities = u16(p, at);
            at += 2 + 1 + 2; // character set, status flags
            capabilities |= u16(p, at) << 16;
            at += 2;
            int authDataLength = p[at] & 0xFF;
            at += 1 + 6;
            int mariadb = u16(p, at) | u16(p, at + 2) << 16;
            at += 4;
            int part2Length = Math.max(13, authDataLength - 8);
            byte[] part2 = Arrays.copyOfRange(p, at, at + part2Length);
            at += part2Length;
            String plugin = new String(p, at, indexOf(p, at) - at, StandardCharsets.US_ASCII);
            byte[] scramble = new byte[20];
            System.arraycopy(part1, 0, scramble, 0, 8);
            System.arraycopy(part2, 0, scramble, 8, 12);
            return new Greeting(p[0], version, id, scramble, capabilities, mariadb, part2[12], plugin);
        }

        private static int indexOf(byte[] p, int from) throws IOException {
            for (int i = from; i < p.length; i++) {
                if (p[i] == 0) {
                    return i;
                }
            }
            throw new IOException("no NUL after offset " + from);
        }

        private static int u16(byte[] p, int at) {
            return (p[at] & 0xFF) | (p[at + 1] & 0xFF) << 8;
        }
    }
}
