package dev.baton.proxy.move;

import dev.baton.protocol.NativePasswordProof;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AccountHashesTest {
    /** MySQL's and MariaDB's {@code PASSWORD('password')}, as the server stores it. */
    private static final String STORED = "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19";
    /** {@code PASSWORD('other')}, computed below and checked against the known form. */
    private static final String OTHER_STORED = stored("other");
    private static final byte[] SEED = HexFormat.of().parseHex("3d4c5a2b6e7f08192a3b4c5d6e7f8091a2b3c4d5");
    private static final byte[] LATER_SEED = HexFormat.of().parseHex("0102030405060708090a0b0c0d0e0f1011121314");
    private static final Node NODE = new Node("db2", new HostPort("127.0.0.1", 3307), 2);

    private final AtomicLong nanos = new AtomicLong();
    private AccountHashes hashes;

    @AfterEach
    void close() {
        if (hashes != null) {
            hashes.close();
        }
    }

    private static byte[] sha1(byte[]... parts) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-1");
            for (byte[] p : parts) {
                sha.update(p);
            }
            return sha.digest();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String stored(String password) {
        return "*" + HexFormat.of().withUpperCase().formatHex(sha1(sha1(password.getBytes(StandardCharsets.UTF_8))));
    }

    /** What a client that knows the password answers, computed independently of the classes under test. */
    private static byte[] clientAnswer(String password, byte[] seed) {
        byte[] stage1 = sha1(password.getBytes(StandardCharsets.UTF_8));
        byte[] mix = sha1(seed, sha1(stage1));
        byte[] out = new byte[20];
        for (int i = 0; i < 20; i++) {
            out[i] = (byte) (stage1[i] ^ mix[i]);
        }
        return out;
    }

    private static StoredCredential nativeRow(String host, String stored) {
        return new StoredCredential(host, "mysql_native_password", stored, false);
    }

    private static Relogin decide(List<StoredCredential> rows, byte[] answer) {
        return AccountHashes.decide(NODE, "app", rows, SEED, answer);
    }

    @Test
    void theStoredHashOfPasswordComputedHereIsTheOneServersStore() {
        assertEquals(STORED, stored("password"));
    }

    @Test
    void anAnswerThatProvesTheStoredHashRecoversWhatAnswersLaterSeedsAsTheClientWould() {
        Relogin outcome = decide(List.of(nativeRow("%", STORED)), clientAnswer("password", SEED));
        Relogin.Proven proven = assertInstanceOf(Relogin.Proven.class, outcome);
        assertArrayEquals(sha1("password".getBytes(StandardCharsets.UTF_8)), proven.stage1());
        assertArrayEquals(clientAnswer("password", LATER_SEED), proven.answer(LATER_SEED));
        assertEquals("%", proven.accountHost());
    }

    @Test
    void ofTwoHostsWithDifferentPasswordsTheOneWhosePasswordTheClientKnewIsChosen() {
        List<StoredCredential> rows = List.of(nativeRow("10.0.0.%", OTHER_STORED), nativeRow("%", STORED));
        Relogin.Proven proven = assertInstanceOf(Relogin.Proven.class, decide(rows, clientAnswer("password", SEED)));
        assertEquals("%", proven.accountHost());
        Relogin.Proven other = assertInstanceOf(Relogin.Proven.class, decide(rows, clientAnswer("other", SEED)));
        assertEquals("10.0.0.%", other.accountHost());
    }

    @Test
    void aWrongPasswordIsRefusedAsCredentialsNamingTheAccountsButNotTheirHashes() {
        Relogin outcome = decide(List.of(nativeRow("%", STORED)), clientAnswer("Password", SEED));
        assertEquals(new Relogin.Refused(Relogin.Refusal.CREDENTIALS, "the password of 'app'@'%' on node db2 is not the one "
                + "the client logged in with (changed since?)"), outcome);
    }

    @Test
    void anAccountThatIsGoneIsRefusedAsCredentials() {
        assertEquals(new Relogin.Refused(Relogin.Refusal.CREDENTIALS, "no account named 'app' on node db2 (dropped since the "
                + "client logged in?)"), decide(List.of(), clientAnswer("password", SEED)));
    }

    @Test
    void anEmptyAnswerLogsInAgainOnlyAsAnAccountWithAnEmptyPassword() {
        Relogin.EmptyPassword empty = assertInstanceOf(Relogin.EmptyPassword.class,
                decide(List.of(nativeRow("10.%", STORED), nativeRow("%", "")), new byte[0]));
        assertEquals("%", empty.accountHost());
        assertEquals(0, empty.answer(LATER_SEED).length);
        assertEquals(Relogin.Refusal.CREDENTIALS,
                assertInstanceOf(Relogin.Refused.class, decide(List.of(nativeRow("%", STORED)), new byte[0])).reason());
        assertEquals(Relogin.Refusal.CREDENTIALS, assertInstanceOf(Relogin.Refused.class,
                decide(List.of(nativeRow("%", "")), clientAnswer("password", SEED))).reason(),
                "a password where the account has none proves nothing");
    }

    @Test
    void accountsOfOtherPluginsAreRefusedAsAuthPluginNamingThePlugin() {
        List<StoredCredential> rows = List.of(new StoredCredential("%", "ed25519", "ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY", false),
                new StoredCredential("localhost", "unix_socket", "", false));
        assertEquals(new Relogin.Refused(Relogin.Refusal.AUTH_PLUGIN, "'app'@'%' uses ed25519, 'app'@'localhost' uses "
                + "unix_socket on node db2; Baton logs in again only as accounts using mysql_native_password alone"),
                decide(rows, clientAnswer("password", SEED)));
        assertEquals("auth_plugin", Relogin.Refusal.AUTH_PLUGIN.label());
        assertEquals("credentials", Relogin.Refusal.CREDENTIALS.label());
        assertEquals("lookup_failed", Relogin.Refusal.LOOKUP_FAILED.label());
    }

    @Test
    void anAccountWithSeveralPluginsIsNeverUsedEvenWhenItsNativeHashWouldProveTheAnswer() {
        Relogin outcome = decide(List.of(new StoredCredential("%", "mysql_native_password", STORED, true)),
                clientAnswer("password", SEED));
        assertEquals(new Relogin.Refused(Relogin.Refusal.AUTH_PLUGIN, "'app'@'%' uses several authentication plugins "
                + "(IDENTIFIED VIA ... OR ...) on node db2; Baton logs in again only as accounts using mysql_native_password "
                + "alone"), outcome);
    }

    @Test
    void aNativeRowWhoseStoredValueIsNoHashProvesNothingAndTheNextRowIsTried() {
        List<StoredCredential> rows = List.of(nativeRow("10.%", "invalid"), nativeRow("%", STORED));
        assertInstanceOf(Relogin.Proven.class, decide(rows, clientAnswer("password", SEED)));
    }

    @Test
    void noOutcomeShowsTheHashTheSeedTheAnswerOrStage1() {
        byte[] answer = clientAnswer("password", SEED);
        byte[] stage1 = sha1("password".getBytes(StandardCharsets.UTF_8));
        List<StoredCredential> rows = List.of(nativeRow("%", STORED));
        List<Object> shown = List.of(decide(rows, answer), decide(rows, clientAnswer("wrong", SEED)),
                decide(List.of(nativeRow("%", "")), new byte[0]), rows.get(0));
        for (Object o : shown) {
            String text = o.toString();
            for (byte[] secret : List.of(answer, stage1, SEED, NativePasswordProof.stage2(STORED))) {
                assertFalse(text.toLowerCase().contains(HexFormat.of().formatHex(secret)), text);
                assertFalse(text.contains(java.util.Base64.getEncoder().encodeToString(secret)), text);
                assertFalse(text.contains(java.util.Arrays.toString(secret)), text);
            }
            assertFalse(text.contains(STORED.substring(1)), text);
        }
        assertEquals("Proven[account host '%']", shown.get(0).toString());
    }

    private AccountHashes hashes(AccountHashes.ReadRows rows) {
        hashes = new AccountHashes(rows, "baton_monitor", Duration.ofSeconds(10), nanos::get);
        return hashes;
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static Relogin await(CompletableFuture<Relogin> outcome) throws Exception {
        return outcome.get(10, TimeUnit.SECONDS);
    }

    @Test
    void fiftySessionsOfOneUserProvenAtOnceReadTheTableOnce() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger reads = new AtomicInteger();
        AccountHashes hashes = hashes((node, user) -> {
            reads.incrementAndGet();
            awaitQuietly(release);
            return List.of(nativeRow("%", STORED));
        });
        List<CompletableFuture<Relogin>> outcomes = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            outcomes.add(hashes.prove(NODE, "app", SEED, clientAnswer("password", SEED)));
        }
        release.countDown();
        for (CompletableFuture<Relogin> o : outcomes) {
            assertInstanceOf(Relogin.Proven.class, await(o));
        }
        assertEquals(1, reads.get());
        assertEquals(1, hashes.reads());
    }

    @Test
    void rowsAreReadAgainOnceTheyAreOlderThanTheTimeTheyAreKept() throws Exception {
        AtomicInteger reads = new AtomicInteger();
        AccountHashes hashes = hashes((node, user) -> {
            reads.incrementAndGet();
            return List.of(nativeRow("%", STORED));
        });
        await(hashes.prove(NODE, "app", SEED, clientAnswer("password", SEED)));
        await(hashes.prove(NODE, "app", SEED, clientAnswer("password", SEED)));
        assertEquals(1, reads.get());
        org.awaitility.Awaitility.await().until(() -> !hashes.reading());
        nanos.addAndGet(Duration.ofSeconds(11).toNanos());
        await(hashes.prove(NODE, "app", SEED, clientAnswer("password", SEED)));
        assertEquals(2, reads.get());
        await(hashes.prove(NODE, "other", SEED, clientAnswer("password", SEED)));
        assertEquals(3, reads.get(), "another user is another read");
    }

    @Test
    void aFailedReadIsNeverKeptAndNamesTheGrant() throws Exception {
        AtomicInteger reads = new AtomicInteger();
        AccountHashes hashes = hashes((node, user) -> {
            if (reads.incrementAndGet() == 1) {
                throw new AccountLookupException("the monitor user 'baton_monitor'@'%' may not read mysql.global_priv on "
                        + "node db2; to move sessions, run GRANT SELECT ON mysql.global_priv TO 'baton_monitor'@'%' "
                        + "(or set sessions.move: false)");
            }
            return List.of(nativeRow("%", STORED));
        });
        Relogin.Refused refused = assertInstanceOf(Relogin.Refused.class,
                await(hashes.prove(NODE, "app", SEED, clientAnswer("password", SEED))));
        assertEquals(Relogin.Refusal.LOOKUP_FAILED, refused.reason());
        assertTrue(refused.message().contains("GRANT SELECT ON mysql.global_priv TO 'baton_monitor'@'%'"), refused.message());
        assertInstanceOf(Relogin.Proven.class, await(hashes.prove(NODE, "app", SEED, clientAnswer("password", SEED))));
        assertEquals(2, reads.get());
    }

    @Test
    void aPasswordChangedSinceTheRowsWereReadIsProvenByReadingThemOnceMore() throws Exception {
        AtomicReference<String> current = new AtomicReference<>(OTHER_STORED);
        AtomicInteger reads = new AtomicInteger();
        AccountHashes hashes = hashes((node, user) -> {
            reads.incrementAndGet();
            return List.of(nativeRow("%", current.get()));
        });
        assertInstanceOf(Relogin.Proven.class, await(hashes.prove(NODE, "app", SEED, clientAnswer("other", SEED))));
        current.set(STORED);
        assertInstanceOf(Relogin.Proven.class, await(hashes.prove(NODE, "app", SEED, clientAnswer("password", SEED))));
        assertEquals(2, reads.get());
        assertEquals(Relogin.Refusal.CREDENTIALS, assertInstanceOf(Relogin.Refused.class,
                await(hashes.prove(NODE, "app", SEED, clientAnswer("wrong", SEED)))).reason());
        assertEquals(3, reads.get(), "a wrong answer reads the rows kept once more, and no more");
    }

    @Test
    void aReadThatFailsUnexpectedlyIsALookupFailureThatShowsNoDetail() throws Exception {
        AccountHashes hashes = hashes((node, user) -> {
            throw new IllegalStateException("boom");
        });
        assertEquals(new Relogin.Refused(Relogin.Refusal.LOOKUP_FAILED, "cannot read stored password hashes on node db2: IllegalStateException"),
                await(hashes.prove(NODE, "app", SEED, clientAnswer("password", SEED))));
    }

    @Test
    void aReadStillWaitingWhenBatonStopsCompletesAsALookupFailure() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AccountHashes hashes = hashes((node, user) -> {
            awaitQuietly(release);
            return List.of(nativeRow("%", STORED));
        });
        List<CompletableFuture<Relogin>> outcomes = new ArrayList<>();
        for (String user : List.of("a", "b", "c")) {   // two threads busy, the third read waits in the queue
            outcomes.add(hashes.prove(NODE, user, SEED, clientAnswer("password", SEED)));
        }
        hashes.close();
        release.countDown();
        assertEquals(new Relogin.Refused(Relogin.Refusal.LOOKUP_FAILED, "cannot read stored password hashes on node db2: "
                + "Baton is stopping"), await(outcomes.get(2)));
        assertEquals(Relogin.Refusal.LOOKUP_FAILED, assertInstanceOf(Relogin.Refused.class,
                await(hashes.prove(NODE, "d", SEED, clientAnswer("password", SEED)))).reason());
    }

    @Test
    void aSeedOfAnotherLengthIsAProgrammingError() {
        AccountHashes hashes = hashes((node, user) -> List.of());
        assertThrows(IllegalArgumentException.class, () -> hashes.prove(NODE, "app", new byte[21], new byte[20]));
    }

    @Test
    void onlyMariaDbFrom104KeepsAccountsInGlobalPriv() {
        assertTrue(AccountTable.hasGlobalPriv("10.11.6-MariaDB-0+deb12u1-log"));
        assertTrue(AccountTable.hasGlobalPriv("10.4.0-MariaDB"));
        assertTrue(AccountTable.hasGlobalPriv("11.4.2-MariaDB"));
        assertFalse(AccountTable.hasGlobalPriv("10.3.39-MariaDB"));
        assertFalse(AccountTable.hasGlobalPriv("8.0.36"));
        assertFalse(AccountTable.hasGlobalPriv("5.7.44-log"));
    }
}
