package dev.baton.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

/**
 * Recognises {@code USE db} at the start of a COM_QUERY, so the current database is known even for clients that
 * did not negotiate session tracking. Anything it cannot read with certainty yields null.
 */
final class UseStatement {
    private UseStatement() {
    }

    static String database(ByteBuf buf, int from, int end) {
        int i = skipSpace(buf, from, end);
        if (i + 4 > end) {
            return null;
        }
        if ((buf.getByte(i) | 0x20) != 'u' || (buf.getByte(i + 1) | 0x20) != 's' || (buf.getByte(i + 2) | 0x20) != 'e'
                || !isSpace(buf.getByte(i + 3))) {
            return null;
        }
        i = skipSpace(buf, i + 3, end);
        if (i >= end) {
            return null;
        }
        if (buf.getByte(i) == '`') {
            int close = buf.indexOf(i + 1, end, (byte) '`');
            return close < 0 ? null : buf.toString(i + 1, close - i - 1, StandardCharsets.UTF_8);
        }
        int start = i;
        while (i < end && !isSpace(buf.getByte(i)) && buf.getByte(i) != ';') {
            i++;
        }
        return i == start ? null : buf.toString(start, i - start, StandardCharsets.UTF_8);
    }

    private static int skipSpace(ByteBuf buf, int i, int end) {
        while (i < end && isSpace(buf.getByte(i))) {
            i++;
        }
        return i;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r';
    }
}
