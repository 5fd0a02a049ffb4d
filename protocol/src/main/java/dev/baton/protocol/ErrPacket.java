package dev.baton.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

/**
 * Protocol::ERR_Packet (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_err_packet.html),
 * always in its 4.1 form with a SQL state. Every error Baton itself reports to a client is one of these.
 */
public record ErrPacket(int errorCode, String sqlState, String message) {
    public static final int HEADER = 0xFF;

    public ErrPacket {
        if (sqlState.length() != 5) {
            throw new IllegalArgumentException("SQLSTATE must have 5 characters: " + sqlState);
        }
    }

    public static ErrPacket decode(ByteBuf payload) {
        Payloads.require(payload, 3, "error code");
        int header = payload.readUnsignedByte();
        if (header != HEADER) {
            throw new MalformedPacketException("not an ERR packet: header 0x" + Integer.toHexString(header));
        }
        int code = payload.readUnsignedShortLE();
        String state = "HY000";
        if (payload.isReadable() && payload.getByte(payload.readerIndex()) == '#') {
            Payloads.require(payload, 6, "SQL state");
            payload.skipBytes(1);
            state = payload.readCharSequence(5, StandardCharsets.US_ASCII).toString();
        }
        String message = payload.readCharSequence(payload.readableBytes(), StandardCharsets.UTF_8).toString();
        return new ErrPacket(code, state, message);
    }

    public void encode(ByteBuf out) {
        out.writeByte(HEADER);
        out.writeShortLE(errorCode);
        out.writeByte('#');
        out.writeCharSequence(sqlState, StandardCharsets.US_ASCII);
        out.writeCharSequence(message, StandardCharsets.UTF_8);
    }

    /** This error as one complete frame with the given sequence id. */
    public ByteBuf toFrame(io.netty.buffer.ByteBufAllocator alloc, int sequenceId) {
        ByteBuf payload = alloc.buffer(9 + message.length() * 3);
        encode(payload);
        return Packets.frame(alloc, sequenceId, payload);
    }
}
