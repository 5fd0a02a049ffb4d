package dev.baton.proxy.move;

import dev.baton.protocol.NativePasswordProof;

import java.util.Locale;

/**
 * Whether Baton can log in again as a session's user on another node, from what the client answered at login and the
 * password hashes the node stores: with the recovered {@code SHA1(password)}, with an empty password, or not, and why
 * not. No variant shows a hash, seed, answer or {@code SHA1(password)} in its {@code toString}.
 */
public sealed interface Relogin permits Relogin.Proven, Relogin.EmptyPassword, Relogin.Refused {

    /** Why Baton cannot log in again as a user; {@link #label()} is the metrics label value. */
    enum Refusal {
        /** Every account of that name logs in with another plugin (ed25519, caching_sha2_password, PAM, GSSAPI...). */
        AUTH_PLUGIN,
        /** No stored hash proves the client's answer: its password changed since login, or the account is gone. */
        CREDENTIALS,
        /** The monitor user could not read the stored hashes: a missing grant, or the node did not answer. */
        LOOKUP_FAILED;

        /** The lower-case name, as a Prometheus label value. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The client's answer proved the password of the account {@code 'user'@'accountHost'}: {@code SHA1(password)} is
     * known, which answers any later scramble of {@code mysql_native_password}. Keep it in memory for the life of the
     * session only.
     */
    final class Proven implements Relogin {
        private final byte[] stage1;
        private final String accountHost;

        Proven(byte[] stage1, String accountHost) {
            this.stage1 = stage1.clone();
            this.accountHost = accountHost;
        }

        /** The answer to a server's 20-byte scramble, as the client would give it with its password. */
        public byte[] answer(byte[] seed) {
            return NativePasswordProof.answer(stage1, seed);
        }

        /** A copy of {@code SHA1(password)}. */
        public byte[] stage1() {
            return stage1.clone();
        }

        /** The host part of the account whose stored hash the client's answer proved. */
        public String accountHost() {
            return accountHost;
        }

        @Override
        public String toString() {
            return "Proven[account host '" + accountHost + "']";
        }
    }

    /** The client logged in with an empty password, and the account {@code 'user'@'accountHost'} has one. */
    record EmptyPassword(String accountHost) implements Relogin {
        /** An empty password answers every scramble with nothing. */
        public byte[] answer(byte[] seed) {
            return new byte[0];
        }
    }

    /** Baton cannot log in again as the user; {@code message} says why in an operator's words. */
    record Refused(Refusal reason, String message) implements Relogin {
    }
}
