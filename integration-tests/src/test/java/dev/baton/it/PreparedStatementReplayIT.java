package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RawMySqlClient;
import dev.baton.protocol.PreparedStatements;
import dev.baton.protocol.StatementReplay;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A session's prepared statements, replayed by {@link StatementReplay} on a fresh connection to a real MariaDB, are
 * there under the ids the client holds, and an execution that counts on types bound on the old connection works once
 * {@link PreparedStatements#rewriteExecute} binds them again.
 */
class PreparedStatementReplayIT {
    private static final String SCHEMA = "baton_test";
    private static final int MYSQL_TYPE_LONGLONG = 0x08;
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    private static final int CLIENT_DEPRECATE_EOF = 1 << 24;
    private static LocalMariaDb db;
    /** Whether the connections of the running test negotiated CLIENT_DEPRECATE_EOF. */
    private boolean deprecateEof;

    @BeforeAll
    static void start() {
        db = LocalMariaDb.start("stmt-replay");
        db.sql("CREATE TABLE baton_test.items (id INT PRIMARY KEY, v VARCHAR(20));"
                + "INSERT INTO baton_test.items VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four');");
    }

    @AfterAll
    static void stop() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void aFailedPrepareConsumesAStatementIdLikeASuccessfulOne() throws IOException {
        PreparedStatements statements = new PreparedStatements();
        try (RawMySqlClient client = login()) {
            long first = prepare(client, statements, "SELECT v FROM items WHERE id = ?");
            RawMySqlClient.Packet refused = sendPrepare(client, statements, "SELECT nope FROM nowhere");
            long third = prepare(client, statements, "SELECT v FROM items WHERE id > ?");

            assertEquals(1146, refused.errorCode());
            assertEquals(first + 2, third);
            assertEquals(2, statements.openStatements());
        }
    }

    @ParameterizedTest(name = "CLIENT_DEPRECATE_EOF {0}")
    @ValueSource(booleans = {false, true})
    void aFreshConnectionGetsTheSessionsStatementsUnderTheirIdsAndRunsThemWithTheirTypes(boolean withDeprecateEof)
            throws IOException {
        PreparedStatements statements = new PreparedStatements();
        int capabilities = RawMySqlClient.CAPABILITIES | (withDeprecateEof ? CLIENT_DEPRECATE_EOF : 0);
        try (RawMySqlClient old = login(capabilities); RawMySqlClient fresh = login(capabilities)) {
            for (int i = 0; i < 3; i++) { // ids the session used and closed before
                long spare = prepare(old, statements, "SELECT 1");
                command(old, statements, idCommand(0x19, spare));
            }
            long byId = prepare(old, statements, "SELECT v FROM items WHERE id = ?");
            long closed = prepare(old, statements, "SELECT id FROM items WHERE v = ?");
            assertTrue(sendPrepare(old, statements, "SELECT nope FROM nowhere").isErr());
            long count = prepare(old, statements, "SELECT COUNT(*) FROM items WHERE id > ?");
            command(old, statements, idCommand(0x19, closed));
            assertEquals(List.of("two"), execute(old, statements, byId, true, 2));
            assertEquals(List.of("3"), execute(old, statements, count, true, 1));
            assertEquals(List.of("four"), execute(old, statements, byId, false, 4));
            assertNull(statements.reasonNotMovable(SCHEMA));

            StatementReplay replay = statements.replay(capabilities);
            send(fresh, replay.start(ALLOC));
            while (!replay.done() && replay.mismatch() == null) {
                RawMySqlClient.Packet packet = fresh.read();
                ByteBuf next = replay.onPacket(Unpooled.wrappedBuffer(packet.payload()), ALLOC);
                if (next != null) {
                    send(fresh, next);
                }
            }
            assertNull(replay.mismatch());
            assertTrue(replay.prepares() >= count - byId + 1, "the closed and the failed ids were walked through");
            statements.moved();

            RawMySqlClient.Packet unbound = sendExecute(fresh, count, false, 2);
            assertEquals(1210, unbound.errorCode(), "an execution without types on a connection that never bound them");
            assertEquals(List.of("three"), executeRewritten(fresh, statements, byId, 3));
            assertEquals(List.of("2"), executeRewritten(fresh, statements, count, 2));
            assertEquals(List.of("one"), executeRewritten(fresh, statements, byId, 1));
            RawMySqlClient.Packet gone = sendExecute(fresh, closed, true, 1);
            assertEquals(1243, gone.errorCode(), "the closed statement is not on the fresh connection");
        }
    }

    private RawMySqlClient login() throws IOException {
        return login(RawMySqlClient.CAPABILITIES);
    }

    private RawMySqlClient login(int capabilities) throws IOException {
        RawMySqlClient client = new RawMySqlClient(db.port(), 5000);
        byte[] response = RawMySqlClient.handshakeResponse(client.read(), "app", "app", SCHEMA);
        response[0] = (byte) capabilities;
        response[1] = (byte) (capabilities >>> 8);
        response[2] = (byte) (capabilities >>> 16);
        response[3] = (byte) (capabilities >>> 24);
        client.send(1, response);
        assertTrue(client.loginAnswer("app").isOk());
        deprecateEof = (capabilities & CLIENT_DEPRECATE_EOF) != 0;
        return client;
    }

    /** Prepares {@code sql} on behalf of the session and returns its id. */
    private long prepare(RawMySqlClient client, PreparedStatements statements, String sql) throws IOException {
        RawMySqlClient.Packet ok = sendPrepare(client, statements, sql);
        assertEquals(0x00, ok.first(), () -> "prepare of " + sql + " failed: " + ok.errorMessage());
        return Unpooled.wrappedBuffer(ok.payload()).getUnsignedIntLE(1);
    }

    /** Sends COM_STMT_PREPARE, feeds the answer's first packet to {@code statements}, reads the rest of the answer. */
    private RawMySqlClient.Packet sendPrepare(RawMySqlClient client, PreparedStatements statements, String sql)
            throws IOException {
        byte[] text = sql.getBytes(StandardCharsets.UTF_8);
        byte[] payload = new byte[text.length + 1];
        payload[0] = 0x16;
        System.arraycopy(text, 0, payload, 1, text.length);
        command(client, statements, payload);
        RawMySqlClient.Packet first = client.read();
        statements.onPrepareAnswer(Unpooled.wrappedBuffer(first.payload()), 0, first.payload().length,
                first.payload().length, SCHEMA);
        if (first.isOk()) {
            ByteBuf ok = Unpooled.wrappedBuffer(first.payload());
            int columns = ok.getUnsignedShortLE(5);
            int params = ok.getUnsignedShortLE(7);
            int rest = params + columns; // definitions, and EOFs after them
            if (!deprecateEof) {
                rest += (params > 0 ? 1 : 0) + (columns > 0 ? 1 : 0);
            }
            for (int i = 0; i < rest; i++) {
                client.read();
            }
        }
        return first;
    }

    /** Executes a one-parameter statement on behalf of the session and returns the first column of its rows. */
    private List<String> execute(RawMySqlClient client, PreparedStatements statements, long id, boolean bind,
                                        long value) throws IOException {
        byte[] payload = executePayload(id, bind, value);
        command(client, statements, payload);
        return rows(client, statements);
    }

    /** Executes as sysbench does after the first time (types not sent), through {@link PreparedStatements#rewriteExecute}. */
    private List<String> executeRewritten(RawMySqlClient client, PreparedStatements statements, long id,
                                                 long value) throws IOException {
        ByteBuf payload = Unpooled.wrappedBuffer(executePayload(id, false, value));
        ByteBuf rewritten = statements.rewriteExecute(payload, ALLOC);
        byte[] sent;
        if (rewritten == null) {
            sent = ByteBufUtil.getBytes(payload);
        } else {
            sent = ByteBufUtil.getBytes(rewritten);
            rewritten.release();
        }
        command(client, statements, sent);
        return rows(client, statements);
    }

    private static RawMySqlClient.Packet sendExecute(RawMySqlClient client, long id, boolean bind, long value)
            throws IOException {
        client.send(0, executePayload(id, bind, value));
        return client.read();
    }

    /** COM_STMT_EXECUTE of a statement with one BIGINT parameter, no cursor, one iteration. */
    private static byte[] executePayload(long id, boolean bind, long value) {
        ByteBuf out = Unpooled.buffer();
        out.writeByte(0x17).writeIntLE((int) id).writeByte(0).writeIntLE(1);
        out.writeByte(0); // NULL bitmap
        out.writeByte(bind ? 1 : 0); // new_params_bound_flag
        if (bind) {
            out.writeByte(MYSQL_TYPE_LONGLONG).writeByte(0);
        }
        out.writeLongLE(value);
        return ByteBufUtil.getBytes(out);
    }

    /** Reads a binary result set of one string or integer column (or an ERR), telling {@code statements} its end. */
    private List<String> rows(RawMySqlClient client, PreparedStatements statements) throws IOException {
        RawMySqlClient.Packet head = client.read();
        if (head.isErr()) {
            statements.onStatementAnswer(0);
            throw new AssertionError("execution failed: " + head.errorCode() + " " + head.errorMessage());
        }
        client.read(); // the column definition
        if (!deprecateEof) {
            assertEquals(0xFE, client.read().first());
        }
        List<String> rows = new ArrayList<>();
        while (true) {
            RawMySqlClient.Packet row = client.read();
            if (row.first() == 0xFE && row.payload().length < 9) { // EOF, or OK in its place: status at the same index
                statements.onStatementAnswer(Unpooled.wrappedBuffer(row.payload()).getUnsignedShortLE(3));
                return rows;
            }
            byte[] p = row.payload(); // 0x00, NULL bitmap, value
            if (p.length == 2 + 8) {
                rows.add(Long.toString(Unpooled.wrappedBuffer(p).getLongLE(2))); // COUNT(*) is a BIGINT
            } else {
                rows.add(new String(p, 3, p[2], StandardCharsets.UTF_8));
            }
        }
    }

    /** Sends one command (answered or not), as the relay would hand it to {@code statements}. */
    private static void command(RawMySqlClient client, PreparedStatements statements, byte[] payload)
            throws IOException {
        statements.onClientCommand(Unpooled.wrappedBuffer(payload));
        client.send(0, payload);
    }

    private static byte[] idCommand(int command, long id) {
        return new byte[] {(byte) command, (byte) id, (byte) (id >> 8), (byte) (id >> 16), (byte) (id >> 24)};
    }

    private static void send(RawMySqlClient client, ByteBuf framed) throws IOException {
        try {
            client.writeRaw(ByteBufUtil.getBytes(framed));
        } finally {
            framed.release();
        }
    }
}
