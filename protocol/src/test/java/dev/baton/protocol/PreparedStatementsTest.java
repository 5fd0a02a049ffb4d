package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static dev.baton.protocol.CapabilityFlags.CLIENT_DEPRECATE_EOF;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link PreparedStatements} fed what real clients sent a MariaDB 10.11.19 and what it answered, captured by a
 * logging TCP relay: sysbench 1.0 oltp_read_write on libmariadb 3.3 (no CLIENT_DEPRECATE_EOF), MariaDB Connector/J
 * 3.5.6 and MySQL Connector/J 9.5 with useServerPrepStmts=true (both CLIENT_DEPRECATE_EOF).
 */
class PreparedStatementsTest {
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    private static final String SCHEMA = "sbtest";

    // sysbench (libmariadb): COM_STMT_PREPARE "SELECT c FROM sbtest1 WHERE id=?" and its COM_STMT_PREPARE_OK
    // (id 5, 1 column, 1 parameter), then the first COM_STMT_EXECUTE binding BIGINT (new_params_bound_flag 1, id 52)
    // and a later one that does not (flag 0, id 35).
    private static final String SB_PREPARE_POINT = "1653454c45435420632046524f4d20736274657374312057484552452069643d3f";
    private static final String SB_PREPARE_OK_POINT = "000500000001000100000000";
    private static final String SB_EXECUTE_POINT_BOUND = "17050000000001000000000108003400000000000000";
    private static final String SB_EXECUTE_POINT = "1705000000000100000000002300000000000000";
    // sysbench: "SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?" (id 6, 1 column, 2 parameters), bound, then not.
    private static final String SB_PREPARE_RANGE =
            "1653454c45435420632046524f4d2073627465737431205748455245206964204245545745454e203f20414e44203f";
    private static final String SB_PREPARE_OK_RANGE = "000600000001000200000000";
    private static final String SB_EXECUTE_RANGE_BOUND =
            "1706000000000100000000010800080032000000000000009500000000000000";
    private static final String SB_EXECUTE_RANGE = "17060000000001000000000033000000000000009600000000000000";
    // sysbench: "BEGIN" and "COMMIT" prepared as ids 3 and 4; COM_STMT_CLOSE of id 5.
    private static final String SB_PREPARE_BEGIN = "16424547494e";
    private static final String SB_PREPARE_OK_BEGIN = "000300000000000000000000";
    private static final String SB_PREPARE_COMMIT = "16434f4d4d4954";
    private static final String SB_PREPARE_OK_COMMIT = "000400000000000000000000";
    private static final String SB_CLOSE_POINT = "1905000000";

    // MariaDB Connector/J: "SELECT id, v FROM a WHERE id = ?" pipelined with a COM_STMT_EXECUTE of 0xFFFFFFFF binding
    // INT (id 2); the answer names id 1 with 2 columns and 1 parameter; the next execution names id 1.
    private static final String MCJ_PREPARE = "1653454c4543542069642c20762046524f4d2061205748455245206964203d203f";
    private static final String MCJ_EXECUTE_LAST = "17ffffffff00010000000001030002000000";
    private static final String MCJ_PREPARE_OK = "000100000002000100000000";
    // MariaDB Connector/J: "INSERT INTO a VALUES (?, ?)", COM_STMT_SEND_LONG_DATA of "ten" for parameter 1 and the
    // COM_STMT_EXECUTE (binding INT and BLOB), all for 0xFFFFFFFF before the answer (id 32); then a
    // COM_STMT_BULK_EXECUTE of two rows that sends types (STMT_BULK_FLAG_SEND_TYPES).
    private static final String MCJ_PREPARE_INSERT = "16494e5345525420494e544f20612056414c55455320283f2c203f29";
    private static final String MCJ_LONG_DATA_LAST = "18ffffffff010074656e";
    private static final String MCJ_EXECUTE_LONG_DATA_LAST = "17ffffffff000100000000010300fc000a000000";
    private static final String MCJ_PREPARE_OK_INSERT = "002000000000000200000000";
    private static final String MCJ_BULK =
            "fa2000000080000300fd00000b0000000006656c6576656e000c00000000067477656c7665";

