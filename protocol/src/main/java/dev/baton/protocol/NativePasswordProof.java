package dev.baton.protocol;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The arithmetic of {@code mysql_native_password}, enough to log in again as a user whose login Baton relayed,
 * without the password. The server stores {@code stage2 = SHA1(SHA1(password))}; a client answers a scramble
 * (seed) with {@code SHA1(password) XOR SHA1(seed + stage2)}. Knowing {@code stage2} and the seed it relayed,
 * Baton recovers {@code stage1 = SHA1(password)} from the client's answer, checks {@code SHA1(stage1) == stage2},
 * and can answer any later seed with it. {@code stage1} is as good as the password for this plugin: callers keep it
 * in memory only, for the life of one session, and never log it.
 */
public final class NativePasswordProof {
    /** Length of a SHA-1 digest, of {@code stage1}, {@code stage2} and of a client's answer. */
    public static final int LENGTH = 20;

    private NativePasswordProof() {
    }

    /**
     * Parses {@code stage2} as the server stores it for the plugin ({@code mysql.user.authentication_string} /
     * {@code mysql.global_priv}: {@code '*'} and 40 hex digits).
     *
     * @throws IllegalArgumentException naming what is wrong with the text
     */
    public static byte[] stage2(String stored) {
        if (stored == null || stored.length() != 1 + 2 * LENGTH || stored.charAt(0) != '*') {
            throw new IllegalArgumentException("not a mysql_native_password hash ('*' and 40 hex digits): "
                    + (stored == null ? "null" : stored.length() + " characters"));
        }
        try {
            return HexFormat.of().parseHex(stored, 1, stored.length());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a mysql_native_password hash: it has characters that are not hex digits");
        }
    }

    /**
     * The client's answer to {@code seed}, from {@code stage1}: {@code stage1 XOR SHA1(seed + SHA1(stage1))}. An empty
     * password answers with an empty string; pass a null {@code stage1} for it.
     */
    public static byte[] answer(byte[] stage1, byte[] seed) {
        if (stage1 == null) {
            return new byte[0];
        }
        requireLength(stage1, "stage1");
        return xor(stage1, sha1(seed, sha1(stage1)));
    }

    /**
     * Recovers {@code stage1 = SHA1(password)} from a client's {@code answer} to {@code seed}, given the
     * {@code stage2} the server stores; empty if the answer does not prove the password (it would not log in).
     */
    public static Optional<byte[]> recoverStage1(byte[] answer, byte[] seed, byte[] stage2) {
        requireLength(stage2, "stage2");
        if (answer == null || answer.length != LENGTH) {
            return Optional.empty();
        }
        byte[] stage1 = xor(answer, sha1(seed, stage2));
        return MessageDigest.isEqual(sha1(stage1), stage2) ? Optional.of(stage1) : Optional.empty();
    }

    /** The 20 bytes of scramble a handshake carries (its two parts joined), without the trailing NUL some add. */
    public static byte[] seed(byte[] authPluginData) {
        return authPluginData.length > LENGTH ? Arrays.copyOf(authPluginData, LENGTH) : authPluginData.clone();
    }

    static byte[] sha1(byte[]... parts) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-1");
            for (byte[] p : parts) {
                d.update(p);
            }
            return d.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-1", e);
        }
    }

    private static byte[] xor(byte[] a, byte[] b) {
        byte[] out = new byte[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = (byte) (a[i] ^ b[i]);
        }
        return out;
    }

    private static void requireLength(byte[] value, String what) {
        if (value == null || value.length != LENGTH) {
            throw new IllegalArgumentException(what + " must be " + LENGTH + " bytes, got "
                    + (value == null ? "null" : value.length));
        }
    }
}
