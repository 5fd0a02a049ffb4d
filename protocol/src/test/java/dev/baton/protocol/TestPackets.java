package dev.baton.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * Hand-built protocol bytes for the tests of this package. Everything is written here byte by byte from the
 * protocol documentation, never through the code under test, so a test compares the production code with the spec.
 */
public final class TestPackets {
    static final int MAX = 0xFFFFFF;

    private TestPackets() {
    }

    /** A payload writer with the protocol's basic types. */
    public static Writer payload() {
        return new Writer();
    }

    /** A little-endian payload builder, named by the protocol pages' field types; also used by other modules' tests. */
    public static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        public Writer int1(int v) {
            out.write(v);
            return this;
        }

        public Writer int2(int v) {
            return int1(v).int1(v >>> 8);
        }

        public Writer int3(int v) {
            return int2(v).int1(v >>> 16);
        }

        public Writer int4(long v) {
            return int2((int) v).int2((int) (v >>> 16));
        }

        public Writer int8(long v) {
            return int4(v).int4(v >>> 32);
        }

        /** int&lt;lenenc&gt;; a negative value stands for an unsigned 64-bit one. */
        public Writer lenenc(long v) {
            if (v >= 0 && v < 251) {
                return int1((int) v);
            } else if (v >= 0 && v < 0x10000) {
                return int1(0xFC).int2((int) v);
            } else if (v >= 0 && v < 0x1000000) {
                return int1(0xFD).int3((int) v);
            }
            return int1(0xFE).int8(v);
        }

        public Writer lenencString(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            return lenenc(b.length).bytes(b);
        }

        public Writer nulString(String s) {
            return string(s).int1(0);
        }

        /** string&lt;EOF&gt; or string&lt;fix&gt;: the bytes only. */
        public Writer string(String s) {
            return bytes(s.getBytes(StandardCharsets.UTF_8));
        }

        public Writer bytes(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        public Writer hex(String hex) {
            return bytes(HexFormat.of().parseHex(hex.replace(" ", "")));
        }

        public Writer zeros(int n) {
            return bytes(new byte[n]);
        }

        public int size() {
            return out.size();
        }

        public byte[] build() {
            return out.toByteArray();
        }
    }

    /** One physical packet: 3-byte length, sequence id, payload (which must fit in one packet). */
    static byte[] frame(int sequenceId, byte[] payload) {
        if (payload.length > MAX) {
            throw new IllegalArgumentException("one packet holds at most 0xFFFFFF bytes");
        }
        byte[] frame = new byte[4 + payload.length];
        frame[0] = (byte) payload.length;
        frame[1] = (byte) (payload.length >>> 8);
        frame[2] = (byte) (payload.length >>> 16);
        frame[3] = (byte) sequenceId;
        System.arraycopy(payload, 0, frame, 4, payload.length);
        return frame;
    }

    static byte[] concat(byte[]... parts) {
        int size = 0;
        for (byte[] part : parts) {
            size += part.length;
        }
        byte[] all = new byte[size];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    /** {@code size} bytes that do not repeat with any short period, so a misplaced offset shows. */
    static byte[] pattern(int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (i * 7 + (i >>> 11) + (i >>> 19));
        }
        return b;
    }

    // Responses (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_response_packets.html)

    /** OK_Packet with no rows affected, no warnings, no info. */
    static byte[] ok(int status) {
        return payload().int1(0x00).lenenc(0).lenenc(0).int2(status).int2(0).build();
    }

    /** EOF_Packet of a client without CLIENT_DEPRECATE_EOF. */
    static byte[] eof(int status) {
        return payload().int1(0xFE).int2(0).int2(status).build();
    }

    /** The OK packet with header 0xFE that ends a result set under CLIENT_DEPRECATE_EOF. */
    static byte[] okAsEof(int status) {
        return payload().int1(0xFE).lenenc(0).lenenc(0).int2(status).int2(0).build();
    }

    static byte[] err(int code, String sqlState, String message) {
        return payload().int1(0xFF).int2(code).string("#" + sqlState).string(message).build();
    }

    static byte[] columnCount(int n) {
        return payload().lenenc(n).build();
    }

    /** Protocol::ColumnDefinition41 of a VARCHAR(255) utf8mb4 column. */
    static byte[] columnDefinition(String table, String name) {
        return payload().lenencString("def").lenencString("shop").lenencString(table).lenencString(table)
                .lenencString(name).lenencString(name).lenenc(0x0C).int2(45).int4(1020).int1(0xFD).int2(0)
                .int1(0).int2(0).build();
    }

    /** ProtocolText::ResultsetRow; a null value is written as 0xFB. */
    static byte[] textRow(String... values) {
        Writer w = payload();
        for (String v : values) {
            if (v == null) {
                w.int1(0xFB);
            } else {
                w.lenencString(v);
            }
        }
        return w.build();
    }

    static byte[] query(String sql) {
        return payload().int1(0x03).string(sql).build();
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
