package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RawMySqlClient;
import dev.baton.proxy.move.AccountHashes;
import dev.baton.proxy.move.Relogin;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What Baton decides about logging in again as a session's user, against the password hashes a real MariaDB stores,
 * read by a monitor user with the documented grant (and one without it).
 */
class AccountHashesIT {
    private static final String MOVER_PASSWORD = "s3cret-Pw";
    private static final String MOVER_LOCAL_PASSWORD = "other-Pw";

    private static LocalMariaDb db;
    private static Node node;

    @BeforeAll
    static void start() {
        db = LocalMariaDb.start("hashes");
        db.sql("CREATE USER 'baton_monitor'@'%' IDENTIFIED BY 'monitor';"
                + "GRANT SELECT ON mysql.global_priv TO 'baton_monitor'@'%';"
                + "CREATE USER 'plain_monitor'@'%' IDENTIFIED BY 'monitor';"
                + "CREATE USER 'mover'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('" + MOVER_PASSWORD + "');"
                + "CREATE USER 'mover'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('"
                + MOVER_LOCAL_PASSWORD + "');"
                + "CREATE USER 'either'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('e') OR mysql_native_password "
                + "USING PASSWORD('" + MOVER_PASSWORD + "');"
                + "CREATE USER 'nopass'@'%';");
        node = new Node("db1", new HostPort("127.0.0.1", db.port()), 1);
    }

    @AfterAll
    static void stop() {
        if (db != null) {
            db.close();
        }
    }

    private static AccountHashes hashes(String monitorUser) {
        return new AccountHashes(new ClusterSpec.MonitorSettings(monitorUser, "monitor", Duration.ofSeconds(1),
                Duration.ofSeconds(2), 3, 2));
    }

    private static Relogin prove(AccountHashes hashes, Node on, String user, byte[] seed, byte[] answer) throws Exception {
        return hashes.prove(on, user, seed, answer).get(10, TimeUnit.SECONDS);
    }