    // MySQL Connector/J, useCursorFetch=true, fetch size 2: "SELECT v FROM a WHERE id < ?" (id 9), a COM_STMT_EXECUTE
    // with CURSOR_TYPE_READ_ONLY; the EOF after the columns (status 0x42: CURSOR_EXISTS), two COM_STMT_FETCHes of 2
    // rows, the first ending with status 0x42, the second with 0x82 (LAST_ROW_SENT), then COM_STMT_CLOSE.
    private static final String MYCJ_PREPARE = "1653454c45435420762046524f4d2061205748455245206964203c203f";
    private static final String MYCJ_PREPARE_OK = "000900000001000100000000";
    private static final String MYCJ_EXECUTE_CURSOR = "170900000001010000000001030004000000";
    private static final String MYCJ_FETCH = "1c0900000002000000";
    private static final String MYCJ_CLOSE = "1909000000";
    private static final int CURSOR_OPEN = 0x42;
    private static final int LAST_ROW_SENT = 0x82;

    // A raw client on MariaDB 10.11: COM_STMT_PREPARE "SELECT nonsense FROM nowhere" answered by ERR 1146.
    private static final String PREPARE_NOWHERE = "1653454c454354206e6f6e73656e73652046524f4d206e6f7768657265";
    private static final String ERR_NO_TABLE =
            "ff7a042334325330325461626c652027742e6e6f77686572652720646f65736e2774206578697374";

    private final PreparedStatements statements = new PreparedStatements();

    @Test
    void sysbenchStatementsAreReplayedUnderTheirIdsWithSpareStatementsForTheGaps() {
        client(SB_PREPARE_BEGIN);
        answer(SB_PREPARE_OK_BEGIN);
        client(SB_PREPARE_COMMIT);
        answer(SB_PREPARE_OK_COMMIT);
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        client(SB_PREPARE_RANGE);
        answer(SB_PREPARE_OK_RANGE);
        client(SB_CLOSE_POINT);

        assertNull(statements.reasonNotMovable(SCHEMA));
        StatementReplay replay = statements.replay(0);
        assertEquals(List.of(SB_PREPARE_BEGIN), commands(replay.start(ALLOC)));
        List<String> rest = commands(replay.onPacket(bytes(SB_PREPARE_OK_BEGIN), ALLOC)); // the fresh ids stand at 3
        assertEquals(List.of(SB_PREPARE_COMMIT, "16" + hex("DO 0"), "1905000000", SB_PREPARE_RANGE), rest);
        feed(replay, "000400000000000000000000");
        feed(replay, "000500000000000000000000");
        feed(replay, SB_PREPARE_OK_RANGE, "03646566000000013f00000c3f0000000000068000000000",
                "03646566000000013f00000c3f0000000000068000000000", "fe00000200",
                "03646566067362746573740773627465737431077362746573743101630163000c2d00e0010000fe0100000000",
                "fe00000200");
        assertEquals(true, replay.done());
        assertNull(replay.mismatch());
        assertEquals(4, replay.prepares());
    }

    @Test
    void aFreshConnectionBehindTheLowestIdClosesTheProbeAndFillsTheGap() {
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        StatementReplay replay = statements.replay(0);
        assertEquals(List.of(SB_PREPARE_POINT), commands(replay.start(ALLOC)));
        List<String> rest = commands(replay.onPacket(bytes("000200000001000100000000"), ALLOC));
        assertEquals(List.of("1902000000", "16" + hex("DO 0"), "1903000000", "16" + hex("DO 0"), "1904000000",
                SB_PREPARE_POINT), rest);
        feed(replay, "param", "eof", "column", "eof"); // the rest of the probe's answer
        feed(replay, "000300000000000000000000");
        feed(replay, "000400000000000000000000");
        assertEquals(false, replay.done());
        feed(replay, SB_PREPARE_OK_POINT, "param", "eof", "column", "eof");
        assertEquals(true, replay.done());
    }

