package dev.baton.protocol;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import static dev.baton.protocol.StatusFlags.SERVER_MORE_RESULTS_EXISTS;
import static dev.baton.protocol.StatusFlags.SERVER_SESSION_STATE_CHANGED;
import static dev.baton.protocol.StatusFlags.SERVER_STATUS_AUTOCOMMIT;
import static dev.baton.protocol.StatusFlags.SERVER_STATUS_IN_TRANS;
import static dev.baton.protocol.TestPackets.columnCount;
import static dev.baton.protocol.TestPackets.columnDefinition;
import static dev.baton.protocol.TestPackets.concat;
import static dev.baton.protocol.TestPackets.eof;
import static dev.baton.protocol.TestPackets.err;
import static dev.baton.protocol.TestPackets.frame;
import static dev.baton.protocol.TestPackets.ok;
import static dev.baton.protocol.TestPackets.okAsEof;
import static dev.baton.protocol.TestPackets.payload;
import static dev.baton.protocol.TestPackets.query;
import static dev.baton.protocol.TestPackets.textRow;

/**
 * Writes the seed corpus of {@link ProtocolFuzzTest}: real packets behind each target's plan prefix, named after what
 * they are. Run it from the protocol module after changing a target's input format:
 * {@code java -cp target/test-classes:target/classes:<netty buffer, common, codec-base, transport jars> dev.baton.protocol.FuzzSeeds src/test/resources}.
 * Findings are committed beside the seeds under their own names and are never regenerated.
 */
final class FuzzSeeds {
    private static final int IDLE = SERVER_STATUS_AUTOCOMMIT;
    private static final int IN_TRANS = SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_IN_TRANS;

    private FuzzSeeds() {
    }

