package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Framing of MySQL packets (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html):
 * a 3-byte little-endian payload length and a sequence id. A payload of 16 MiB - 1 or more is split into
 * packets of exactly {@link #MAX_PAYLOAD} bytes followed by a shorter one, possibly empty.
 */
public final class Packets {
    public static final int HEADER_SIZE = 4;
    public static final int MAX_PAYLOAD = 0xFFFFFF;

    private Packets() {
    }

    /** Payload length of the frame that starts at the reader index of {@code frame}. */
    public static int payloadLength(ByteBuf frame) {
        return frame.getUnsignedMediumLE(frame.readerIndex());
    }

    public static int sequenceId(ByteBuf frame) {
        return frame.getUnsignedByte(frame.readerIndex() + 3);
    }

    /** The payload of a single frame, as a slice that shares the frame's memory and reference count. */
    public static ByteBuf payload(ByteBuf frame) {
        return frame.slice(frame.readerIndex() + HEADER_SIZE, frame.readableBytes() - HEADER_SIZE);
    }

    /**
     * Frames {@code payload} (consumed, not released) starting at {@code sequenceId}, splitting it at 16 MiB and
     * adding the empty packet that ends a payload whose length is a multiple of {@link #MAX_PAYLOAD}.
     *
     * @return the next sequence id after the last packet written
     */
    public static int writeFramed(ByteBuf out, int sequenceId, ByteBuf payload) {
        int seq = sequenceId;
        while (true) {
            int length = Math.min(payload.readableBytes(), MAX_PAYLOAD);
            out.writeMediumLE(length).writeByte(seq);
            out.writeBytes(payload, length);
            seq = (seq + 1) & 0xFF;
            if (length < MAX_PAYLOAD) {
                return seq;
            }
        }
    }

    /** A new buffer holding {@code payload} framed from {@code sequenceId}; {@code payload} is released. */
    public static ByteBuf frame(ByteBufAllocator alloc, int sequenceId, ByteBuf payload) {
        try {
            int packets = payload.readableBytes() / MAX_PAYLOAD + 1;
            ByteBuf out = alloc.buffer(payload.readableBytes() + packets * HEADER_SIZE);
            writeFramed(out, sequenceId, payload);
            return out;
        } finally {
            payload.release();
        }
    }
}