    @Test
    void aFreshConnectionPastTheLowestIdTakesTheStatementsUnderIdsRaisedByTheDifference() {
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT); // statement 5
        client(SB_PREPARE_RANGE);
        answer(SB_PREPARE_OK_RANGE); // statement 6
        StatementReplay replay = statements.replay(0);
        assertEquals(List.of(SB_PREPARE_POINT), commands(replay.start(ALLOC)));
        // The fresh connection's ids stand at 9: the probe is statement 5 there, under id 9, and 6 follows as 10.
        List<String> rest = commands(replay.onPacket(bytes("000900000001000100000000"), ALLOC));
        assertEquals(List.of(SB_PREPARE_RANGE), rest);
        assertEquals(4, replay.offset());
        feed(replay, "param", "eof", "column", "eof");
        assertEquals(false, replay.done());
        feed(replay, "000a00000001000200000000", "param", "param", "eof", "column", "eof");
        assertNull(replay.mismatch());
        assertEquals(true, replay.done());
    }

    @Test
    void aFreshConnectionThatSkipsAnIdFailsTheReplay() {
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        client(SB_PREPARE_RANGE);
        answer(SB_PREPARE_OK_RANGE);
        StatementReplay replay = statements.replay(0);
        replay.start(ALLOC).release();
        replay.onPacket(bytes("000900000001000100000000"), ALLOC).release();
        feed(replay, "param", "eof", "column", "eof");
        replay.onPacket(bytes("000b00000001000200000000"), ALLOC);
        assertEquals("the new connection gave statement id 11 where 10 was due", replay.mismatch());
    }

    @Test
    void aStatementTheNewServerRefusesFailsTheReplayWithTheServersMessage() {
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        StatementReplay replay = statements.replay(0);
        replay.start(ALLOC).release();
        replay.onPacket(bytes(ERR_NO_TABLE), ALLOC);
        assertEquals("the new connection refused a statement: 1146 (42S02) Table 't.nowhere' doesn't exist",
                replay.mismatch());
    }

    @Test
    void aStatementWithOtherParametersOnTheNewServerFailsTheReplay() {
        client(SB_PREPARE_BEGIN);
        answer(SB_PREPARE_OK_BEGIN);
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        StatementReplay replay = statements.replay(CLIENT_DEPRECATE_EOF);
        replay.start(ALLOC).release();
        replay.onPacket(bytes(SB_PREPARE_OK_BEGIN), ALLOC).release();
        feed(replay, "000400000000000000000000");
        feed(replay, "000500000002000100000000");
        assertEquals("statement 5 has 1 parameters and 2 columns on the new connection, 1 and 1 on the old one",
                replay.mismatch());
    }

    @Test
    void answersEndWithoutEofPacketsUnderDeprecateEof() {
        client(MCJ_PREPARE);
        answer(MCJ_PREPARE_OK);
        StatementReplay replay = statements.replay(CLIENT_DEPRECATE_EOF);
        replay.start(ALLOC).release();
        assertEquals(List.of(), commands(replay.onPacket(bytes(MCJ_PREPARE_OK), ALLOC)));
        feed(replay, "param", "column");
        assertEquals(false, replay.done());
        feed(replay, "column");
        assertEquals(true, replay.done());
    }

    @Test
    void reachingTheHighestIdThroughMoreThanTheCapFailsTheReplay() {
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        client(SB_PREPARE_BEGIN);
        answer("00e903000000000000000000"); // id 1001
        StatementReplay replay = statements.replay(0);
        replay.start(ALLOC).release();
        assertNull(replay.onPacket(bytes("000100000001000100000000"), ALLOC));
        assertEquals("the new connection's statement ids stand at 1: reaching statement 1001 would take more than "
                + "1000 prepares", replay.mismatch());
    }

    @Test
    void openIdsSpanningMoreThanTheCapMakeTheSessionUnmovable() {
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        client(SB_PREPARE_BEGIN);
        answer("00ed03000000000000000000"); // id 1005: 1001 ids from 5
        assertEquals("statement_ids", statements.reasonNotMovable(SCHEMA));
        client("1905000000");
        assertNull(statements.reasonNotMovable(SCHEMA));
    }

    @Test
    void aStatementWhoseTextWasNotKeptMakesTheSessionUnmovableUntilClosed() {
        byte[] big = new byte[PreparedStatements.MAX_RETAINED_TEXT_BYTES + 2];
        big[0] = 0x16;
        java.util.Arrays.fill(big, 1, big.length, (byte) ' ');
        statements.onClientCommand(Unpooled.wrappedBuffer(big));
        answer(SB_PREPARE_OK_POINT);
        assertEquals("prepared_statement", statements.reasonNotMovable(SCHEMA));
        client(SB_CLOSE_POINT);
        assertNull(statements.reasonNotMovable(SCHEMA));
        assertEquals(0, statements.openStatements());
    }

    @Test
    void anUnansweredPrepareMakesTheSessionUnmovable() {
        client(SB_PREPARE_POINT);
        assertEquals("prepared_statement", statements.reasonNotMovable(SCHEMA));
        assertThrows(IllegalStateException.class, () -> statements.replay(0));
    }

    @Test
    void aStatementPreparedInAnotherDatabaseMakesTheSessionUnmovable() {
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        assertEquals("statement_schema", statements.reasonNotMovable("other"));
        assertNull(statements.reasonNotMovable(SCHEMA));
    }

    @Test
    void typesBoundBeforeAMoveAreBoundAgainOnTheFirstExecutionAfterIt() {
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        client(SB_EXECUTE_POINT_BOUND);
        statements.onStatementAnswer(0x02);
        client(SB_EXECUTE_POINT);
        statements.onStatementAnswer(0x02);
        assertNull(rewrite(SB_EXECUTE_POINT), "before a move the server still has the types");

        statements.moved();
        assertEquals("17050000000001000000000108002300000000000000", rewrite(SB_EXECUTE_POINT));
        assertNull(rewrite(SB_EXECUTE_POINT), "bound once on the new connection");
    }

    @Test
    void typesOfSeveralParametersGoAfterTheNullBitmap() {
        client(SB_PREPARE_RANGE);
        answer(SB_PREPARE_OK_RANGE);
        client(SB_EXECUTE_RANGE_BOUND);
        statements.moved();
        assertEquals("1706000000000100000000010800080033000000000000009600000000000000", rewrite(SB_EXECUTE_RANGE));
    }

    @Test
    void aClientThatBindsTypesItselfAfterAMoveIsNotRewritten() {
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        client(SB_EXECUTE_POINT_BOUND);
        statements.moved();
        assertNull(rewrite(SB_EXECUTE_POINT_BOUND));
        client(SB_EXECUTE_POINT_BOUND);
        assertNull(rewrite(SB_EXECUTE_POINT));
    }

    @Test
    void aStatementNeverExecutedNeedsNoRewrite() {
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        statements.moved();
        assertNull(rewrite(SB_EXECUTE_POINT_BOUND));
    }

    @Test
    void typesBoundThroughTheLastPreparedIdBeforeTheAnswerAreRemembered() {
        client(MCJ_PREPARE);
        client(MCJ_EXECUTE_LAST);
        answer(MCJ_PREPARE_OK);
        statements.onStatementAnswer(0x02);
        statements.moved();
        assertEquals("170100000000010000000001030005000000", rewrite("170100000000010000000000" + "05000000"));
    }

    @Test
    void theLastPreparedIdNamesNoStatementAfterAFailedPrepare() {
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        client(PREPARE_NOWHERE);
        answer(ERR_NO_TABLE);
        client("19ffffffff"); // closes nothing on MariaDB: "Unknown prepared statement handler"
        assertEquals(1, statements.openStatements());
        assertNull(statements.reasonNotMovable(SCHEMA));
    }

    @Test
    void aStatementClosedThroughTheLastPreparedIdBeforeItsAnswerIsNotKept() {
        client(SB_PREPARE_POINT);
        client("19ffffffff");
        answer(SB_PREPARE_OK_POINT);
        assertEquals(0, statements.openStatements());
        assertNull(statements.reasonNotMovable(SCHEMA));
        assertNull(statements.replay(0));
    }

    @Test
    void longDataWaitsForTheNextExecution() {
        client(MCJ_PREPARE_INSERT);
        client(MCJ_LONG_DATA_LAST);
        answer(MCJ_PREPARE_OK_INSERT);
        assertEquals("long_data", statements.reasonNotMovable(SCHEMA));
        client(MCJ_EXECUTE_LONG_DATA_LAST);
        assertNull(statements.reasonNotMovable(SCHEMA));
        client("1820000000010074656e");
        assertEquals("long_data", statements.reasonNotMovable(SCHEMA));
        client("1a20000000"); // COM_STMT_RESET drops it
        assertNull(statements.reasonNotMovable(SCHEMA));
    }

    @Test
    void bulkExecutionsThatSendTypesBindThemAndOnesThatDoNotGetThemAfterAMove() {
        client(MCJ_PREPARE_INSERT);
        answer(MCJ_PREPARE_OK_INSERT);
        client(MCJ_BULK);
        statements.moved();
        assertNull(rewrite(MCJ_BULK));
        statements.moved();
        assertEquals(MCJ_BULK, rewrite("fa200000000000" + MCJ_BULK.substring(22)));
    }

    @Test
    void anOpenCursorMakesTheSessionUnmovableUntilItsLastRowIsSent() {
        client(MYCJ_PREPARE);
        answer(MYCJ_PREPARE_OK);
        client(MYCJ_EXECUTE_CURSOR);
        statements.onStatementAnswer(CURSOR_OPEN);
        assertEquals("cursor", statements.reasonNotMovable(SCHEMA));
        client(MYCJ_FETCH);
        statements.onStatementAnswer(CURSOR_OPEN);
        assertEquals("cursor", statements.reasonNotMovable(SCHEMA));
        client(MYCJ_FETCH);
        statements.onStatementAnswer(LAST_ROW_SENT);
        assertNull(statements.reasonNotMovable(SCHEMA));
        client(MYCJ_CLOSE);
        assertEquals(0, statements.openStatements());
    }

    @Test
    void resettingOrClosingAStatementClosesItsCursor() {
        client(MYCJ_PREPARE);
        answer(MYCJ_PREPARE_OK);
        client(MYCJ_EXECUTE_CURSOR);
        statements.onStatementAnswer(CURSOR_OPEN);
        client("1a09000000");
        assertNull(statements.reasonNotMovable(SCHEMA));
        client(MYCJ_EXECUTE_CURSOR);
        statements.onStatementAnswer(CURSOR_OPEN);
        client(MYCJ_CLOSE);
        assertNull(statements.reasonNotMovable(SCHEMA));
    }

    @Test
    void anExecutionWithTheCursorFlagThatOpensNoCursorLeavesTheSessionMovable() {
        client(MYCJ_PREPARE);
        answer(MYCJ_PREPARE_OK);
        client(MYCJ_EXECUTE_CURSOR);
        statements.onStatementAnswer(0x02); // an OK: DO ? with a cursor asked for
        assertNull(statements.reasonNotMovable(SCHEMA));
    }

    @Test
    void aResetClosesEveryStatementButKeepsOnesPreparedAfterIt() {
        client(SB_PREPARE_POINT);
        answer(SB_PREPARE_OK_POINT);
        client(MYCJ_EXECUTE_CURSOR.replace("09", "05"));
        statements.onStatementAnswer(CURSOR_OPEN);
        client(SB_PREPARE_RANGE); // pipelined after COM_RESET_CONNECTION
        statements.reset();
        assertEquals(0, statements.openStatements());
        answer(SB_PREPARE_OK_RANGE);
        assertEquals(1, statements.openStatements());
        assertNull(statements.reasonNotMovable(SCHEMA));
        StatementReplay replay = statements.replay(0);
        assertEquals(List.of(SB_PREPARE_RANGE), commands(replay.start(ALLOC)));
    }

    @Test
    void commandsOtherThanStatementCommandsAreIgnored() {
        client("0353454c4543542031");
        client("0e");
        client("");
        assertEquals(0, statements.openStatements());
        assertNull(rewrite("0353454c4543542031"));
    }

    private void client(String hex) {
        ByteBuf payload = Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex));
        statements.onClientCommand(payload);
        assertEquals(0, payload.readerIndex());
    }

    private void answer(String hex) {
        ByteBuf packet = Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex));
        statements.onPrepareAnswer(packet, 0, packet.readableBytes(), packet.readableBytes(), SCHEMA);
    }

    private String rewrite(String hex) {
        ByteBuf rewritten = statements.rewriteExecute(Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex)), ALLOC);
        if (rewritten == null) {
            return null;
        }
        try {
            return ByteBufUtil.hexDump(rewritten);
        } finally {
            rewritten.release();
        }
    }

    private static void feed(StatementReplay replay, String... packets) {
        for (String packet : packets) {
            ByteBuf payload = packet.matches("[0-9a-f]*") ? bytes(packet)
                    : Unpooled.wrappedBuffer(packet.getBytes(StandardCharsets.US_ASCII));
            assertNull(replay.onPacket(payload, ALLOC));
        }
    }

    private static ByteBuf bytes(String hex) {
        return Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex));
    }

    private static String hex(String text) {
        return HexFormat.of().formatHex(text.getBytes(StandardCharsets.US_ASCII));
    }

    /** The payloads of the framed commands in {@code framed} (released), each checked to have sequence id 0. */
    private static List<String> commands(ByteBuf framed) {
        List<String> payloads = new ArrayList<>();
        try {
            while (framed.isReadable()) {
                int length = framed.readUnsignedMediumLE();
                assertEquals(0, framed.readUnsignedByte(), "sequence id");
                payloads.add(ByteBufUtil.hexDump(framed.readSlice(length)));
            }
        } finally {
            framed.release();
        }
        return payloads;
    }
}
