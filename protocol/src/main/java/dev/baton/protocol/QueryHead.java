package dev.baton.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

/**
 * Recognises, in the visible head of a COM_QUERY, the statements that pin a session to its server without the server
 * saying so through session tracking (GET_LOCK, LOCK TABLES, XA, user variables assigned by SELECT) and those whose
 * tracked changes need care (SET STATEMENT, SET NAMES ... COLLATE). It reads bytes in place without allocating:
 * it runs on every query of a tracked session. What lies beyond the head is not seen.
 *
 * <p>It is a scanner, not a parser: a keyword inside a string literal or a comment counts too. Every such mistake
 * pins a session that could have moved, never the other way round.
 */
final class QueryHead {
    /** LOCK TABLE(S), or FLUSH TABLES ... WITH READ LOCK / FOR EXPORT. */
    static final int TABLE_LOCK = 1;
    static final int UNLOCK_TABLES = 1 << 1;
    /** GET_LOCK( anywhere. */
    static final int USER_LOCK = 1 << 2;
    /** RELEASE_ALL_LOCKS( anywhere. */
    static final int RELEASE_ALL_LOCKS = 1 << 3;
    /** XA START or XA BEGIN. */
    static final int XA_START = 1 << 4;
    /** XA COMMIT or XA ROLLBACK. */
    static final int XA_END = 1 << 5;
    /** {@code @name :=} or {@code INTO @name}: a user variable the server's tracking may not report. */
    static final int USER_VARIABLE = 1 << 6;
    /** A single {@code @} (not {@code @@}) anywhere, or CALL: a state change may hide behind a tracked variable. */
    static final int MAY_HIDE_STATE = 1 << 7;
    /** SET STATEMENT ... FOR: the variables MariaDB reports for it are the statement's, not the session's. */
    static final int SET_STATEMENT = 1 << 8;
    /** SET NAMES ... COLLATE: MariaDB does not report the collation_connection it sets. */
    static final int SET_NAMES_COLLATE = 1 << 9;
    /**
     * A SET that names a session_track_ variable: if its OK reports a state change but no session_track_ variable,
     * session_track_system_variables no longer includes itself.
     */
    static final int TRACKING = 1 << 10;

    private QueryHead() {
    }

    /** The flags above for the statement text in {@code [from, end)} of {@code buf}. */
    static int classify(ByteBuf buf, int from, int end) {
        int start = skipNoise(buf, from, end);
        int flags = 0;
        boolean set = false;
        if (word(buf, start, end, "LOCK")) {
            flags |= wordAfter(buf, start + 4, end, "TABLE") ? TABLE_LOCK : 0;
        } else if (word(buf, start, end, "UNLOCK")) {
            flags |= wordAfter(buf, start + 6, end, "TABLE") ? UNLOCK_TABLES : 0;
        } else if (word(buf, start, end, "FLUSH")) {
            flags |= containsWord(buf, start, end, "LOCK") || containsWord(buf, start, end, "EXPORT") ? TABLE_LOCK : 0;
        } else if (word(buf, start, end, "XA")) {
            int next = skipSpace(buf, start + 2, end);
            flags |= word(buf, next, end, "START") || word(buf, next, end, "BEGIN") ? XA_START : 0;
            flags |= word(buf, next, end, "COMMIT") || word(buf, next, end, "ROLLBACK") ? XA_END : 0;
        } else if (word(buf, start, end, "CALL")) {
            flags |= MAY_HIDE_STATE;
        } else if (word(buf, start, end, "SET")) {
            set = true;
            flags |= wordAfter(buf, start + 3, end, "STATEMENT") ? SET_STATEMENT : 0;
        }
        for (int i = start; i < end; i++) {
            int b = buf.getByte(i);
            if (b == '@') {
                if (i + 1 < end && buf.getByte(i + 1) == '@') {
                    i++; // @@system_variable
                    continue;
                }
                flags |= MAY_HIDE_STATE;
                if (assignedVariable(buf, i + 1, end)) {
                    flags |= USER_VARIABLE;
                }
                continue;
            }
            if (i > start && isIdentifier(buf.getByte(i - 1))) {
                continue; // only word starts matter below
            }
            switch (b | 0x20) {
                case 'g' -> flags |= word(buf, i, end, "GET_LOCK") ? USER_LOCK : 0;
                case 'r' -> flags |= word(buf, i, end, "RELEASE_ALL_LOCKS") ? RELEASE_ALL_LOCKS : 0;
                case 'i' -> flags |= word(buf, i, end, "INTO") && nextIsUserVariable(buf, i + 4, end) ? USER_VARIABLE : 0;
                case 'c' -> flags |= set && word(buf, i, end, "COLLATE") && containsWord(buf, start, i, "NAMES")
                        ? SET_NAMES_COLLATE : 0;
                case 's' -> flags |= set && startsWith(buf, i, end, "SESSION_TRACK_") ? TRACKING : 0;
                default -> {
                }
            }
        }
        return flags;
    }

