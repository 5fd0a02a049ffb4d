package dev.baton.proxy;

import dev.baton.protocol.CapabilityFlags;
import dev.baton.protocol.NativePasswordProof;
import dev.baton.protocol.TestPackets;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static dev.baton.protocol.CapabilityFlags.CLIENT_CONNECT_ATTRS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_CONNECT_WITH_DB;
import static dev.baton.protocol.CapabilityFlags.CLIENT_DEPRECATE_EOF;
import static dev.baton.protocol.CapabilityFlags.CLIENT_LONG_FLAG;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MULTI_RESULTS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MYSQL;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PROTOCOL_41;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SECURE_CONNECTION;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SESSION_TRACK;
import static dev.baton.protocol.CapabilityFlags.CLIENT_TRANSACTIONS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Moving a session logs in again on the new writer as the session's user and rebuilds its state there, byte for byte
 * as a client would; whatever goes wrong on the way, the session is not moved, with a reason an operator can count,
 * and the half-built connection is closed.
 */
class SessionMoveTest {
    private static final String PASSWORD = "secret";
    /** The new server's scramble: 20 bytes, none of them NUL, as servers send them. */
    private static final byte[] SEED = "Zq3!x8Lm#R2v@Tn5&Wk0".getBytes(StandardCharsets.US_ASCII);
    /** What the client sent when it first logged in (through Baton's greeting). */
    private static final int CLIENT_CAPABILITIES = CLIENT_MYSQL | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB | CLIENT_PROTOCOL_41
            | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS
            | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_DEPRECATE_EOF;
    /** What Baton sent the first server: the client's flags and session tracking, which Baton turns on to move sessions. */
    private static final int LOGIN_CAPABILITIES = CLIENT_CAPABILITIES | CLIENT_SESSION_TRACK;
    /** A MariaDB 10.11 server's flags: more than the session uses, including TLS, which Baton never passes on. */
    private static final int SERVER_CAPABILITIES = LOGIN_CAPABILITIES | CapabilityFlags.CLIENT_MULTI_STATEMENTS
            | CapabilityFlags.CLIENT_PS_MULTI_RESULTS | CapabilityFlags.CLIENT_SSL;
    private static final byte[] ATTRIBUTES = attributes("_client_name", "libmariadb", "program_name", "shop-api");
    private static final byte[] HANDSHAKE = TestPackets.payload().int4(CLIENT_CAPABILITIES).int4(16 * 1024 * 1024).int1(45)
            .zeros(23).nulString("app").lenenc(20).bytes(new byte[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
            .nulString("shop").nulString("mysql_native_password").bytes(ATTRIBUTES).build();

    private static BatonProxy proxy;
    private static EventLoopGroup loops;

    @BeforeAll
    static void start() throws Exception {
        HostPort unused = new HostPort("127.0.0.1", WriterChangeTest.freePort());
        proxy = BatonProxy.start(WriterChangeTest.config(unused).withTimeouts(Duration.ofSeconds(3), Duration.ofSeconds(3)),
                new FakeTopology(new Node("db1", unused, 1)));
        loops = proxy.transport().newGroup(1);
    }

    @AfterAll
    static void stop() {
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
        proxy.close();
    }

    // ---- the happy path -----------------------------------------------------------------------------------------

    @Test
    void theMoveLogsInAsTheClientWouldAnswersTheNewScrambleWithThePasswordProofAndReplaysTheSessionInOrder() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(c -> {
            c.send(0, greeting(SERVER_CAPABILITIES, 0, 4242));
            c.send(c.receive().sequenceId() + 1, authSwitch("mysql_native_password", SEED));
            c.send(c.receive().sequenceId() + 1, FakeMySqlServer.OK);
            for (int statement = 0; statement < 3; statement++) {
                c.receive();
                c.send(1, FakeMySqlServer.OK);
            }
            c.awaitClosedByPeer(); // once the test lets go of the link
        })) {
            CompletableFuture<BackendLink> move = move(db2.address(), login(), List.of("SET SESSION session_track_system_variables='*'",
                    "SET SESSION sql_mode='ANSI_QUOTES', time_zone='+02:00'"), "reports", Duration.ofSeconds(5));

            BackendLink link = move.get(5, TimeUnit.SECONDS);
            assertEquals(new Node("db2", db2.address(), 2), link.node(), "a link to the node the session moves to");
            assertEquals(4242, link.threadId(), "the new server's thread id, which a KILL of this session names from now on");
            assertTrue(link.isActive());
            link.channel().eventLoop().submit(link::abandon).get();
            db2.played.get(5, TimeUnit.SECONDS);

            List<ScriptedServer.Frame> got = db2.received;
            assertEquals(5, got.size(), "handshake response, auth answer, two statements, COM_INIT_DB");
            assertEquals(1, got.get(0).sequenceId(), "the handshake response answers the greeting");
            assertEquals(hex(TestPackets.payload().int4(LOGIN_CAPABILITIES).int4(16 * 1024 * 1024).int1(45).zeros(19).int4(0)
                            .nulString("app").int1(0).nulString("shop").nulString("baton_auth_switch").bytes(ATTRIBUTES).build()),
                    hex(got.get(0).payload()),
                    "the client's own response with the session's flags, no auth response, a plugin no account uses, "
                            + "the same user, database and attributes");
            assertEquals(3, got.get(1).sequenceId(), "the answer follows the AuthSwitchRequest (2)");
            byte[] stage1 = MessageDigest.getInstance("SHA-1").digest(PASSWORD.getBytes(StandardCharsets.UTF_8));
            assertEquals(hex(clientAnswer(PASSWORD, SEED)), hex(got.get(1).payload()),
                    "what a client knowing the password answers to the new server's scramble");
            assertArrayEquals(NativePasswordProof.answer(stage1, SEED), got.get(1).payload());
            assertEquals(List.of("0 03 SET SESSION session_track_system_variables='*'",
                            "0 03 SET SESSION sql_mode='ANSI_QUOTES', time_zone='+02:00'", "0 02 reports"),
                    got.subList(2, 5).stream().map(SessionMoveTest::command).toList(),
                    "COM_QUERY for each statement, in order, then COM_INIT_DB, each a new command");
        }
    }