    private static byte[] sha1(byte[]... parts) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-1");
        for (byte[] p : parts) {
            sha.update(p);
        }
        return sha.digest();
    }

    /** What a client that knows the password answers to the seed. */
    private static byte[] answer(String password, byte[] seed) throws Exception {
        byte[] stage1 = sha1(password.getBytes(StandardCharsets.UTF_8));
        byte[] mix = sha1(seed, sha1(stage1));
        byte[] out = new byte[20];
        for (int i = 0; i < 20; i++) {
            out[i] = (byte) (stage1[i] ^ mix[i]);
        }
        return out;
    }

    /** A real login: the seed of the server's greeting and the answer the client sent, once the server accepted it. */
    private record Login(byte[] seed, byte[] answer) {
    }

    private static Login login(String user, String password) throws Exception {
        try (RawMySqlClient client = new RawMySqlClient(db.port(), 5000)) {
            RawMySqlClient.Packet greeting = client.read();
            byte[] seed = RawMySqlClient.scramble(greeting.payload());
            byte[] answer = answer(password, seed);
            client.send(1, RawMySqlClient.handshakeResponseWithAnswer(user, answer, ""));
            RawMySqlClient.Packet result = client.read();
            assertTrue(result.isOk(), "the client logs in: " + (result.isErr() ? result.errorMessage() : "not OK"));
            return new Login(seed, answer);
        }
    }

    @Test
    void aRealLoginsAnswerIsProvenByTheStoredHashAndLogsInAgainWithoutThePassword() throws Exception {
        Login login = login("mover", MOVER_LOCAL_PASSWORD);
        Relogin.Proven proven;
        try (AccountHashes hashes = hashes("baton_monitor")) {
            proven = assertInstanceOf(Relogin.Proven.class, prove(hashes, node, "mover", login.seed(), login.answer()));
        }
        assertEquals("127.0.0.1", proven.accountHost(), "the row the server logged the client in with");
        try (RawMySqlClient again = new RawMySqlClient(db.port(), 5000)) {
            byte[] newSeed = RawMySqlClient.scramble(again.read().payload());
            again.send(1, RawMySqlClient.handshakeResponseWithAnswer("mover", proven.answer(newSeed), ""));
            RawMySqlClient.Packet result = again.read();
            assertTrue(result.isOk(), "the server accepts the recovered login: "
                    + (result.isErr() ? result.errorMessage() : "not OK"));
        }
    }

    @Test
    void ofTwoHostsOfOneUserWithDifferentPasswordsTheOneWhosePasswordTheAnswerProvesIsChosen() throws Exception {
        byte[] seed = new byte[20];
        new java.security.SecureRandom().nextBytes(seed);
        try (AccountHashes hashes = hashes("baton_monitor")) {
            assertEquals("%", assertInstanceOf(Relogin.Proven.class,
                    prove(hashes, node, "mover", seed, answer(MOVER_PASSWORD, seed))).accountHost());
            assertEquals("127.0.0.1", assertInstanceOf(Relogin.Proven.class,
                    prove(hashes, node, "mover", seed, answer(MOVER_LOCAL_PASSWORD, seed))).accountHost());
        }
    }

    @Test
    void aWrongAnswerOrAnAccountThatIsGoneIsRefusedAsCredentials() throws Exception {
        Login login = login("mover", MOVER_LOCAL_PASSWORD);
        try (AccountHashes hashes = hashes("baton_monitor")) {
            Relogin.Refused wrong = assertInstanceOf(Relogin.Refused.class,
                    prove(hashes, node, "mover", login.seed(), answer("not-the-password", login.seed())));
            assertEquals(Relogin.Refusal.CREDENTIALS, wrong.reason());
            assertEquals("the password of 'mover'@'%', 'mover'@'127.0.0.1' on node db1 is not the one the client logged "
                    + "in with (changed since?)", wrong.message());
            Relogin.Refused gone = assertInstanceOf(Relogin.Refused.class,
                    prove(hashes, node, "nobody", login.seed(), login.answer()));
            assertEquals(Relogin.Refusal.CREDENTIALS, gone.reason());
        }
    }

    @Test
    void anEmptyPasswordIsRecognisedFromTheStoredAccount() throws Exception {
        try (AccountHashes hashes = hashes("baton_monitor")) {
            assertEquals(new Relogin.EmptyPassword("%"), prove(hashes, node, "nopass", new byte[20], new byte[0]));
        }
    }

    @Test
    void ed25519AndAccountsWithSeveralPluginsAreRefusedAsAuthPlugin() throws Exception {
        byte[] seed = new byte[20];
        try (AccountHashes hashes = hashes("baton_monitor")) {
            Relogin.Refused ed = assertInstanceOf(Relogin.Refused.class,
                    prove(hashes, node, "app_ed", seed, answer("app", seed)));
            assertEquals(new Relogin.Refused(Relogin.Refusal.AUTH_PLUGIN, "'app_ed'@'%' uses ed25519 on node db1; Baton logs "
                    + "in again only as accounts using mysql_native_password alone"), ed);
            Relogin.Refused either = assertInstanceOf(Relogin.Refused.class,
                    prove(hashes, node, "either", seed, answer(MOVER_PASSWORD, seed)));
            assertEquals(Relogin.Refusal.AUTH_PLUGIN, either.reason());
            assertTrue(either.message().contains("several authentication plugins"), either.message());
        }
    }

    @Test
    void aMonitorWithoutTheGrantIsALookupFailureNamingTheGrant() throws Exception {
        Login login = login("mover", MOVER_LOCAL_PASSWORD);
        String expected = "the monitor user 'plain_monitor'@'%' may not read mysql.global_priv on node db1; to move "
                + "sessions, run GRANT SELECT ON mysql.global_priv TO 'plain_monitor'@'%' (or set sessions.move: false)";
        try (AccountHashes hashes = hashes("plain_monitor")) {
            assertEquals(new Relogin.Refused(Relogin.Refusal.LOOKUP_FAILED, expected),
                    prove(hashes, node, "mover", login.seed(), login.answer()));
            assertEquals(Optional.of(expected), hashes.readProblem(node).get(10, TimeUnit.SECONDS));
        }
        try (AccountHashes hashes = hashes("baton_monitor")) {
            assertEquals(Optional.empty(), hashes.readProblem(node).get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aNodeThatIsDownIsALookupFailure() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        Node down = new Node("db9", new HostPort("127.0.0.1", closedPort), 9);
        try (AccountHashes hashes = hashes("baton_monitor")) {
            assertEquals(new Relogin.Refused(Relogin.Refusal.LOOKUP_FAILED, "cannot read stored password hashes on node db9: "
                    + "connection refused"), prove(hashes, down, "mover", new byte[20], new byte[20]));
        }
    }

    @Test
    void fiftySessionsOfOneUserMovedAtOnceReadTheStoredHashesOnce() throws Exception {
        Login login = login("mover", MOVER_LOCAL_PASSWORD);
        ExecutorService sessions = Executors.newFixedThreadPool(50);
        try (AccountHashes hashes = hashes("baton_monitor")) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<CompletableFuture<Relogin>>> asked = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                asked.add(sessions.submit(() -> {
                    go.await();
                    return hashes.prove(node, "mover", login.seed(), login.answer());
                }));
            }
            go.countDown();
            for (Future<CompletableFuture<Relogin>> a : asked) {
                assertInstanceOf(Relogin.Proven.class, a.get(10, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS));
            }
            assertEquals(1, hashes.reads());
        } finally {
            sessions.shutdownNow();
        }
    }
}
