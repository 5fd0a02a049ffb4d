package dev.baton.protocol;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NativePasswordProofTest {
    /** MySQL's and MariaDB's {@code PASSWORD('password')}, as {@code mysql.user} stores it. */
    private static final String STORED = "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19";
    private static final byte[] SEED = HexFormat.of().parseHex("3d4c5a2b6e7f08192a3b4c5d6e7f8091a2b3c4d5");
    private static final byte[] OTHER_SEED = HexFormat.of().parseHex("0102030405060708090a0b0c0d0e0f1011121314");

    /** What a client that knows the password sends, computed independently of the class under test. */
    private static byte[] clientAnswer(String password, byte[] seed) throws Exception {
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-1");
        byte[] stage1 = sha.digest(password.getBytes(StandardCharsets.UTF_8));
        byte[] stage2 = sha.digest(stage1);
        sha.update(seed);
        byte[] mix = sha.digest(stage2);
        byte[] out = new byte[20];
        for (int i = 0; i < 20; i++) {
            out[i] = (byte) (stage1[i] ^ mix[i]);
        }
        return out;
    }

    @Test
    void theStoredHashOfPasswordIsSha1OfSha1OfIt() throws Exception {
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-1");
        byte[] expected = sha.digest(sha.digest("password".getBytes(StandardCharsets.UTF_8)));
        assertArrayEquals(expected, NativePasswordProof.stage2(STORED));
        assertArrayEquals(expected, NativePasswordProof.stage2("*" + STORED.substring(1).toLowerCase()));
    }

    @Test
    void theClientsAnswerAndTheStoredHashRecoverStage1WhichAnswersAnyLaterSeedAsTheClientWould() throws Exception {
        byte[] stage1 = NativePasswordProof.recoverStage1(clientAnswer("password", SEED), SEED, NativePasswordProof.stage2(STORED))
                .orElseThrow();
        assertArrayEquals(java.security.MessageDigest.getInstance("SHA-1").digest("password".getBytes(StandardCharsets.UTF_8)),
                stage1);
        assertArrayEquals(clientAnswer("password", OTHER_SEED), NativePasswordProof.answer(stage1, OTHER_SEED));
        assertArrayEquals(clientAnswer("password", SEED), NativePasswordProof.answer(stage1, SEED));
    }

    @Test
    void anAnswerWithTheWrongPasswordRecoversNothing() throws Exception {
        assertTrue(NativePasswordProof.recoverStage1(clientAnswer("Password", SEED), SEED, NativePasswordProof.stage2(STORED))
                .isEmpty());
        assertTrue(NativePasswordProof.recoverStage1(clientAnswer("password", OTHER_SEED), SEED,
                NativePasswordProof.stage2(STORED)).isEmpty(), "an answer to another seed proves nothing here");
    }

    @Test
    void anEmptyOrShortAnswerRecoversNothingAndAnEmptyPasswordAnswersWithNothing() {
        byte[] stage2 = NativePasswordProof.stage2(STORED);
        assertTrue(NativePasswordProof.recoverStage1(new byte[0], SEED, stage2).isEmpty());
        assertTrue(NativePasswordProof.recoverStage1(new byte[19], SEED, stage2).isEmpty());
        assertTrue(NativePasswordProof.recoverStage1(null, SEED, stage2).isEmpty());
        assertEquals(0, NativePasswordProof.answer(null, SEED).length);
    }

    @Test
    void aSeedWithItsTrailingNulIsCutToTwentyBytes() {
        byte[] withNul = java.util.Arrays.copyOf(SEED, 21);
        assertArrayEquals(SEED, NativePasswordProof.seed(withNul));
        assertArrayEquals(SEED, NativePasswordProof.seed(SEED));
    }

    @Test
    void storedValuesOfOtherPluginsOrBrokenOnesAreRefusedWithTheReason() {
        assertEquals("not a mysql_native_password hash ('*' and 40 hex digits): 0 characters",
                assertThrows(IllegalArgumentException.class, () -> NativePasswordProof.stage2("")).getMessage());
        assertEquals("not a mysql_native_password hash ('*' and 40 hex digits): 45 characters",
                assertThrows(IllegalArgumentException.class, () -> NativePasswordProof.stage2(
                        "$5$ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop")).getMessage());
        assertEquals("not a mysql_native_password hash: it has characters that are not hex digits",
                assertThrows(IllegalArgumentException.class, () -> NativePasswordProof.stage2(
                        "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1EZZ")).getMessage());
        assertEquals("not a mysql_native_password hash ('*' and 40 hex digits): null",
                assertThrows(IllegalArgumentException.class, () -> NativePasswordProof.stage2(null)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> NativePasswordProof.answer(new byte[19], SEED));
    }
}
