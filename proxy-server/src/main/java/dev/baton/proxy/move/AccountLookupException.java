package dev.baton.proxy.move;

/** The monitor user could not read an account's stored login; the message says why and, for a missing grant, which. */
final class AccountLookupException extends Exception {
    AccountLookupException(String message) {
        super(message);
    }

    AccountLookupException(String message, Throwable cause) {
        super(message, cause);
    }
}
