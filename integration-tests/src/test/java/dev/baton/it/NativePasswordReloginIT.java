package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RawMySqlClient;
import dev.baton.protocol.NativePasswordProof;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The arithmetic that lets Baton log in again as a user whose login it relayed, on a real MariaDB: the stored hash and
 * one real client answer recover what answers any later scramble, and the server accepts that answer.
 */
class NativePasswordReloginIT {
    private static LocalMariaDb db;

    @BeforeAll
    static void start() {
        db = LocalMariaDb.start("relogin");
        db.sql("CREATE USER 'relogin'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('s3cret-Pw')");
    }

    @AfterAll
    static void stop() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void aRelayedLoginAndTheStoredHashLogInAgainWithoutThePassword() throws Exception {
        byte[] stage2 = NativePasswordProof.stage2(db.query(
                "SELECT authentication_string FROM mysql.user WHERE user = 'relogin'").trim());
        byte[] stage1;
        try (RawMySqlClient client = new RawMySqlClient(db.port(), 5000)) {
            RawMySqlClient.Packet greeting = client.read();
            byte[] seed = RawMySqlClient.scramble(greeting.payload());
            byte[] response = RawMySqlClient.handshakeResponse(greeting, "relogin", "s3cret-Pw", "");
            client.send(1, response);
            assertTrue(client.loginAnswer("s3cret-Pw").isOk(), "the client logs in with its password");
            // What a proxy sees: the 20 bytes of answer in the response it relayed.
            byte[] answer = answerIn(response, "relogin");
            stage1 = NativePasswordProof.recoverStage1(answer, seed, stage2).orElseThrow();
        }
        try (RawMySqlClient again = new RawMySqlClient(db.port(), 5000)) {
            RawMySqlClient.Packet greeting = again.read();
            byte[] newSeed = RawMySqlClient.scramble(greeting.payload());
            again.send(1, RawMySqlClient.handshakeResponseWithAnswer("relogin", NativePasswordProof.answer(stage1, newSeed), ""));
            RawMySqlClient.Packet result = again.read();
            assertTrue(result.isOk(), "the server accepts the answer made without the password: "
                    + (result.isErr() ? result.errorMessage() : "first byte " + result.first()));
        }
        try (RawMySqlClient wrong = new RawMySqlClient(db.port(), 5000)) {
            RawMySqlClient.Packet greeting = wrong.read();
            byte[] seed = RawMySqlClient.scramble(greeting.payload());
            byte[] response = RawMySqlClient.handshakeResponse(greeting, "relogin", "not-the-password", "");
            assertTrue(NativePasswordProof.recoverStage1(answerIn(response, "relogin"), seed, stage2).isEmpty(),
                    "a wrong password's answer recovers nothing");
        }
    }

    /** The auth answer in a handshake response: after 32 bytes of header and the user's NUL-terminated name, length-prefixed. */
    private static byte[] answerIn(byte[] response, String user) {
        int at = 32 + user.length() + 1;
        int length = response[at] & 0xFF;
        return java.util.Arrays.copyOfRange(response, at + 1, at + 1 + length);
    }
}
