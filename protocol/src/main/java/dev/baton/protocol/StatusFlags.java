package dev.baton.protocol;

/**
 * Server status flags carried by OK and EOF packets
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/mysql__com_8h.html, enum SERVER_STATUS_flags_enum).
 */
public final class StatusFlags {
    public static final int SERVER_STATUS_IN_TRANS = 1;
    public static final int SERVER_STATUS_AUTOCOMMIT = 1 << 1;
    public static final int SERVER_MORE_RESULTS_EXISTS = 1 << 3;
    public static final int SERVER_STATUS_CURSOR_EXISTS = 1 << 6;
    public static final int SERVER_STATUS_LAST_ROW_SENT = 1 << 7;
    public static final int SERVER_STATUS_IN_TRANS_READONLY = 1 << 13;
    public static final int SERVER_SESSION_STATE_CHANGED = 1 << 14;

    private StatusFlags() {
    }
}
