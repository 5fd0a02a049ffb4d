package dev.baton.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

import static dev.baton.protocol.CapabilityFlags.CLIENT_SESSION_TRACK;
import static dev.baton.protocol.StatusFlags.SERVER_SESSION_STATE_CHANGED;

/**
 * Reads the few fields of Protocol::OK_Packet and Protocol::EOF_Packet
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_ok_packet.html,
 * page_protocol_basic_eof_packet.html) that session state depends on, in place and without allocating: the hot
 * path calls these on every response terminator.
 */
public final class ResponseStatus {
    /** Session state change type SESSION_TRACK_SCHEMA. */
    private static final int SESSION_TRACK_SCHEMA = 1;

    private ResponseStatus() {
    }

    /** Status flags of the OK packet whose payload starts at {@code index}, or -1 if they lie beyond {@code end}. */
    public static int okStatus(ByteBuf buf, int index, int end) {
        int at = statusIndex(buf, index, end);
        return at < 0 ? -1 : buf.getUnsignedShortLE(at);
    }

    /** Status flags of the EOF packet (0xFE, warnings, status) at {@code index}, or -1 if truncated. */
    public static int eofStatus(ByteBuf buf, int index, int end) {
        return index + 5 <= end ? buf.getUnsignedShortLE(index + 3) : -1;
    }

    private static int statusIndex(ByteBuf buf, int index, int end) {
        int at = index + 1; // header
        int size = Payloads.lenencSize(buf, at, end); // affected_rows
        if (size < 0) {
            return -1;
        }
        at += size;
        size = Payloads.lenencSize(buf, at, end); // last_insert_id
        if (size < 0) {
            return -1;
        }
        at += size;
        return at + 2 <= end ? at : -1;
    }

    /**
     * The schema named by a SESSION_TRACK_SCHEMA change in the OK packet at {@code index}, or null when the packet
     * reports none (or is truncated before it).
     */
    public static String trackedSchema(ByteBuf buf, int index, int end, int capabilities) {
        if ((capabilities & CLIENT_SESSION_TRACK) == 0) {
            return null;
        }
        int at = statusIndex(buf, index, end);
        if (at < 0) {
            return null;
        }
        int status = buf.getUnsignedShortLE(at);
        at += 4; // status_flags, warnings
        if ((status & SERVER_SESSION_STATE_CHANGED) == 0 || at >= end) {
            return null;
        }
        int size = Payloads.lenencSize(buf, at, end); // info
        if (size < 0) {
            return null;
        }
        at += size + (int) Payloads.lenencIntAt(buf, at);
        size = Payloads.lenencSize(buf, at, end); // session_state_info length
        if (size < 0) {
            return null;
        }
        long total = Payloads.lenencIntAt(buf, at);
        at += size;
        int stop = (int) Math.min(end, at + total);
        while (at < stop) {
            int type = buf.getUnsignedByte(at++);
            size = Payloads.lenencSize(buf, at, stop);
            if (size < 0) {
                return null;
            }
            int dataLength = (int) Payloads.lenencIntAt(buf, at);
            int data = at + size;
            if (data + dataLength > stop) {
                return null;
            }
            if (type == SESSION_TRACK_SCHEMA) {
                int nameSize = Payloads.lenencSize(buf, data, data + dataLength);
                if (nameSize < 0) {
                    return null;
                }
                int nameLength = (int) Payloads.lenencIntAt(buf, data);
                return buf.toString(data + nameSize, Math.min(nameLength, dataLength - nameSize), StandardCharsets.UTF_8);
            }
            at = data + dataLength;
        }
        return null;
    }
}