    public static void main(String[] args) throws IOException {
        Path root = Path.of(args[0], "dev", "baton", "protocol", "ProtocolFuzzTestInputs");

        byte[] greeting = mariadbGreeting();
        byte[] response = connectorJResponse();
        byte[] resultSet = concat(frame(1, columnCount(2)), frame(2, columnDefinition("customer", "id")),
                frame(3, columnDefinition("customer", "name")), frame(4, eof(IDLE)), frame(5, textRow("1", "alice")),
                frame(6, textRow(null, "bob")), frame(7, eof(IDLE)));
        byte[] login = concat(frame(0, greeting), frame(1, response), frame(2, ok(IDLE)));

        write(root, "framer", "seed-greeting", concat(bytes(0x40), frame(0, greeting)));
        write(root, "framer", "seed-login-in-three-reads", concat(bytes(0x42, 10, 60), login));
        write(root, "framer", "seed-oversized-then-packets", concat(bytes(0x21, 3), bytes(0x01, 0x04, 0x00, 0x01),
                frame(0, query("SELECT 1"))));

        write(root, "scanner", "seed-result-set-whole", concat(bytes(0x30), resultSet));
        write(root, "scanner", "seed-result-set-in-reads", concat(bytes(0x15, 2, 7, 30, 0, 90), resultSet));
        write(root, "scanner", "seed-err-and-empty", concat(bytes(0x22, 5, 1),
                frame(1, err(1146, "42S02", "Table 'shop.orders' doesn't exist")), frame(3, new byte[0])));

        byte[] schema = payload().lenencString("analytics").build();
        byte[] changes = payload().int1(0).lenenc(3).bytes(bytes(1, 'x', 1)).int1(1).lenenc(schema.length).bytes(schema)
                .build();
        byte[] okTracked = payload().int1(0).lenenc(1).lenenc(0).int2(IDLE | SERVER_SESSION_STATE_CHANGED).int2(0)
                .lenencString("").lenenc(changes.length).bytes(changes).build();
        byte[] okBackwards = payload().int1(0).lenenc(0).lenenc(0).int2(IDLE | SERVER_SESSION_STATE_CHANGED).int2(0)
                .lenencString("").lenenc(10).int1(4).lenenc(-10).build();
        byte[] okHugeInfo = payload().int1(0).lenenc(0).lenenc(0).int2(IDLE | SERVER_SESSION_STATE_CHANGED).int2(0)
                .lenenc(-256).string("Rows matched").build();

        write(root, "responseStatus", "seed-ok-with-schema-change", concat(bytes(1, 0), okTracked));
        write(root, "responseStatus", "seed-ok-with-schema-change-head-only", concat(bytes(1, 8), okTracked));
        write(root, "responseStatus", "seed-eof", concat(bytes(0, 0), eof(IN_TRANS)));
        write(root, "responseStatus", "seed-ok-as-eof", concat(bytes(0, 0), okAsEof(IDLE | SERVER_MORE_RESULTS_EXISTS)));
        write(root, "responseStatus", "crash-session-change-length-minus-10-loops-forever", concat(bytes(1, 0), okBackwards));
        write(root, "responseStatus", "crash-info-length-huge-reads-before-the-buffer", concat(bytes(1, 0), okHugeInfo));

        int tracking = 2; // CLIENT_SESSION_TRACK; server head bytes 9
        write(root, "commandTracker", "seed-login-select-commit", session(0x18, false)
                .server(frame(2, ok(IDLE)))
                .client(frame(0, query("BEGIN")))
                .server(frame(1, ok(IN_TRANS)))
                .client(frame(0, query("SELECT id, name FROM customer")))
                .server(resultSet)
                .client(frame(0, query("COMMIT")))
                .server(frame(1, ok(IDLE)))
                .build());
        write(root, "commandTracker", "seed-use-and-session-tracking", session(tracking | 0x18, true)
                .client(frame(0, query("USE analytics")))
                .server(frame(1, okTracked))
                .client(frame(0, payload().int1(0x16).string("SELECT ?").build()))
                .server(frame(1, payload().int1(0).int4(1).int2(0).int2(1).int1(0).int2(0).build()),
                        frame(2, columnDefinition("", "?")), frame(3, eof(IDLE)))
                .build());
        write(root, "commandTracker", "seed-real-mariadb-session-state", sessionWithState(1 | 2 | 0x08)
                .client(frame(0, query("SET NAMES latin1")))
                .server(HexFormat.of().parseHex(MariaDbSessionPackets.TRACKED_SET_NAMES))
                .client(frame(0, query("SET @x=1, autocommit=0")))
                .server(HexFormat.of().parseHex(MariaDbSessionPackets.TRACKED_USER_VARIABLE_AND_AUTOCOMMIT))
                .client(frame(0, query("SELECT GET_LOCK('l', 0)")))
                .server(HexFormat.of().parseHex(MariaDbSessionPackets.TRACKED_DO))
                .client(frame(0, new byte[] {0x1F}))
                .server(HexFormat.of().parseHex(MariaDbSessionPackets.TRACKED_DO))
                .build());
        write(root, "commandTracker", "seed-deprecate-eof-result-and-err", session(1 | 0x08, true)
                .client(frame(0, query("SELECT 1")))
                .server(frame(1, columnCount(1)), frame(2, columnDefinition("", "1")), frame(3, textRow("1")),
                        frame(4, okAsEof(IDLE)))
                .client(frame(0, query("SELECT * FROM orders")))
                .server(frame(1, err(1146, "42S02", "Table 'shop.orders' doesn't exist")))
                .build());
        write(root, "commandTracker", "crash-session-change-length-minus-10-loops-forever", session(tracking, true)
                .client(frame(0, query("SET autocommit = 0")))
                .server(frame(1, okBackwards))
                .client(frame(0, query("SELECT 1")))
                .server(frame(1, ok(IDLE)))
                .build());
        write(root, "commandTracker", "crash-listener-throws-with-a-stashed-head", session(tracking | 0x18, true)
                .client(frame(0, query("UPDATE customer SET name = 'x'")))
                .serverCut(frame(1, okHugeInfo), 6)
                .server(frame(1, ok(IDLE)))
                .build());

        write(root, "handshakeV10", "seed-mariadb-greeting", greeting);
        write(root, "handshakeV10", "seed-baton-greeting", batonGreeting());
        write(root, "handshakeResponse41", "seed-connector-j-response", response);
        write(root, "handshakeResponse41", "seed-ssl-request", java.util.Arrays.copyOf(response, 32));

        byte[] v2Signature = bytes(0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A);
        write(root, "proxyHeader", "seed-v1-tcp4-then-response", concat(bytes(0x00),
                ascii("PROXY TCP4 10.1.2.3 10.0.0.1 51234 6033\r\n"), frame(1, response)));
        write(root, "proxyHeader", "seed-v1-tcp6-in-reads", concat(bytes(0x02, 5, 20),
                ascii("PROXY TCP6 2001:db8::7 2001:db8::1 40000 6033\r\n")));
        write(root, "proxyHeader", "seed-v1-unknown", concat(bytes(0x00), ascii("PROXY UNKNOWN\r\n")));
        write(root, "proxyHeader", "seed-v2-tcp4-with-tlv", concat(bytes(0x01, 13), v2Signature,
                bytes(0x21, 0x11, 0x00, 19, 10, 1, 2, 3, 10, 0, 0, 1, 0xC8, 0x22, 0x17, 0x91,
                        0x04, 0x00, 0x04, 'n', 'o', 'o', 'p')));
        write(root, "proxyHeader", "seed-v2-local", concat(bytes(0x00), v2Signature, bytes(0x20, 0x00, 0x00, 0x00)));
        byte[] unixPaths = new byte[216];
        unixPaths[0] = '/';
        unixPaths[108] = '/';
        write(root, "proxyHeader", "seed-v2-unix", concat(bytes(0x00), v2Signature, bytes(0x21, 0x31, 0x00, 216), unixPaths));
    }