    /**
     * The collation named after COLLATE in a SET NAMES statement in {@code [from, end)}, or null if it cannot be read
     * whole (quoted or bare, ending before {@code end} unless {@code whole}).
     */
    static String collation(ByteBuf buf, int from, int end, boolean whole) {
        for (int i = from; i < end; i++) {
            if ((i == from || !isIdentifier(buf.getByte(i - 1))) && word(buf, i, end, "COLLATE")) {
                int at = skipSpace(buf, i + 7, end);
                int quote = at < end ? buf.getByte(at) : 0;
                boolean quoted = quote == '\'' || quote == '"' || quote == '`';
                int nameStart = quoted ? at + 1 : at;
                int nameEnd = nameStart;
                while (nameEnd < end && isIdentifier(buf.getByte(nameEnd))) {
                    nameEnd++;
                }
                if (nameEnd == nameStart) {
                    return null;
                }
                if (quoted ? nameEnd >= end || buf.getByte(nameEnd) != quote : nameEnd == end && !whole) {
                    return null;
                }
                return buf.toString(nameStart, nameEnd - nameStart, StandardCharsets.US_ASCII);
            }
        }
        return null;
    }

    /** After the {@code @} at {@code at - 1}: a name (bare or quoted), optional spaces, then {@code :=}. */
    private static boolean assignedVariable(ByteBuf buf, int at, int end) {
        int i = at;
        int quote = i < end ? buf.getByte(i) : 0;
        if (quote == '\'' || quote == '"' || quote == '`') {
            int close = buf.indexOf(i + 1, end, (byte) quote);
            if (close < 0) {
                return false;
            }
            i = close + 1;
        } else {
            while (i < end && (isIdentifier(buf.getByte(i)) || buf.getByte(i) == '.' || buf.getByte(i) == '$')) {
                i++;
            }
        }
        i = skipSpace(buf, i, end);
        return i + 1 < end && buf.getByte(i) == ':' && buf.getByte(i + 1) == '=';
    }

    private static boolean nextIsUserVariable(ByteBuf buf, int at, int end) {
        int i = skipSpace(buf, at, end);
        return i < end && buf.getByte(i) == '@' && (i + 1 >= end || buf.getByte(i + 1) != '@');
    }

    /** Skips spaces and comments before a statement; an executable comment's content counts as the statement. */
    private static int skipNoise(ByteBuf buf, int i, int end) {
        while (true) {
            i = skipSpace(buf, i, end);
            if (i + 1 < end && buf.getByte(i) == '/' && buf.getByte(i + 1) == '*') {
                int at = i + 2;
                if (at < end && buf.getByte(at) == 'M') {
                    at++;
                }
                if (at < end && buf.getByte(at) == '!') {
                    at++;
                    while (at < end && buf.getByte(at) >= '0' && buf.getByte(at) <= '9') {
                        at++;
                    }
                    i = at; // /*!50001 SET ... */ runs its content
                    continue;
                }
                int close = indexOf(buf, i + 2, end, '*', '/');
                if (close < 0) {
                    return end;
                }
                i = close + 2;
            } else if (i < end && (buf.getByte(i) == '#' || startsWith(buf, i, end, "-- "))) {
                int eol = buf.indexOf(i, end, (byte) '\n');
                if (eol < 0) {
                    return end;
                }
                i = eol + 1;
            } else {
                return i;
            }
        }
    }

    private static int indexOf(ByteBuf buf, int from, int end, char first, char second) {
        for (int i = from; i + 1 < end; i++) {
            if (buf.getByte(i) == first && buf.getByte(i + 1) == second) {
                return i;
            }
        }
        return -1;
    }

    /** True if some word in {@code [from, end)} is {@code upper}. */
    private static boolean containsWord(ByteBuf buf, int from, int end, String upper) {
        for (int i = from; i < end; i++) {
            if ((i == from || !isIdentifier(buf.getByte(i - 1))) && word(buf, i, end, upper)) {
                return true;
            }
        }
        return false;
    }

    private static boolean wordAfter(ByteBuf buf, int at, int end, String upper) {
        int i = skipSpace(buf, at, end);
        return i > at && startsWith(buf, i, end, upper);
    }

    /** {@code upper} (case-insensitive) at {@code at}, not followed by an identifier character. */
    private static boolean word(ByteBuf buf, int at, int end, String upper) {
        int after = at + upper.length();
        return startsWith(buf, at, end, upper) && (after >= end || !isIdentifier(buf.getByte(after)));
    }

    private static boolean startsWith(ByteBuf buf, int at, int end, String upper) {
        if (at < 0 || at + upper.length() > end) {
            return false;
        }
        for (int k = 0; k < upper.length(); k++) {
            char c = upper.charAt(k);
            int b = buf.getByte(at + k);
            if (c >= 'A' && c <= 'Z' ? (b & 0xDF) != c : b != c) {
                return false;
            }
        }
        return true;
    }

    private static int skipSpace(ByteBuf buf, int i, int end) {
        while (i < end && isSpace(buf.getByte(i))) {
            i++;
        }
        return i;
    }

    private static boolean isSpace(int b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r';
    }

    private static boolean isIdentifier(int b) {
        return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_';
    }
}
