package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;

/**
 * Finds the connection id a command asks the server to kill, and builds the same command naming another id. Baton
 * greets clients with ids of its own, so a client's {@code KILL QUERY <id from the greeting>} (Connector/J's
 * {@code Statement.cancel()}, the {@code mariadb} client's Ctrl-C) must be translated before the server sees it.
 *
 * <p>Two forms are read: COM_PROCESS_KILL (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_process_kill.html),
 * and a COM_QUERY whose whole text is {@code KILL [HARD | SOFT] [CONNECTION | QUERY] <digits>}, in any case, with
 * any spaces, tabs or line breaks between the words, and at most a {@code ;} after the number. A minus sign before
 * the digits is read as a 32-bit id that a client took for a signed int (MariaDB Connector/J reads the greeting's
 * id that way and sends {@code KILL QUERY -1294967296} for id 3000000000). Anything else is not
 * recognised and yields null: comments, an expression in place of the number, a second statement after it, and
 * MariaDB's {@code KILL QUERY ID <query id>} and {@code KILL USER <name>}, which name no connection.
 */
public final class KillCommand {
    static final int COM_QUERY = 0x03;
    static final int COM_PROCESS_KILL = 0x0C;
    /** Longer than any KILL statement worth reading: {@code KILL HARD CONNECTION} and twenty digits, with room for spaces. */
    public static final int MAX_PAYLOAD = 128;
    private static final int MAX_DIGITS = 18; // fits a long
    /** The optional words between KILL and the number, in the order MariaDB's grammar allows them. */
    private static final String[][] MODIFIERS = {{"hard", "soft"}, {"connection", "query"}};

    /**
     * A recognised KILL: the connection id it names, and where that id sits in the payload.
     *
     * @param connectionId the id the client asks to kill
     * @param from         payload offset of the id's first byte
     * @param to           payload offset just past the id
     * @param binary       true for COM_PROCESS_KILL's 4-byte id, false for the digits of a statement
     */
    public record Target(long connectionId, int from, int to, boolean binary) {
    }

    private KillCommand() {
    }

    /**
     * The connection a command names, or null if it is not a KILL this class reads.
     *
     * @param buf    holds the whole command payload from {@code index}
     * @param index  where the payload (the command byte) starts
     * @param length the payload length
     */
    public static Target find(ByteBuf buf, int index, int length) {
        if (length < 2 || length > MAX_PAYLOAD) {
            return null;
        }
        int command = buf.getUnsignedByte(index);
        if (command == COM_PROCESS_KILL) {
            return length == 5 ? new Target(buf.getUnsignedIntLE(index + 1), 1, 5, true) : null; // int<4> connection_id
        }
        if (command != COM_QUERY) {
            return null;
        }
        int end = index + length;
        int i = skipSpace(buf, index + 1, end);
        int after = word(buf, i, end, "kill");
        if (after < 0 || (i = skipSpace(buf, after, end)) == after) {
            return null;
        }
        for (String[] optional : MODIFIERS) {
            for (String keyword : optional) {
                after = word(buf, i, end, keyword);
                if (after >= 0) {
                    int next = skipSpace(buf, after, end);
                    if (next == after) {
                        return null; // QUERYID, CONNECTION_ID(): not a keyword followed by a number
                    }
                    i = next;
                    break;
                }
            }
        }
        boolean negative = i < end && buf.getByte(i) == '-';
        if (negative) {
            i++;
        }
        int digits = i;
        long id = 0;
        while (i < end && isDigit(buf.getByte(i))) {
            if (i - digits == MAX_DIGITS) {
                return null;
            }
            id = id * 10 + (buf.getByte(i) - '0');
            i++;
        }
        if (i == digits) {
            return null;
        }
        int numberEnd = i;
        i = skipSpace(buf, i, end);
        if (i < end && buf.getByte(i) == ';') {
            i = skipSpace(buf, i + 1, end);
        }
        if (i != end) {
            return null;
        }
        if (negative) {
            if (id == 0 || id > 1L << 31) {
                return null; // not a signed 32-bit int
            }
            return new Target((1L << 32) - id, digits - 1 - index, numberEnd - index, false);
        }
        return new Target(id, digits - index, numberEnd - index, false);
    }

    /**
     * The whole frame of {@code payload}'s command naming {@code connectionId} in place of {@code target}'s id, with
     * the given sequence id. The caller still owns {@code payload}.
     */
    public static ByteBuf rewrite(ByteBufAllocator alloc, int sequenceId, ByteBuf payload, int index, int length, Target target,
                                  long connectionId) {
        ByteBuf out = alloc.buffer(length + 24);
        if (target.binary()) {
            out.writeByte(COM_PROCESS_KILL);
            out.writeIntLE((int) connectionId); // int<4> connection_id
        } else {
            out.writeBytes(payload, index, target.from());
            out.writeCharSequence(Long.toString(connectionId), StandardCharsets.US_ASCII);
            out.writeBytes(payload, index + target.to(), length - target.to());
        }
        return Packets.frame(alloc, sequenceId, out);
    }

    /** The index just past {@code lowerCaseWord} if it starts at {@code i} (any case), else -1. */
    private static int word(ByteBuf buf, int i, int end, String lowerCaseWord) {
        int n = lowerCaseWord.length();
        if (end - i < n) {
            return -1;
        }
        for (int k = 0; k < n; k++) {
            if ((buf.getByte(i + k) | 0x20) != lowerCaseWord.charAt(k)) {
                return -1;
            }
        }
        return i + n;
    }

    private static int skipSpace(ByteBuf buf, int i, int end) {
        while (i < end && isSpace(buf.getByte(i))) {
            i++;
        }
        return i;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == 0x0B || b == '\f';
    }

    private static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }
}