    @Test
    void aMoveWithNothingToReplayCompletesOnTheLoginOk() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(c -> {
            c.send(0, greeting(SERVER_CAPABILITIES, 0, 7));
            c.send(c.receive().sequenceId() + 1, authSwitch("mysql_native_password", SEED));
            c.send(c.receive().sequenceId() + 1, FakeMySqlServer.OK);
            c.awaitClosedByPeer();
        })) {
            BackendLink link = move(db2.address(), login(), List.of(), null, Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS);
            assertEquals("db2", link.node().name());
            link.channel().eventLoop().submit(link::abandon).get();
            db2.played.get(5, TimeUnit.SECONDS);
            assertEquals(2, db2.received.size(), "no statement and no COM_INIT_DB");
        }
    }

    // ---- connect_failed ------------------------------------------------------------------------------------------

    @Test
    void aNodeWithNothingListeningIsConnectFailed() throws Exception {
        HostPort nothing = new HostPort("127.0.0.1", WriterChangeTest.freePort());

        SessionMove.NotMoved notMoved = notMoved(move(nothing, login(), List.of("SET @a = 1"), "reports", Duration.ofSeconds(5)));

        assertEquals("connect_failed", notMoved.reason);
        assertTrue(notMoved.getMessage().startsWith("cannot connect to writer db2 (" + nothing + "): "), notMoved.getMessage());
    }

    @Test
    void aServerThatClosesTheConnectionBeforeGreetingIsConnectFailed() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(ScriptedServer.Conversation::close)) {
            SessionMove.NotMoved notMoved = notMoved(move(db2.address(), login(), List.of("SET @a = 1"), "reports",
                    Duration.ofSeconds(5)));

            assertEquals("connect_failed", notMoved.reason);
            assertEquals("writer db2 (" + db2.address() + ") closed the connection before greeting", notMoved.getMessage());
            db2.played.get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aServerThatNeverGreetsIsConnectFailedAtTheMoveTimeoutAndItsConnectionIsClosed() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(ScriptedServer.Conversation::silentUntilClosed)) {
            SessionMove.NotMoved notMoved = notMoved(move(db2.address(), login(), List.of("SET @a = 1"), "reports",
                    Duration.ofMillis(300)));

            assertEquals("connect_failed", notMoved.reason);
            assertEquals("the move to db2 (" + db2.address() + ") did not finish within 300 ms", notMoved.getMessage());
            db2.played.get(5, TimeUnit.SECONDS); // Baton closed the connection
        }
    }

    @Test
    void aServerThatStopsAnsweringDuringTheReplayIsReplayFailedAtTheMoveTimeout() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(c -> {
            c.send(0, greeting(SERVER_CAPABILITIES, 0, 7));
            c.send(c.receive().sequenceId() + 1, authSwitch("mysql_native_password", SEED));
            c.send(c.receive().sequenceId() + 1, FakeMySqlServer.OK);
            c.receive(); // the first statement, never answered
            c.silentUntilClosed();
        })) {
            SessionMove.NotMoved notMoved = notMoved(move(db2.address(), login(), List.of("SET @a = 1", "SET @b = 2"), "reports",
                    Duration.ofMillis(700)));

            assertEquals("replay_failed", notMoved.reason);
            assertEquals("the move to db2 (" + db2.address() + ") did not finish within 700 ms", notMoved.getMessage());
            db2.played.get(5, TimeUnit.SECONDS);
            assertEquals(3, db2.received.size(), "nothing after the unanswered statement");
        }
    }

    @Test
    void aServerRefusingTheConnectionWithTooManyConnectionsIsConnectFailedWithTheServersWords() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(c -> {
            c.send(0, err(1040, "08004", "Too many connections"));
            c.awaitClosedByPeer();
        })) {
            SessionMove.NotMoved notMoved = notMoved(move(db2.address(), login(), List.of("SET @a = 1"), "reports",
                    Duration.ofSeconds(5)));

            assertEquals("connect_failed", notMoved.reason);
            assertEquals("db2 (" + db2.address() + ") refused the connection: Too many connections", notMoved.getMessage());
            db2.played.get(5, TimeUnit.SECONDS);
            assertEquals(0, db2.received.size(), "no login sent");
        }
    }

    // ---- login_refused -------------------------------------------------------------------------------------------

    @Test
    void aServerRefusingTheAnswerIsLoginRefusedAndTheMessageCarriesNoProof() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(c -> {
            c.send(0, greeting(SERVER_CAPABILITIES, 0, 7));
            c.send(c.receive().sequenceId() + 1, authSwitch("mysql_native_password", SEED));
            c.send(c.receive().sequenceId() + 1, err(1045, "28000", "Access denied for user 'app'@'127.0.0.1' (using password: YES)"));
            c.awaitClosedByPeer();
        })) {
            SessionMove.NotMoved notMoved = notMoved(move(db2.address(), login(), List.of("SET @a = 1"), "reports",
                    Duration.ofSeconds(5)));

            assertEquals("login_refused", notMoved.reason);
            assertEquals("db2 (" + db2.address() + ") refused the login: Access denied for user 'app'@'127.0.0.1' "
                    + "(using password: YES)", notMoved.getMessage());
            db2.played.get(5, TimeUnit.SECONDS);
            assertEquals(2, db2.received.size(), "no statement after a refused login");
        }
    }

    // ---- auth_plugin ---------------------------------------------------------------------------------------------

    @Test
    void anAccountThatNowLogsInWithEd25519IsAuthPluginAndGetsNoAnswer() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(c -> {
            c.send(0, greeting(SERVER_CAPABILITIES, 0, 7));
            c.send(c.receive().sequenceId() + 1, authSwitch("client_ed25519", new byte[32]));
            c.awaitClosedByPeer();
        })) {
            SessionMove.NotMoved notMoved = notMoved(move(db2.address(), login(), List.of("SET @a = 1"), "reports",
                    Duration.ofSeconds(5)));

            assertEquals("auth_plugin", notMoved.reason);
            assertEquals("the account now logs in with client_ed25519, not mysql_native_password", notMoved.getMessage());
            db2.played.get(5, TimeUnit.SECONDS);
            assertEquals(1, db2.received.size(), "only the handshake response: no answer for another plugin");
        }
    }

    @Test
    void aServerAskingForMoreAuthenticationDataIsAuthPlugin() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(c -> {
            c.send(0, greeting(SERVER_CAPABILITIES, 0, 7));
            c.send(c.receive().sequenceId() + 1, authSwitch("mysql_native_password", SEED));
            c.send(c.receive().sequenceId() + 1, new byte[]{0x01, 0x04}); // AuthMoreData: perform full authentication
            c.awaitClosedByPeer();
        })) {
            SessionMove.NotMoved notMoved = notMoved(move(db2.address(), login(), List.of("SET @a = 1"), "reports",
                    Duration.ofSeconds(5)));

            assertEquals("auth_plugin", notMoved.reason);
            assertEquals("db2 (" + db2.address() + ") asked for more authentication data than mysql_native_password sends",
                    notMoved.getMessage());
            db2.played.get(5, TimeUnit.SECONDS);
        }
    }

    // ---- capabilities --------------------------------------------------------------------------------------------

    @Test
    void aServerWithoutDeprecateEofWhichTheSessionUsesIsCapabilitiesAndGetsNoLogin() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(c -> {
            c.send(0, greeting(SERVER_CAPABILITIES & ~CLIENT_DEPRECATE_EOF, 0, 7));
            c.awaitClosedByPeer();
        })) {
            SessionMove.NotMoved notMoved = notMoved(move(db2.address(), login(), List.of("SET @a = 1"), "reports",
                    Duration.ofSeconds(5)));

            assertEquals("capabilities", notMoved.reason);
            assertEquals("db2 (" + db2.address() + ") does not offer capabilities the session uses (0x1000000, MariaDB 0x0)",
                    notMoved.getMessage());
            db2.played.get(5, TimeUnit.SECONDS);
            assertEquals(0, db2.received.size(), "no login sent");
        }
    }

    @Test
    void aServerWithoutSessionTrackingIsCapabilities() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(c -> {
            c.send(0, greeting(SERVER_CAPABILITIES & ~CLIENT_SESSION_TRACK, 0, 7));
            c.awaitClosedByPeer();
        })) {
            SessionMove.NotMoved notMoved = notMoved(move(db2.address(), login(), List.of("SET @a = 1"), "reports",
                    Duration.ofSeconds(5)));

            assertEquals("capabilities", notMoved.reason);
            assertEquals("db2 (" + db2.address() + ") does not offer capabilities the session uses (0x800000, MariaDB 0x0)",
                    notMoved.getMessage());
            db2.played.get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aServerWithoutAMariaDbExtendedCapabilityTheSessionUsesIsCapabilities() throws Exception {
        int mariadbClient = LOGIN_CAPABILITIES & ~CLIENT_MYSQL;
        int bulk = CapabilityFlags.MARIADB_CLIENT_STMT_BULK_OPERATIONS;
        try (ScriptedServer db2 = new ScriptedServer(c -> {
            c.send(0, greeting(SERVER_CAPABILITIES & ~CLIENT_MYSQL, CapabilityFlags.MARIADB_CLIENT_EXTENDED_METADATA, 7));
            c.awaitClosedByPeer();
        })) {
            SessionMove.Login login = new SessionMove.Login(HANDSHAKE, mariadbClient, bulk, SessionMoveTest::answer, null);

            SessionMove.NotMoved notMoved = notMoved(move(db2.address(), login, List.of("SET @a = 1"), "reports",
                    Duration.ofSeconds(5)));

            assertEquals("capabilities", notMoved.reason);
            assertEquals("db2 (" + db2.address() + ") does not offer capabilities the session uses (0x0, MariaDB 0x4)",
                    notMoved.getMessage());
            db2.played.get(5, TimeUnit.SECONDS);
        }
    }

    // ---- replay_failed -------------------------------------------------------------------------------------------

    @Test
    void aServerRefusingAReplayedStatementIsReplayFailedAndTheRestIsNeverSent() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(c -> {
            c.send(0, greeting(SERVER_CAPABILITIES, 0, 7));
            c.send(c.receive().sequenceId() + 1, authSwitch("mysql_native_password", SEED));
            c.send(c.receive().sequenceId() + 1, FakeMySqlServer.OK);
            c.receive();
            c.send(1, FakeMySqlServer.OK);
            c.receive();
            c.send(1, err(1193, "HY000", "Unknown system variable 'old_mode'"));
            c.awaitClosedByPeer();
        })) {
            SessionMove.NotMoved notMoved = notMoved(move(db2.address(), login(), List.of("SET @a = 1",
                    "SET SESSION old_mode=''", "SET @b = 2"), "reports", Duration.ofSeconds(5)));

            assertEquals("replay_failed", notMoved.reason);
            assertEquals("db2 (" + db2.address() + ") refused a statement that rebuilds the session: Unknown system variable "
                    + "'old_mode'", notMoved.getMessage());
            db2.played.get(5, TimeUnit.SECONDS);
            assertEquals(4, db2.received.size(), "neither the third statement nor COM_INIT_DB was sent");
        }
    }

    @Test
    void aResultSetInAnswerToAReplayedStatementIsReplayFailed() throws Exception {
        try (ScriptedServer db2 = new ScriptedServer(c -> {
            c.send(0, greeting(SERVER_CAPABILITIES, 0, 7));
            c.send(c.receive().sequenceId() + 1, authSwitch("mysql_native_password", SEED));
            c.send(c.receive().sequenceId() + 1, FakeMySqlServer.OK);
            c.receive();
            // One write: Baton hangs up as soon as it sees the column count.
            c.sendTogether(1, new byte[]{0x01}, // column count: a result set follows
                    TestPackets.payload().lenencString("def").lenencString("").lenencString("").lenencString("")
                            .lenencString("1").lenencString("").lenenc(0x0C).int2(63).int4(1).int1(0x08).int2(0x81).int1(0)
                            .int2(0).build(),
                    TestPackets.payload().lenencString("1").build(),
                    TestPackets.payload().int1(0xFE).lenenc(0).lenenc(0).int2(0x0002).int2(0).build());
            c.awaitClosedByPeer();
        })) {
            SessionMove.NotMoved notMoved = notMoved(move(db2.address(), login(), List.of("SELECT 1", "SET @b = 2"), "reports",
                    Duration.ofSeconds(5)));

            assertEquals("replay_failed", notMoved.reason);
            assertEquals("db2 (" + db2.address() + ") answered a statement that rebuilds the session with a result set",
                    notMoved.getMessage());
            db2.played.get(5, TimeUnit.SECONDS);
            assertEquals(3, db2.received.size(), "nothing sent after the result set began");
        }
    }

    // ---- what the login shows ------------------------------------------------------------------------------------

    @Test
    void aLoginPrintsItsFlagsButNeitherTheClientsResponseNorTheProof() {
        SessionMove.Login login = login();

        String shown = login.toString();

        assertEquals("Login[capabilities=0x" + Integer.toHexString(LOGIN_CAPABILITIES) + "]", shown);
        assertFalse(shown.contains(hex(clientAnswer(PASSWORD, SEED))));
        assertFalse(shown.contains("app"), "not even the user name");
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static SessionMove.Login login() {
        return new SessionMove.Login(HANDSHAKE, LOGIN_CAPABILITIES, 0, SessionMoveTest::answer, null);
    }

    /** How ClientSession answers: from stage1, which Baton recovered from the client's first login. */
    private static byte[] answer(byte[] seed) {
        return NativePasswordProof.answer(sha1(PASSWORD.getBytes(StandardCharsets.UTF_8)), seed);
    }

    private static CompletableFuture<BackendLink> move(HostPort to, SessionMove.Login login, List<String> statements,
                                                       String database, Duration timeout) throws Exception {
        EventLoop loop = loops.next();
        return loop.submit(() -> SessionMove.start(proxy, loop, new Node("db2", to, 2), null, login, statements, database, null, timeout))
                .get(5, TimeUnit.SECONDS);
    }

    private static SessionMove.NotMoved notMoved(CompletableFuture<BackendLink> move) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> move.get(10, TimeUnit.SECONDS));
        return assertInstanceOf(SessionMove.NotMoved.class, e.getCause());
    }

    /** What a client that knows the password answers, computed here from the protocol's definition. */
    private static byte[] clientAnswer(String password, byte[] seed) {
        byte[] stage1 = sha1(password.getBytes(StandardCharsets.UTF_8));
        byte[] mix = sha1(seed, sha1(stage1));
        byte[] out = new byte[20];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (stage1[i] ^ mix[i]);
        }
        return out;
    }

    private static byte[] sha1(byte[]... parts) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-1");
            for (byte[] p : parts) {
                sha.update(p);
            }
            return sha.digest();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Protocol::HandshakeV10 as MariaDB sends it; the scramble is not the one the session moves with. */
    static byte[] greeting(int capabilities, int mariadbCapabilities, int threadId) {
        return TestPackets.payload().int1(10).nulString("10.11.6-MariaDB-log").int4(threadId).string("greeting")
                .int1(0).int2(capabilities & 0xFFFF).int1(45).int2(0x0002).int2(capabilities >>> 16).int1(21).zeros(6)
                .int4(mariadbCapabilities).string("scramble.two").int1(0).nulString("mysql_native_password").build();
    }

    /** Protocol::AuthSwitchRequest: 0xFE, the plugin, its data and the NUL servers end it with. */
    private static byte[] authSwitch(String plugin, byte[] data) {
        return TestPackets.payload().int1(0xFE).nulString(plugin).bytes(data).int1(0).build();
    }

    static byte[] err(int code, String sqlState, String message) {
        return TestPackets.payload().int1(0xFF).int2(code).string("#" + sqlState).string(message).build();
    }

    private static byte[] attributes(String... keysAndValues) {
        TestPackets.Writer pairs = TestPackets.payload();
        for (String s : keysAndValues) {
            pairs.lenencString(s);
        }
        byte[] inner = pairs.build();
        return TestPackets.payload().lenenc(inner.length).bytes(inner).build();
    }

    /** A received command as "sequence-id command-byte text". */
    private static String command(ScriptedServer.Frame frame) {
        byte[] p = frame.payload();
        return frame.sequenceId() + " " + String.format("%02x", p[0]) + " " + new String(p, 1, p.length - 1, StandardCharsets.UTF_8);
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