    /** MariaDB 10.11's greeting with extended capabilities. */
    private static byte[] mariadbGreeting() {
        int caps = 0xF7FE | (0x81BF << 16);
        return payload().int1(10).nulString("5.5.5-10.11.6-MariaDB").int4(42).bytes(TestPackets.pattern(8)).int1(0)
                .int2(caps & 0xFFFF).int1(45).int2(IDLE).int2(caps >>> 16).int1(21).zeros(6).int4(0x1D)
                .bytes(TestPackets.pattern(12)).int1(0).nulString("mysql_native_password").build();
    }

    private static byte[] batonGreeting() {
        io.netty.buffer.ByteBuf out = io.netty.buffer.Unpooled.buffer();
        HandshakeV10.ofBaton(7, TestPackets.pattern(20)).encode(out);
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        out.release();
        return bytes;
    }

    /** Connector/J's handshake response: lenenc auth data, a database, the plugin. */
    private static byte[] connectorJResponse() {
        int caps = 0x01AFA20F | CapabilityFlags.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
        return payload().int4(caps).int4(0xFFFFFF).int1(255).zeros(19).int4(0).nulString("app")
                .lenenc(20).bytes(TestPackets.pattern(20)).nulString("shop").nulString("mysql_native_password").build();
    }

    private static Session session(int capabilities, boolean loggedIn) {
        return new Session(capabilities, loggedIn ? 1 : 0);
    }

    /** A logged-in session whose tracker keeps a {@link SessionState}. */
    private static Session sessionWithState(int capabilities) {
        return new Session(capabilities, 1 | 2);
    }

    /** The commandTracker target's input: two prefix bytes, then segments of at most 127 bytes per direction. */
    private static final class Session {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Session(int capabilities, int options) {
            out.write(capabilities);
            out.write(options);
        }

        Session client(byte[]... frames) {
            return segments(0x80, concat(frames), 127);
        }

        Session server(byte[]... frames) {
            return segments(0, concat(frames), 127);
        }

        /** Server bytes in reads of {@code size} bytes. */
        Session serverCut(byte[] bytes, int size) {
            return segments(0, bytes, size);
        }

        private Session segments(int direction, byte[] bytes, int size) {
            for (int at = 0; at < bytes.length; at += size) {
                int length = Math.min(size, bytes.length - at);
                out.write(direction | length);
                out.write(bytes, at, length);
            }
            return this;
        }

        byte[] build() {
            return out.toByteArray();
        }
    }

    private static byte[] ascii(String text) {
        return text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static byte[] bytes(int... values) {
        return TestPackets.bytes(values);
    }

    private static void write(Path root, String target, String name, byte[] bytes) throws IOException {
        Path dir = root.resolve(target);
        Files.createDirectories(dir);
        Files.write(dir.resolve(name), bytes);
    }
}
