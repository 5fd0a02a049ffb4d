package dev.baton.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.baton.protocol.CapabilityFlags.CLIENT_SESSION_TRACK;
import static dev.baton.protocol.StatusFlags.SERVER_SESSION_STATE_CHANGED;

/**
 * Reads the few fields of Protocol::OK_Packet and Protocol::EOF_Packet
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_ok_packet.html,
 * page_protocol_basic_eof_packet.html) that session state depends on, in place and without allocating: the hot
 * path calls these on every response terminator.
 *
 * <p>Each reader is given the packet's payload length and the number of its bytes that can be read from
 * {@code index} (a scanner may show only the head of a long packet). A field that lies beyond the readable bytes
 * but inside the packet is simply unknown; a field or length that runs past the end of the packet itself is a
 * {@link MalformedPacketException}, the only exception these readers throw.
 */
public final class ResponseStatus {
    /** Session state change types (enum_session_state_type); the others (GTIDS, TRANSACTION_*) are skipped. */
    private static final int SESSION_TRACK_SYSTEM_VARIABLES = 0;
    private static final int SESSION_TRACK_SCHEMA = 1;
    private static final int SESSION_TRACK_STATE_CHANGE = 2;

    private ResponseStatus() {
    }

    /**
     * Status flags of the OK packet whose payload starts at {@code index}, or -1 if they lie beyond the
     * {@code available} readable bytes.
     *
     * @throws MalformedPacketException if the packet of {@code length} bytes ends before its status flags
     */
    public static int okStatus(ByteBuf buf, int index, int available, int length) {
        int at = statusIndex(buf, index, index + available, index + length);
        return at < 0 ? -1 : buf.getUnsignedShortLE(at);
    }

    /**
     * Status flags of the EOF packet (0xFE, warnings, status) at {@code index}, or -1 if they lie beyond the
     * {@code available} readable bytes.
     *
     * @throws MalformedPacketException if the packet of {@code length} bytes ends before its status flags
     */
    public static int eofStatus(ByteBuf buf, int index, int available, int length) {
        if (length < 5) {
            throw new MalformedPacketException("EOF packet of " + length + " bytes ends before its status flags");
        }
        return available >= 5 ? buf.getUnsignedShortLE(index + 3) : -1;
    }

    private static int statusIndex(ByteBuf buf, int index, int seen, int end) {
        int at = index + 1; // header
        int size = lenencSize(buf, at, seen, end, "affected rows");
        if (size < 0) {
            return -1;
        }
        at += size;
        size = lenencSize(buf, at, seen, end, "last insert id");
        if (size < 0) {
            return -1;
        }
        at += size;
        if (at + 2 > end) {
            throw new MalformedPacketException("OK packet of " + (end - index) + " bytes ends before its status flags");
        }
        return at + 2 <= seen ? at : -1;
    }

