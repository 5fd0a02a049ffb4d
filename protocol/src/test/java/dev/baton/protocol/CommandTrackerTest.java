package dev.baton.protocol;

import dev.baton.protocol.CommandTracker.ClientVerdict;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static dev.baton.protocol.CapabilityFlags.CLIENT_CONNECT_WITH_DB;
import static dev.baton.protocol.CapabilityFlags.CLIENT_DEPRECATE_EOF;
import static dev.baton.protocol.CapabilityFlags.CLIENT_LOCAL_FILES;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MULTI_RESULTS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MULTI_STATEMENTS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MYSQL;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PROTOCOL_41;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PS_MULTI_RESULTS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SECURE_CONNECTION;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SESSION_TRACK;
import static dev.baton.protocol.CapabilityFlags.CLIENT_TRANSACTIONS;
import static dev.baton.protocol.StatusFlags.SERVER_MORE_RESULTS_EXISTS;
import static dev.baton.protocol.StatusFlags.SERVER_SESSION_STATE_CHANGED;
import static dev.baton.protocol.StatusFlags.SERVER_STATUS_AUTOCOMMIT;
import static dev.baton.protocol.StatusFlags.SERVER_STATUS_IN_TRANS;
import static dev.baton.protocol.TestPackets.MAX;
import static dev.baton.protocol.TestPackets.bytes;
import static dev.baton.protocol.TestPackets.columnCount;
import static dev.baton.protocol.TestPackets.columnDefinition;
import static dev.baton.protocol.TestPackets.eof;
import static dev.baton.protocol.TestPackets.err;
import static dev.baton.protocol.TestPackets.ok;
import static dev.baton.protocol.TestPackets.okAsEof;
import static dev.baton.protocol.TestPackets.payload;
import static dev.baton.protocol.TestPackets.query;
import static dev.baton.protocol.TestPackets.textRow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CommandTrackerTest {
    private static final int CAPS = CLIENT_MYSQL | CLIENT_CONNECT_WITH_DB | CLIENT_LOCAL_FILES | CLIENT_PROTOCOL_41
            | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS
            | CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
    private static final int IDLE = SERVER_STATUS_AUTOCOMMIT;
    private static final int IN_TRANS = SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_IN_TRANS;

    // Authentication

    @Test
    void startsWithTheHandshakeDatabaseAndTheLoginInFlight() {
        Session session = new Session(CAPS, "shop");

        assertEquals("shop", session.tracker.database());
        assertFalse(session.tracker.isAuthenticated());
        assertEquals(1, session.tracker.commandsInFlight());
        assertFalse(session.tracker.isQuiet());
    }

    @Test
    void isAuthenticatedAndQuietOnceTheServerAcceptsTheLogin() {
        Session session = new Session(CAPS, null);

        session.server(2, ok(IDLE));

        assertTrue(session.tracker.isAuthenticated());
        assertFalse(session.tracker.authenticationFailed());
        assertEquals(0, session.tracker.commandsInFlight());
        assertTrue(session.tracker.isQuiet());
        assertNull(session.tracker.database());
    }

    @Test
    void followsAnAuthSwitchAndMoreDataUpToTheFinalOk() {
        Session session = new Session(CAPS, "shop");

        session.server(2, authSwitch("caching_sha2_password"));
        assertEquals(ClientVerdict.FORWARD, session.client(3, TestPackets.pattern(32)));
        session.server(4, bytes(0x01, 0x04)); // AuthMoreData: perform_full_authentication
        assertEquals(ClientVerdict.FORWARD, session.client(5, bytes(0x02)), "public key request, not COM_INIT_DB");
        session.server(6, payload().int1(0x01).string("-----BEGIN PUBLIC KEY-----\nMIIBIjANBg...").build());
        assertEquals(ClientVerdict.FORWARD, session.client(7, TestPackets.pattern(256)));
        assertFalse(session.tracker.isAuthenticated());
        assertEquals(1, session.tracker.commandsInFlight());

        session.server(8, ok(IDLE));

        assertTrue(session.tracker.isAuthenticated());
        assertTrue(session.tracker.isQuiet());
    }

    @Test
    void reportsAFailedLoginWhenTheServerAnswersErr() {
        Session session = new Session(CAPS, "shop");

        session.server(2, err(1045, "28000", "Access denied for user 'app'@'10.0.0.7' (using password: YES)"));

        assertTrue(session.tracker.authenticationFailed());
        assertFalse(session.tracker.isAuthenticated());
        assertFalse(session.tracker.isQuiet());
        assertEquals(0, session.tracker.commandsInFlight());
    }

    // Transactions and plain results

    @Test
    void isInATransactionFromBeginUntilCommit() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, query("BEGIN"));
        assertFalse(session.tracker.isQuiet(), "a command is in flight");
        session.server(1, ok(IN_TRANS));
        assertTrue(session.tracker.inTransaction());
        assertFalse(session.tracker.isQuiet());

        session.client(0, query("INSERT INTO orders (customer) SELECT id FROM customer"));
        session.server(1, payload().int1(0).lenenc(300).lenenc(70_000).int2(IN_TRANS).int2(0).build());
        assertTrue(session.tracker.inTransaction(), "status read past multi-byte affected rows and insert id");

        session.client(0, query("COMMIT"));
        session.server(1, ok(IDLE));

        assertFalse(session.tracker.inTransaction());
        assertTrue(session.tracker.isQuiet());
    }

    @ParameterizedTest(name = "deprecate EOF {0}")
    @ValueSource(booleans = {false, true})
    void endsATextResultSetAtItsTerminator(boolean deprecateEof) {
        Session session = Session.authenticated(caps(deprecateEof), "shop");

        session.client(0, query("SELECT id, name FROM customer"));
        session.respondInFull(session.resultSet(IDLE, 2, textRow("1", "alice"), textRow(null, "bob"), textRow("3", null)));

        assertTrue(session.tracker.isQuiet());
    }

    @ParameterizedTest(name = "deprecate EOF {0}")
    @ValueSource(booleans = {false, true})
    void readsTheTransactionStateFromTheTerminatorOfAResultSet(boolean deprecateEof) {
        Session session = Session.authenticated(caps(deprecateEof), "shop");

        session.client(0, query("SELECT id FROM customer FOR UPDATE"));
        session.respondInFull(session.resultSet(IN_TRANS, 1, textRow("1")));

        assertTrue(session.tracker.inTransaction());
        assertFalse(session.tracker.isQuiet());
    }

    @Test
    void doesNotTakeARowOfSixteenMiBStartingWith0xFeForTheTerminator() {
        Session session = Session.authenticated(caps(true), "shop");
        session.client(0, query("SELECT body FROM document"));
        session.server(1, columnCount(1));
        session.server(2, columnDefinition("document", "body"));

        // ProtocolText::ResultsetRow whose one value is longer than 16 MiB: it begins 0xFE and fills a whole packet
        ByteBuf head = Unpooled.wrappedBuffer(payload().lenenc(MAX + 1000L).bytes(new byte[503]).build());
        session.tracker.onServerMessage(3, MAX, head, 0, head.readableBytes());
        head.release();
        assertEquals(1, session.tracker.commandsInFlight());

        session.server(5, okAsEof(IDLE));
        assertEquals(0, session.tracker.commandsInFlight());
    }

    @ParameterizedTest(name = "deprecate EOF {0}")
    @ValueSource(booleans = {false, true})
    void endsAStoredProcedureCallOnlyAfterItsLastResult(boolean deprecateEof) {
        Session session = Session.authenticated(caps(deprecateEof), "shop");
        int more = IDLE | SERVER_MORE_RESULTS_EXISTS;
        List<byte[]> response = new ArrayList<>();
        response.addAll(session.resultSet(more, 2, textRow("1", "alice")));
        response.addAll(session.resultSet(more, 1, textRow("42"), textRow("43")));
        response.add(ok(IDLE)); // the CALL's own status

        session.client(0, query("CALL customer_report(7)"));
        session.respondInFull(response);

        assertTrue(session.tracker.isQuiet());
    }

    @Test
    void followsAnOkThatAnnouncesMoreResultsWithAResultSet() {
        Session session = Session.authenticated(CAPS, "shop");
        List<byte[]> response = new ArrayList<>();
        response.add(payload().int1(0).lenenc(1).lenenc(0).int2(IDLE | SERVER_MORE_RESULTS_EXISTS).int2(0).build());
        response.addAll(session.resultSet(IDLE, 1, textRow("2")));

        session.client(0, query("UPDATE stock SET n = n - 1 WHERE id = 9; SELECT n FROM stock WHERE id = 9"));
        session.respondInFull(response);
    }

    @Test
    void endsAResultThatFailsHalfway() {
        Session session = Session.authenticated(CAPS, "shop");
        List<byte[]> response = new ArrayList<>(session.resultSet(IDLE, 1, textRow("1")).subList(0, 4));
        response.add(err(1317, "70100", "Query execution was interrupted"));

        session.client(0, query("SELECT SLEEP(60)"));
        session.respondInFull(response);
    }

    @Test
    void tracksCommandsSentBeforeAnyResponseInOrder() {
        Session session = Session.authenticated(CAPS, "shop");
        List<byte[]> firstResponse = session.resultSet(IDLE, 2, textRow("1", "alice"));

        List<ClientVerdict> verdicts = session.clientStream(
                query("SELECT id, name FROM customer"), query("UPDATE customer SET seen = NOW()"), bytes(0x0E));

        assertEquals(List.of(ClientVerdict.FORWARD, ClientVerdict.FORWARD, ClientVerdict.FORWARD), verdicts);
        assertEquals(3, session.tracker.commandsInFlight());
        session.respondInFull(firstResponse);
        assertEquals(2, session.tracker.commandsInFlight());
        session.respondInFull(List.of(payload().int1(0).lenenc(2).lenenc(0).int2(IDLE).int2(0).build()));
        session.respondInFull(List.of(ok(IDLE)));
        assertTrue(session.tracker.isQuiet());
    }

    @Test
    void tracksPipelinedResponsesThatArriveInOneRead() {
        Session session = Session.authenticated(CAPS, "shop");
        List<byte[]> responses = new ArrayList<>(session.resultSet(IDLE, 1, textRow("1")));
        responses.add(ok(IDLE));

        session.clientStream(query("SELECT 1"), bytes(0x0E));
        session.serverStream(responses);

        assertEquals(0, session.tracker.commandsInFlight());
        assertTrue(session.tracker.isQuiet());
    }

    // Prepared statements

    @ParameterizedTest(name = "{0} columns, {1} parameters, deprecate EOF {2}")
    @CsvSource({"3, 2, false", "3, 2, true", "0, 2, false", "0, 2, true", "1, 0, false", "1, 0, true",
            "0, 0, false", "0, 0, true"})
    void endsAPrepareAfterItsParameterAndColumnDefinitions(int columns, int params, boolean deprecateEof) {
        Session session = Session.authenticated(caps(deprecateEof), "shop");
        List<byte[]> response = new ArrayList<>();
        response.add(payload().int1(0x00).int4(1).int2(columns).int2(params).int1(0).int2(0).build()); // COM_STMT_PREPARE_OK
        for (int i = 0; i < params; i++) {
            response.add(columnDefinition("", "?"));
        }
        if (params > 0 && !deprecateEof) {
            response.add(eof(IDLE));
        }
        for (int i = 0; i < columns; i++) {
            response.add(columnDefinition("customer", "c" + i));
        }
        if (columns > 0 && !deprecateEof) {
            response.add(eof(IDLE));
        }

        session.client(0, payload().int1(0x16).string("SELECT id, name, email FROM customer WHERE id > ? AND name LIKE ?").build());
        session.respondInFull(response);

        assertTrue(session.tracker.isQuiet());
    }

    @Test
    void endsAPrepareThatFails() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, payload().int1(0x16).string("SELEC 1").build());
        session.respondInFull(List.of(err(1064, "42000", "You have an error in your SQL syntax")));
    }

    @ParameterizedTest(name = "deprecate EOF {0}")
    @ValueSource(booleans = {false, true})
    void takesBinaryRowsStartingWith0x00ForRowsNotForOk(boolean deprecateEof) {
        Session session = Session.authenticated(caps(deprecateEof), "shop");
        byte[] execute = payload().int1(0x17).int4(1).int1(0).int4(1) // COM_STMT_EXECUTE: id, flags, iteration_count
                .int1(0).int1(1).int2(0x03).int4(42).build(); // null bitmap, new_params_bind_flag, LONG, 42
        byte[] alice = payload().int1(0x00).int1(0x00).int4(42).lenencString("alice").build();
        byte[] nameless = payload().int1(0x00).int1(0x08).int4(43).build(); // second column NULL

        session.client(0, execute);
        session.respondInFull(session.resultSet(IDLE, 2, alice, nameless));

        assertTrue(session.tracker.isQuiet());
    }

    @Test
    void expectsNoAnswerToClosingAStatementOrSendingLongData() {
        Session session = Session.authenticated(CAPS, "shop");

        assertEquals(ClientVerdict.FORWARD, session.client(0, payload().int1(0x18).int4(1).int2(0).string("chunk").build()));
        assertEquals(ClientVerdict.FORWARD, session.client(0, payload().int1(0x19).int4(1).build()));

        assertEquals(0, session.tracker.commandsInFlight());
        assertTrue(session.tracker.isQuiet());
        session.client(0, bytes(0x0E));
        session.respondInFull(List.of(ok(IDLE)));
    }

    // LOAD DATA LOCAL INFILE

    @Test
    void waitsForTheFileAndTheFinalOkOfALocalInfile() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, query("LOAD DATA LOCAL INFILE 'orders.csv' INTO TABLE orders"));
        session.server(1, payload().int1(0xFB).string("orders.csv").build());
        assertEquals(ClientVerdict.FORWARD, session.client(2, bytes(0x01, 0x2C, 0x34, 0x32, 0x0A)), "file data, not COM_QUIT");
        assertEquals(ClientVerdict.FORWARD, session.client(3, payload().string("2,17\n3,99\n").build()));
        assertFalse(session.tracker.isQuiet(), "the client is sending the file");
        assertEquals(ClientVerdict.FORWARD, session.client(4, new byte[0]));
        assertFalse(session.tracker.isQuiet(), "the server has not answered");
        assertEquals(1, session.tracker.commandsInFlight());

        session.server(5, payload().int1(0).lenenc(3).lenenc(0).int2(IDLE).int2(0).build());

        assertEquals(0, session.tracker.commandsInFlight());
        assertTrue(session.tracker.isQuiet());
    }

    @Test
    void awaitsACommandOnlyWhenTheClientsNextMessageStartsOne() {
        Session session = new Session(CAPS, "shop");
        assertFalse(session.tracker.awaitsCommand(), "before login the client sends auth data");
        session.server(2, ok(IDLE));
        assertTrue(session.tracker.awaitsCommand(), "logged in");

        session.client(0, query("LOAD DATA LOCAL INFILE 'kill.csv' INTO TABLE t"));
        assertTrue(session.tracker.awaitsCommand(), "a pipelining client may send its next command now");
        session.server(1, payload().int1(0xFB).string("kill.csv").build());
        assertFalse(session.tracker.awaitsCommand(), "file packets may look like commands, even at sequence id 0");
        session.client(2, new byte[0]);
        assertTrue(session.tracker.awaitsCommand(), "the file ended");
        session.server(3, ok(IDLE));

        session.client(0, payload().int1(0x11).string("app").int1(0).int1(0).int1(0).build()); // COM_CHANGE_USER
        assertFalse(session.tracker.awaitsCommand(), "the client answers the server's auth switch next");
    }

    @Test
    void endsALocalInfileTheClientRefuses() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, query("LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t"));
        session.server(1, payload().int1(0xFB).string("/etc/passwd").build());
        session.client(2, new byte[0]);
        session.server(3, err(2, "HY000", "File '/etc/passwd' not found"));

        assertTrue(session.tracker.isQuiet());
    }

    // Current database

    @Test
    void switchesDatabaseOnTheOkToInitDb() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, payload().int1(0x02).string("sales").build());
        assertEquals("shop", session.tracker.database(), "not before the server agrees");
        session.server(1, ok(IDLE));

        assertEquals("sales", session.tracker.database());
    }

    @Test
    void keepsTheDatabaseWhenInitDbFails() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, payload().int1(0x02).string("nope").build());
        session.server(1, err(1049, "42000", "Unknown database 'nope'"));

        assertEquals("shop", session.tracker.database());
    }

    @Test
    void switchesDatabaseOnTheOkToAUseStatement() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, query("USE `sales`"));
        session.server(1, ok(IDLE));
        assertEquals("sales", session.tracker.database());

        session.client(0, query("  use reports;"));
        session.server(1, ok(IDLE));
        assertEquals("reports", session.tracker.database());

        session.client(0, query("USE `nope`"));
        session.server(1, err(1049, "42000", "Unknown database 'nope'"));
        assertEquals("reports", session.tracker.database());
    }

    @Test
    void ignoresStatementsThatOnlyLookLikeUse() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, query("SELECT user FROM mysql.user"));
        session.respondInFull(session.resultSet(IDLE, 1, textRow("root")));
        session.client(0, query("USER sales"));
        session.server(1, err(1064, "42000", "You have an error in your SQL syntax"));

        assertEquals("shop", session.tracker.database());
    }

    @Test
    void followsASchemaChangeReportedThroughSessionTracking() {
        Session session = Session.authenticated(CAPS | CLIENT_SESSION_TRACK, "shop");
        byte[] variable = payload().lenencString("autocommit").lenencString("ON").build();
        byte[] schema = payload().lenencString("analytics").build();
        byte[] stateChanges = payload()
                .int1(0).lenenc(variable.length).bytes(variable) // SESSION_TRACK_SYSTEM_VARIABLES
                .int1(1).lenenc(schema.length).bytes(schema) // SESSION_TRACK_SCHEMA
                .build();

        session.client(0, query("/* reporting job */ USE analytics"));
        session.server(1, payload().int1(0).lenenc(0).lenenc(0).int2(IDLE | SERVER_SESSION_STATE_CHANGED).int2(0)
                .lenencString("") // info
                .lenenc(stateChanges.length).bytes(stateChanges) // session state info
                .build());

        assertEquals("analytics", session.tracker.database());
    }

    @Test
    void keepsTheDatabaseWhenSessionTrackingReportsOnlyOtherChanges() {
        Session session = Session.authenticated(CAPS | CLIENT_SESSION_TRACK, "shop");
        byte[] variable = payload().lenencString("time_zone").lenencString("+00:00").build();
        byte[] stateChanges = payload().int1(0).lenenc(variable.length).bytes(variable).build();

        session.client(0, query("SET time_zone = '+00:00'"));
        session.server(1, payload().int1(0).lenenc(0).lenenc(0).int2(IDLE | SERVER_SESSION_STATE_CHANGED).int2(0)
                .lenencString("").lenenc(stateChanges.length).bytes(stateChanges).build());

        assertEquals("shop", session.tracker.database());
    }

    // Responses that cannot be what the server owes: only MalformedPacketException, never a loop

    @Test
    @Timeout(value = 5, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void refusesASessionStateChangeWhoseLengthPointsBackwards() {
        Session session = Session.authenticated(CAPS | CLIENT_SESSION_TRACK, "shop");
        byte[] change = payload().int1(4).lenenc(-10).build(); // SESSION_TRACK_STATE_CHANGE of 2^64 - 10 bytes

        session.client(0, query("SET autocommit = 0"));
        MalformedPacketException e = assertThrows(MalformedPacketException.class,
                () -> session.server(1, okWithSessionState(change)));

        assertEquals("OK packet: session state change length 18446744073709551606 exceeds the 0 bytes left",
                e.getMessage());
    }

    @Test
    @Timeout(value = 5, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void refusesAnOkWhoseSessionStateLengthIsNegative() {
        Session session = Session.authenticated(CAPS | CLIENT_SESSION_TRACK, "shop");
        byte[] ok = payload().int1(0).lenenc(0).lenenc(0).int2(IDLE | SERVER_SESSION_STATE_CHANGED).int2(0)
                .lenencString("").lenenc(-10).int1(1).build();

        session.client(0, query("USE analytics"));
        MalformedPacketException e = assertThrows(MalformedPacketException.class, () -> session.server(1, ok));

        assertEquals("OK packet: session state length 18446744073709551606 exceeds the 1 bytes left",
                e.getMessage());
    }

    @Test
    void refusesAnOkWhoseInfoLengthIsHuge() {
        Session session = Session.authenticated(CAPS | CLIENT_SESSION_TRACK, "shop");
        byte[] ok = payload().int1(0).lenenc(0).lenenc(0).int2(IDLE | SERVER_SESSION_STATE_CHANGED).int2(0)
                .lenenc(-256).string("Rows matched").build();

        session.client(0, query("UPDATE customer SET name = 'x'"));
        MalformedPacketException e = assertThrows(MalformedPacketException.class, () -> session.server(1, ok));

        assertEquals("OK packet: info length 18446744073709551360 exceeds the 12 bytes left", e.getMessage());
    }

    @Test
    void refusesASchemaChangeWhoseNameIsLongerThanTheChange() {
        Session session = Session.authenticated(CAPS | CLIENT_SESSION_TRACK, "shop");
        byte[] schema = payload().lenenc(-3).string("x").build();
        byte[] change = payload().int1(1).lenenc(schema.length).bytes(schema).build();

        session.client(0, query("USE analytics"));
        MalformedPacketException e = assertThrows(MalformedPacketException.class,
                () -> session.server(1, okWithSessionState(change)));

        assertEquals("OK packet: schema name length 18446744073709551613 exceeds the 1 bytes left",
                e.getMessage());
        assertEquals("shop", session.tracker.database());
    }

    @Test
    void refusesAnOkThatEndsBeforeItsStatusFlags() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, query("COMMIT"));
        MalformedPacketException e = assertThrows(MalformedPacketException.class,
                () -> session.server(1, bytes(0x00, 0x00, 0x00)));

        assertEquals("OK packet of 3 bytes ends before its status flags", e.getMessage());
    }

    @Test
    void refusesAnOkWhoseAffectedRowsAreCutShort() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, query("DELETE FROM customer"));
        MalformedPacketException e = assertThrows(MalformedPacketException.class,
                () -> session.server(1, bytes(0x00, 0xFE, 0x01, 0x02)));

        assertEquals("OK packet: affected rows needs 9 bytes, only 3 are left in the packet", e.getMessage());
    }

    @Test
    void refusesAnEofThatEndsBeforeItsStatusFlags() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, query("SELECT id FROM customer"));
        session.server(1, columnCount(1));
        session.server(2, columnDefinition("customer", "id"));
        session.server(3, eof(IDLE));
        MalformedPacketException e = assertThrows(MalformedPacketException.class,
                () -> session.server(4, bytes(0xFE, 0x00, 0x00)));

        assertEquals("EOF packet of 3 bytes ends before its status flags", e.getMessage());
    }

    @ParameterizedTest(name = "column count {0}")
    @ValueSource(strings = {"fc01", "fd0100", "feffffffffffffffff"})
    void refusesAResultSetHeaderThatCountsNoColumns(String header) {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, query("SELECT * FROM customer"));

        assertThrows(MalformedPacketException.class, () -> session.server(1, payload().hex(header).build()));
    }

    @Test
    void refusesAPrepareOkThatEndsBeforeItsCounts() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, payload().int1(0x16).string("SELECT ?").build());
        MalformedPacketException e = assertThrows(MalformedPacketException.class,
                () -> session.server(1, bytes(0x00, 0x01, 0x00, 0x00, 0x00)));

        assertEquals("COM_STMT_PREPARE_OK of 5 bytes ends before num_params", e.getMessage());
    }

    @Test
    void stopsTrackingAndIsNeverQuietAgainAfterAMalformedResponse() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, query("COMMIT"));
        assertThrows(MalformedPacketException.class, () -> session.server(1, bytes(0x00, 0x00)));

        assertTrue(session.tracker.untracked());
        assertFalse(session.tracker.isQuiet());
        assertEquals(ClientVerdict.FORWARD, session.client(0, bytes(0xEE)), "no longer read, not even rejected");
    }

    /** An OK packet with SERVER_SESSION_STATE_CHANGED, an empty info and {@code changes} as its session state. */
    private static byte[] okWithSessionState(byte[] changes) {
        return payload().int1(0).lenenc(0).lenenc(0).int2(IDLE | SERVER_SESSION_STATE_CHANGED).int2(0)
                .lenencString("").lenenc(changes.length).bytes(changes).build();
    }

    // Commands Baton answers itself, and the ones it stops following

    @Test
    void flagsAByteThatIsNoCommandAsUnknown() {
        Session session = Session.authenticated(CAPS, "shop");

        assertEquals(ClientVerdict.UNKNOWN_COMMAND, session.client(0, bytes(0x20)));
        assertEquals(ClientVerdict.UNKNOWN_COMMAND, session.client(0, bytes(0x0B))); // COM_CONNECT: server-internal
        assertEquals(ClientVerdict.UNKNOWN_COMMAND, session.client(0, new byte[0]));

        assertEquals(0, session.tracker.commandsInFlight());
        assertTrue(session.tracker.isQuiet());
    }

    @Test
    void flagsACommandThatDoesNotStartAtSequenceIdZeroAsOutOfOrder() {
        Session session = Session.authenticated(CAPS, "shop");

        assertEquals(ClientVerdict.OUT_OF_ORDER, session.client(1, query("SELECT 1")));

        assertEquals(0, session.tracker.commandsInFlight());
    }

    @Test
    void recognisesQuit() {
        Session session = Session.authenticated(CAPS, "shop");

        assertEquals(ClientVerdict.QUIT, session.client(0, bytes(0x01)));

        assertEquals(0, session.tracker.commandsInFlight());
    }

    @Test
    void followsTheAuthenticationOfAChangeUserAndTakesItsDatabase() {
        Session session = Session.authenticated(CAPS, "shop");

        assertEquals(ClientVerdict.FORWARD, session.client(0, changeUser("bob", "hr")));
        assertFalse(session.tracker.isQuiet());
        session.server(1, authSwitch("mysql_native_password"));
        assertEquals(ClientVerdict.FORWARD, session.client(2, TestPackets.pattern(20)));
        assertEquals("shop", session.tracker.database());
        session.server(3, ok(IDLE));

        assertEquals("hr", session.tracker.database());
        assertTrue(session.tracker.isAuthenticated());
        assertTrue(session.tracker.isQuiet());
    }

    @Test
    void keepsTheDatabaseWhenChangeUserIsRefused() {
        Session session = Session.authenticated(CAPS, "shop");

        session.client(0, changeUser("bob", "hr"));
        session.server(1, err(1045, "28000", "Access denied for user 'bob'@'10.0.0.7'"));

        assertEquals("shop", session.tracker.database());
        assertEquals(0, session.tracker.commandsInFlight());
    }

    @Test
    void stopsTrackingOnceABinlogStreamStarts() {
        Session session = Session.authenticated(CAPS, "shop");

        assertEquals(ClientVerdict.FORWARD, session.client(0,
                payload().int1(0x12).int4(4).int2(0).int4(77).string("binlog.000042").build()));
        session.server(1, payload().int1(0x00).int4(0).int1(0x04).int4(1).int4(44).build()); // an event, not an OK

        assertTrue(session.tracker.untracked());
        assertFalse(session.tracker.isQuiet());
        assertEquals(ClientVerdict.FORWARD, session.client(7, bytes(0xEE)));
    }

    @Test
    void ignoresAnErrTheServerSendsWithNothingInFlight() {
        Session session = Session.authenticated(CAPS, "shop");

        session.server(0, err(1927, "70100", "Connection was killed"));

        assertEquals(0, session.tracker.commandsInFlight());
        assertTrue(session.tracker.isAuthenticated());
    }

    private static int caps(boolean deprecateEof) {
        return deprecateEof ? CAPS | CLIENT_DEPRECATE_EOF : CAPS;
    }

    /** Protocol::AuthSwitchRequest with a 20-byte scramble. */
    private static byte[] authSwitch(String plugin) {
        return payload().int1(0xFE).nulString(plugin).bytes(TestPackets.pattern(20)).int1(0).build();
    }

    /** COM_CHANGE_USER with a 1-byte auth length (CLIENT_SECURE_CONNECTION), charset and plugin. */
    private static byte[] changeUser(String user, String database) {
        return payload().int1(0x11).nulString(user).int1(20).bytes(TestPackets.pattern(20)).nulString(database)
                .int2(45).nulString("mysql_native_password").build();
    }

    /**
     * Both directions of one session, each through its own {@link PacketScanner} as in the proxy: the tracker sees
     * message starts exactly as Baton hands them over.
     */
    private static final class Session {
        final CommandTracker tracker;
        private final boolean deprecateEof;
        private final PacketScanner fromClient = new PacketScanner(256);
        private final PacketScanner fromServer = new PacketScanner(512);

        Session(int capabilities, String database) {
            tracker = new CommandTracker(capabilities, database);
            deprecateEof = (capabilities & CLIENT_DEPRECATE_EOF) != 0;
        }

        static Session authenticated(int capabilities, String database) {
            Session session = new Session(capabilities, database);
            session.server(2, ok(IDLE));
            assertTrue(session.tracker.isQuiet());
            return session;
        }

        ClientVerdict client(int sequenceId, byte[] payload) {
            List<ClientVerdict> verdicts = new ArrayList<>();
            scan(fromClient, TestPackets.frame(sequenceId, payload), (seq, length, buf, index, available) ->
                    verdicts.add(tracker.onClientMessage(seq, length, buf, index, available)));
            assertEquals(1, verdicts.size());
            return verdicts.get(0);
        }

        /** Commands the client pipelines in one write, each at sequence id 0. */
        List<ClientVerdict> clientStream(byte[]... payloads) {
            List<byte[]> frames = new ArrayList<>();
            for (byte[] payload : payloads) {
                frames.add(TestPackets.frame(0, payload));
            }
            List<ClientVerdict> verdicts = new ArrayList<>();
            scan(fromClient, TestPackets.concat(frames.toArray(byte[][]::new)), (seq, length, buf, index, available) ->
                    verdicts.add(tracker.onClientMessage(seq, length, buf, index, available)));
            return verdicts;
        }

        void server(int sequenceId, byte[] payload) {
            scan(fromServer, TestPackets.frame(sequenceId, payload), this::onServer);
        }

        /** Responses arriving in one read, sequence ids counting from 1. */
        void serverStream(List<byte[]> payloads) {
            List<byte[]> frames = new ArrayList<>();
            for (int i = 0; i < payloads.size(); i++) {
                frames.add(TestPackets.frame(i + 1, payloads.get(i)));
            }
            scan(fromServer, TestPackets.concat(frames.toArray(byte[][]::new)), this::onServer);
        }

        /** Sends the response of the oldest command, checking that it ends at its last packet and not before. */
        void respondInFull(List<byte[]> payloads) {
            int inFlight = tracker.commandsInFlight();
            for (int i = 0; i < payloads.size(); i++) {
                assertEquals(inFlight, tracker.commandsInFlight(), "the command ended before packet " + (i + 1));
                server(i + 1, payloads.get(i));
            }
            assertEquals(inFlight - 1, tracker.commandsInFlight(), "the command did not end at its last packet");
        }

        /**
         * A result set as this session receives it: column count, definitions, EOF unless CLIENT_DEPRECATE_EOF, rows,
         * then EOF or, with CLIENT_DEPRECATE_EOF, an OK with header 0xFE, carrying {@code status}.
         */
        List<byte[]> resultSet(int status, int columns, byte[]... rows) {
            List<byte[]> packets = new ArrayList<>();
            packets.add(columnCount(columns));
            for (int i = 0; i < columns; i++) {
                packets.add(columnDefinition("customer", "c" + i));
            }
            if (!deprecateEof) {
                packets.add(eof(status & ~SERVER_MORE_RESULTS_EXISTS));
            }
            packets.addAll(List.of(rows));
            packets.add(deprecateEof ? okAsEof(status) : eof(status));
            return packets;
        }

        private boolean onServer(int seq, int length, ByteBuf buf, int index, int available) {
            tracker.onServerMessage(seq, length, buf, index, available);
            return true;
        }

        private static void scan(PacketScanner scanner, byte[] bytes, PacketScanner.Listener listener) {
            ByteBuf buf = Unpooled.wrappedBuffer(bytes);
            try {
                assertTrue(scanner.scan(buf, listener));
                assertTrue(scanner.atBoundary());
            } finally {
                buf.release();
            }
        }
    }
}
