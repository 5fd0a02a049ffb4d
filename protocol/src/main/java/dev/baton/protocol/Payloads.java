package dev.baton.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

/**
 * The basic data types of the protocol (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_dt_integers.html
 * and page_protocol_basic_dt_strings.html): length-encoded integers and strings, NUL-terminated strings. Readers
 * throw {@link MalformedPacketException} instead of reading past the packet.
 */
public final class Payloads {
    private Payloads() {
    }

    /** Reads a length-encoded integer; 0xFB (NULL) and 0xFF are not integers and are rejected. */
    public static long readLenencInt(ByteBuf buf) {
        int size = lenencSize(buf, buf.readerIndex(), buf.writerIndex());
        if (size < 0) {
            throw new MalformedPacketException("truncated or invalid length-encoded integer");
        }
        long value = lenencIntAt(buf, buf.readerIndex());
        buf.skipBytes(size);
        return value;
    }

    /**
     * Size in bytes of the length-encoded integer at {@code index}, or -1 when it is invalid or does not fit before
     * {@code end}.
     */
    public static int lenencSize(ByteBuf buf, int index, int end) {
        if (index >= end) {
            return -1;
        }
        int first = buf.getUnsignedByte(index);
        int size;
        if (first < 0xFB) {
            size = 1;
        } else if (first == 0xFC) {
            size = 3;
        } else if (first == 0xFD) {
            size = 4;
        } else if (first == 0xFE) {
            size = 9;
        } else {
            return -1;
        }
        return index + size <= end ? size : -1;
    }

    /** Value of the length-encoded integer at {@code index}; the caller has checked {@link #lenencSize}. */
    public static long lenencIntAt(ByteBuf buf, int index) {
        int first = buf.getUnsignedByte(index);
        if (first < 0xFB) {
            return first;
        }
        return switch (first) {
            case 0xFC -> buf.getUnsignedShortLE(index + 1);
            case 0xFD -> buf.getUnsignedMediumLE(index + 1);
            case 0xFE -> buf.getLongLE(index + 1);
            default -> throw new MalformedPacketException("0x" + Integer.toHexString(first) + " is not a length-encoded integer");
        };
    }

    public static void writeLenencInt(ByteBuf buf, long value) {
        if (value < 0) {
            buf.writeByte(0xFE).writeLongLE(value); // an unsigned 64-bit value
        } else if (value < 0xFB) {
            buf.writeByte((int) value);
        } else if (value < (1 << 16)) {
            buf.writeByte(0xFC).writeShortLE((int) value);
        } else if (value < (1 << 24)) {
            buf.writeByte(0xFD).writeMediumLE((int) value);
        } else {
            buf.writeByte(0xFE).writeLongLE(value);
        }
    }

    public static byte[] readLenencBytes(ByteBuf buf) {
        long length = readLenencInt(buf);
        if (length < 0 || length > buf.readableBytes()) { // negative: an unsigned 64-bit length
            throw new MalformedPacketException("length-encoded string of " + Long.toUnsignedString(length)
                    + " bytes overruns the packet");
        }
        byte[] bytes = new byte[(int) length];
        buf.readBytes(bytes);
        return bytes;
    }

    public static String readLenencString(ByteBuf buf) {
        return new String(readLenencBytes(buf), StandardCharsets.UTF_8);
    }

    public static void writeLenencBytes(ByteBuf buf, byte[] bytes) {
        writeLenencInt(buf, bytes.length);
        buf.writeBytes(bytes);
    }

    /** Reads a string up to its NUL terminator and skips the terminator. */
    public static String readNulString(ByteBuf buf) {
        return new String(readNulBytes(buf), StandardCharsets.UTF_8);
    }

    public static byte[] readNulBytes(ByteBuf buf) {
        int nul = buf.indexOf(buf.readerIndex(), buf.writerIndex(), (byte) 0);
        if (nul < 0) {
            throw new MalformedPacketException("string is not NUL-terminated");
        }
        byte[] bytes = new byte[nul - buf.readerIndex()];
        buf.readBytes(bytes);
        buf.skipBytes(1);
        return bytes;
    }

    public static void writeNulString(ByteBuf buf, String value) {
        buf.writeBytes(value.getBytes(StandardCharsets.UTF_8)).writeByte(0);
    }

    /** Bytes left in {@code buf} must be at least {@code n}, or the packet is truncated. */
    public static void require(ByteBuf buf, int n, String field) {
        if (buf.readableBytes() < n) {
            throw new MalformedPacketException("packet ends before " + field);
        }
    }
}