    /**
     * The schema named by a SESSION_TRACK_SCHEMA change in the OK packet at {@code index}, or null when the packet
     * reports none (or it lies beyond the {@code available} readable bytes).
     *
     * @throws MalformedPacketException if a length in the packet of {@code length} bytes runs past its end
     */
    public static String trackedSchema(ByteBuf buf, int index, int available, int length, int capabilities) {
        if ((capabilities & CLIENT_SESSION_TRACK) == 0) {
            return null;
        }
        int seen = index + available;
        int end = index + length;
        int at = statusIndex(buf, index, seen, end);
        if (at < 0) {
            return null;
        }
        int status = buf.getUnsignedShortLE(at);
        at += 4; // status_flags, warnings
        if ((status & SERVER_SESSION_STATE_CHANGED) == 0 || at >= end) {
            return null;
        }
        at = skipLenencString(buf, at, seen, end, "info"); // info
        if (at < 0) {
            return null;
        }
        int size = lenencSize(buf, at, seen, end, "session state length");
        if (size < 0) {
            return null;
        }
        long total = Payloads.lenencIntAt(buf, at); // session_state_info
        at += size;
        int stop = at + checkedLength(total, end - at, "session state length");
        while (at < stop) { // each change moves at forward by at least two bytes
            if (at >= seen) {
                return null;
            }
            int type = buf.getUnsignedByte(at++);
            size = lenencSize(buf, at, Math.min(seen, stop), stop, "session state change length");
            if (size < 0) {
                return null;
            }
            long dataLength = Payloads.lenencIntAt(buf, at);
            int data = at + size;
            at = data + checkedLength(dataLength, stop - data, "session state change length");
            if (type == SESSION_TRACK_SCHEMA) {
                if (at > seen) {
                    return null;
                }
                int nameSize = lenencSize(buf, data, at, at, "schema name length");
                int nameLength = checkedLength(Payloads.lenencIntAt(buf, data), at - data - nameSize, "schema name length");
                return buf.toString(data + nameSize, nameLength, StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    /**
     * Everything the session-state-info of the OK packet at {@code index} reports (also the 0xFE OK that ends a result
     * set under CLIENT_DEPRECATE_EOF, which has the same layout). Returns {@link SessionChanges#NONE} without
     * allocating when the packet has no SERVER_SESSION_STATE_CHANGED or {@code capabilities} lack
     * CLIENT_SESSION_TRACK. Changes that lie beyond the {@code available} readable bytes are not read: the result
     * is then not {@link SessionChanges#complete() complete} and holds only what came before them.
     *
     * @throws MalformedPacketException if a length in the packet of {@code length} bytes runs past its end
     */
    public static SessionChanges sessionChanges(ByteBuf buf, int index, int available, int length, int capabilities) {
        if ((capabilities & CLIENT_SESSION_TRACK) == 0) {
            return SessionChanges.NONE;
        }
        int seen = index + available;
        int end = index + length;
        int at = statusIndex(buf, index, seen, end);
        if (at < 0) {
            return SessionChanges.UNREAD;
        }
        int status = buf.getUnsignedShortLE(at);
        at += 4; // status_flags, warnings
        if ((status & SERVER_SESSION_STATE_CHANGED) == 0 || at >= end) {
            return SessionChanges.NONE;
        }
        Map<String, String> variables = new LinkedHashMap<>();
        String schema = null;
        boolean stateChanged = false;
        at = skipLenencString(buf, at, seen, end, "info"); // info
        if (at < 0) {
            return new SessionChanges(variables, null, false, false);
        }
        int size = lenencSize(buf, at, seen, end, "session state length");
        if (size < 0) {
            return new SessionChanges(variables, null, false, false);
        }
        long total = Payloads.lenencIntAt(buf, at); // session_state_info
        at += size;
        int stop = at + checkedLength(total, end - at, "session state length");
        while (at < stop) { // each change moves at forward by at least two bytes
            if (at >= seen) {
                return new SessionChanges(variables, schema, stateChanged, false);
            }
            int type = buf.getUnsignedByte(at++);
            size = lenencSize(buf, at, Math.min(seen, stop), stop, "session state change length");
            if (size < 0) {
                return new SessionChanges(variables, schema, stateChanged, false);
            }
            long dataLength = Payloads.lenencIntAt(buf, at);
            int data = at + size;
            at = data + checkedLength(dataLength, stop - data, "session state change length");
            if (type > SESSION_TRACK_STATE_CHANGE) {
                continue;
            }
            if (at > seen) {
                return new SessionChanges(variables, schema, stateChanged, false);
            }
            switch (type) {
                case SESSION_TRACK_SYSTEM_VARIABLES -> {
                    int value = skipLenencString(buf, data, at, at, "system variable name");
                    skipLenencString(buf, value, at, at, "system variable value");
                    variables.put(stringAt(buf, data), stringAt(buf, value));
                }
                case SESSION_TRACK_SCHEMA -> {
                    skipLenencString(buf, data, at, at, "schema name");
                    schema = stringAt(buf, data);
                }
                default -> stateChanged = true; // SESSION_TRACK_STATE_CHANGE, its data is "1"
            }
        }
        return new SessionChanges(variables, schema, stateChanged, true);
    }

    /**
     * Turns the whole OK packet (4-byte header and payload) at {@code index} of {@code buf} into the one MariaDB sends
     * a client that did not negotiate CLIENT_SESSION_TRACK (sql/protocol.cc, net_send_ok): SERVER_SESSION_STATE_CHANGED
     * cleared, the info string kept length-encoded if it is not empty and dropped if it is, and the session state
     * dropped. The status flags and the 3-byte payload length are rewritten in place; the sequence id stays.
     *
     * <p>The caller forwards the {@code 4 + returned} bytes from {@code index} and discards the rest of the old
     * payload: the packet shrinks and nothing before it moves. An OK without SERVER_SESSION_STATE_CHANGED is left
     * untouched and its payload length returned.
     *
     * @return the payload length of the rewritten packet
     * @throws MalformedPacketException if the packet's lengths run past its end
     * @throws IllegalArgumentException if the buffer does not hold the whole packet, or it is split (16 MiB or more)
     */
    public static int hideSessionState(ByteBuf buf, int index) {
        int length = buf.getUnsignedMediumLE(index);
        int payload = index + 4;
        int end = payload + length;
        if (length >= Packets.MAX_PAYLOAD || end > buf.writerIndex()) {
            throw new IllegalArgumentException("not a whole OK packet of fewer than 16 MiB: payload length " + length
                    + ", " + (buf.writerIndex() - payload) + " bytes present");
        }
        int at = statusIndex(buf, payload, end, end);
        int status = buf.getUnsignedShortLE(at);
        if ((status & SERVER_SESSION_STATE_CHANGED) == 0) {
            return length;
        }
        buf.setShortLE(at, status & ~SERVER_SESSION_STATE_CHANGED);
        int info = at + 4; // status_flags, warnings
        if (info > end) {
            throw new MalformedPacketException("OK packet of " + length + " bytes ends before its warnings");
        }
        int kept = info;
        if (info < end && buf.getUnsignedByte(info) != 0) {
            kept = skipLenencString(buf, info, end, end, "info");
        }
        int newLength = kept - payload;
        buf.setMediumLE(index, newLength);
        return newLength;
    }

    /** The length-encoded string at {@code at}, whose bounds the caller has checked. */
    private static String stringAt(ByteBuf buf, int at) {
        int size = Payloads.lenencSize(buf, at, buf.writerIndex());
        return buf.toString(at + size, (int) Payloads.lenencIntAt(buf, at), StandardCharsets.UTF_8);
    }

    /**
     * Size of the length-encoded integer at {@code at}, or -1 if it lies beyond {@code seen}.
     *
     * @throws MalformedPacketException if it runs past {@code end} or is no integer (0xFB, 0xFF)
     */
    private static int lenencSize(ByteBuf buf, int at, int seen, int end, String field) {
        if (at >= end) {
            throw new MalformedPacketException("OK packet ends before its " + field);
        }
        if (at >= seen) {
            return -1;
        }
        int first = buf.getUnsignedByte(at);
        int size = first < 0xFB ? 1 : first == 0xFC ? 3 : first == 0xFD ? 4 : first == 0xFE ? 9 : -1;
        if (size < 0) {
            throw new MalformedPacketException("OK packet: " + field + " starts with 0x" + Integer.toHexString(first)
                    + ", which begins no length-encoded integer");
        }
        if (size > end - at) {
            throw new MalformedPacketException("OK packet: " + field + " needs " + size + " bytes, only "
                    + (end - at) + " are left in the packet");
        }
        return size <= seen - at ? size : -1;
    }

    /** Index just past the length-encoded string at {@code at}, or -1 if it lies beyond {@code seen}. */
    private static int skipLenencString(ByteBuf buf, int at, int seen, int end, String field) {
        int size = lenencSize(buf, at, seen, end, field + " length");
        if (size < 0) {
            return -1;
        }
        int next = at + size + checkedLength(Payloads.lenencIntAt(buf, at), end - at - size, field + " length");
        return next <= seen ? next : -1;
    }

    /** {@code length} (an unsigned 64-bit value) as an int, if it fits in the {@code left} bytes of the packet. */
    private static int checkedLength(long length, int left, String field) {
        if (length < 0 || length > left) {
            throw new MalformedPacketException("OK packet: " + field + " " + Long.toUnsignedString(length)
                    + " exceeds the " + left + " bytes left");
        }
        return (int) length;
    }
}
