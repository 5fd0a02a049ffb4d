package dev.baton.protocol;

import dev.baton.protocol.SessionState.Reason;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;

import static dev.baton.protocol.CapabilityFlags.CLIENT_DEPRECATE_EOF;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MULTI_RESULTS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MULTI_STATEMENTS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PROTOCOL_41;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SECURE_CONNECTION;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SESSION_TRACK;
import static dev.baton.protocol.CapabilityFlags.CLIENT_TRANSACTIONS;
import static dev.baton.protocol.MariaDbSessionPackets.*;
import static dev.baton.protocol.StatusFlags.SERVER_STATUS_AUTOCOMMIT;
import static dev.baton.protocol.TestPackets.columnCount;
import static dev.baton.protocol.TestPackets.columnDefinition;
import static dev.baton.protocol.TestPackets.concat;
import static dev.baton.protocol.TestPackets.frame;
import static dev.baton.protocol.TestPackets.ok;
import static dev.baton.protocol.TestPackets.payload;
import static dev.baton.protocol.TestPackets.query;
import static dev.baton.protocol.TestPackets.textRow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A {@link CommandTracker} given a {@link SessionState}, fed MariaDB 10.11's real answers. */
class CommandTrackerSessionStateTest {
    private static final int CAPS = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION
            | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_SESSION_TRACK
            | CLIENT_DEPRECATE_EOF;

    private final SessionState state = new SessionState();
    private final CommandTracker tracker = new CommandTracker(CAPS, null, state);
    private final PacketScanner fromClient = new PacketScanner(256);
    private final PacketScanner fromServer = new PacketScanner(512);

    CommandTrackerSessionStateTest() {
        server(frame(2, ok(SERVER_STATUS_AUTOCOMMIT)));
    }

    @Test
    void learnsTheVariablesOfSetNames() {
        run("SET NAMES latin1", TRACKED_SET_NAMES);

        assertEquals("latin1", state.variables().get("character_set_client"));
        assertEquals("latin1", state.variables().get("character_set_connection"));
        assertEquals("latin1", state.variables().get("character_set_results"));
        assertTrue(state.movable());
    }

    @Test
    void learnsTheCollationThatSetNamesCollateDoesNotReport() {
        run("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci", TRACKED_SET_NAMES_COLLATE);

        assertEquals("utf8mb4_unicode_ci", state.variables().get("collation_connection"));
        assertEquals("SET @@SESSION.character_set_connection=_utf8mb4 X'757466386d6234', "
                + "@@SESSION.character_set_client=_utf8mb4 X'757466386d6234', "
                + "@@SESSION.character_set_results=_utf8mb4 X'757466386d6234', "
                + "@@SESSION.collation_connection=_utf8mb4 X'757466386d62345f756e69636f64655f6369'", state.replayStatement());
        assertTrue(state.movable());
    }

    @Test
    void learnsTheSchemaOfUse() {
        run("USE d1", TRACKED_USE);

        assertEquals("d1", state.schema());
        assertEquals("d1", tracker.database());
        assertTrue(state.movable());
    }

    @Test
    void pinsASessionThatSetAUserVariable() {
        run("SET @x=1", TRACKED_SET_USER_VARIABLE);

        assertEquals(Set.of(Reason.STATE_CHANGE), state.reasons());
    }

    @Test
    void pinsASessionWhoseUserVariableHidesBehindATrackedVariable() {
        run("SET @x=1, autocommit=0", TRACKED_USER_VARIABLE_AND_AUTOCOMMIT);

        assertEquals(Map.of("autocommit", "OFF"), state.variables());
        assertEquals(Set.of(Reason.STATE_CHANGE), state.reasons());
    }

    @Test
    void pinsASessionThatAssignedAUserVariableInASelectWhichTheServerDoesNotReport() {
        run("SELECT @y:=1", TRACKED_DO);

        assertEquals(Set.of(Reason.USER_VARIABLE), state.reasons());
    }

    @Test
    void pinsASessionWhoseStateLiesBeyondTheHeadBytes() {
        client(query("SET SESSION optimizer_switch='index_merge=off'"));
        byte[] ok = HexFormat.of().parseHex(TRACKED_OPTIMIZER_SWITCH);
        server(Arrays.copyOfRange(ok, 0, 300)); // the 885-byte packet arrives in two reads: the tracker sees 512
        server(Arrays.copyOfRange(ok, 300, ok.length));

        assertEquals(Set.of(Reason.STATE_UNREAD), state.reasons());
    }

    @Test
    void ignoresTheVariablesThatSetStatementChangesForOneStatementOnly() {
        client(query("SET STATEMENT sql_mode='' FOR SELECT 1"));
        server(concat(frame(1, columnCount(1)), frame(2, columnDefinition("", "1")), frame(3, textRow("1")),
                HexFormat.of().parseHex(TRACKED_SET_STATEMENT_END)));

        assertEquals(0, tracker.commandsInFlight());
        assertEquals(Map.of(), state.variables());
        assertTrue(state.movable());
    }

    @Test
    void pinsASessionThatTookAUserLockAndKeepsItPinnedUntilItReleasesAllLocks() {
        run("SELECT GET_LOCK('l', 0)", TRACKED_DO);
        assertEquals(Set.of(Reason.USER_LOCK), state.reasons());

        run("SELECT RELEASE_LOCK('l')", TRACKED_DO);
        assertEquals(Set.of(Reason.USER_LOCK), state.reasons());

        run("DO RELEASE_ALL_LOCKS()", TRACKED_DO);
        assertTrue(state.movable());
    }

    @Test
    void pinsASessionWithLockedTablesUntilUnlockTables() {
        run("LOCK TABLES d1.ai READ", TRACKED_DO);
        assertEquals(Set.of(Reason.TABLE_LOCK), state.reasons());

        run("unlock tables", TRACKED_DO);
        assertTrue(state.movable());
    }

    @Test
    void pinsASessionInAnXaTransactionUntilItEnds() {
        run("XA START 'x1'", TRACKED_DO);
        assertEquals(Set.of(Reason.XA), state.reasons());

        run("XA ROLLBACK 'x1'", TRACKED_DO);
        assertTrue(state.movable());
    }

    @Test
    void pinsASessionThatPreparedAStatement() {
        client(payload().int1(CommandType.STMT_PREPARE.code()).bytes("SELECT 1".getBytes()).build());

        assertEquals(Set.of(Reason.PREPARED_STATEMENT), state.reasons());
    }

    @Test
    void pinsASessionThatChangedTheTrackedVariableListItself() {
        run("SET session_track_system_variables=CONCAT(@@global.session_track_system_variables,',auto_increment_increment')",
                TRACKED_CLIENT_TRACKING_LIST);

        assertTrue(state.reasons().contains(Reason.TRACKING_CHANGED));
    }

    @Test
    void letsAClientSetSessionTrackingToWhatBatonSetItTo() {
        run("SET session_track_schema=ON", TRACKED_CLIENT_TRACK_SCHEMA);

        assertTrue(state.movable());
        assertEquals(Map.of(), state.variables());
    }

    @ParameterizedTest
    @ValueSource(ints = {0x1F, 0x11}) // COM_RESET_CONNECTION, COM_CHANGE_USER
    void forgetsEverythingWhenTheServerResetsTheSessionUntilBatonArmsTrackingAgain(int command) {
        run("SET @x=1", TRACKED_SET_USER_VARIABLE);
        run("SET time_zone='+02:00'", "1f00000100000002400000001600110974696d655f7a6f6e65062b30323a3030020131");

        client(command == 0x1F ? new byte[] {0x1F} : payload().int1(0x11).bytes("app".getBytes()).int1(0).int1(0).build());
        server(frame(1, ok(SERVER_STATUS_AUTOCOMMIT)));

        assertEquals(Map.of(), state.variables());
        assertEquals(Set.of(Reason.TRACKING_CHANGED), state.reasons());
        state.trackingArmed();
        assertTrue(state.movable());
    }

    @Test
    void keepsTrackingTheTransactionAndDatabaseAsWithoutSessionState() {
        run("USE d1", TRACKED_USE);
        run("SET @x=1, autocommit=0", TRACKED_USER_VARIABLE_AND_AUTOCOMMIT);

        assertTrue(tracker.isQuiet());
        assertEquals("d1", tracker.database());
    }

    @Test
    void pointsOutTheOkPacketsThatCarrySessionStateAndNothingElse() {
        run("USE d1", TRACKED_USE);
        assertTrue(tracker.carriesSessionState());

        run("DO 1", TRACKED_DO);
        assertFalse(tracker.carriesSessionState());

        client(query("SET STATEMENT sql_mode='' FOR SELECT 1"));
        server(concat(frame(1, columnCount(1)), frame(2, columnDefinition("", "1"))));
        assertFalse(tracker.carriesSessionState());
        server(concat(frame(3, textRow("1")), HexFormat.of().parseHex(TRACKED_SET_STATEMENT_END)));
        assertTrue(tracker.carriesSessionState());

        client(payload().int1(CommandType.STMT_PREPARE.code()).bytes("DO 1".getBytes()).build());
        server(frame(1, payload().int1(0).int4(1).int2(0).int2(0).int1(0).int2(0).build())); // COM_STMT_PREPARE_OK
        assertFalse(tracker.carriesSessionState());
    }

    private void run(String sql, String response) {
        client(query(sql));
        server(HexFormat.of().parseHex(response));
        assertEquals(0, tracker.commandsInFlight());
    }

    private void client(byte[] payload) {
        scan(fromClient, frame(0, payload), (seq, length, buf, index, available) -> {
            tracker.onClientMessage(seq, length, buf, index, available);
            return true;
        });
    }

    private void server(byte[] packets) {
        scan(fromServer, packets, (seq, length, buf, index, available) -> {
            tracker.onServerMessage(seq, length, buf, index, available);
            return true;
        });
    }

    private static void scan(PacketScanner scanner, byte[] bytes, PacketScanner.Listener listener) {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        try {
            assertTrue(scanner.scan(buf, listener));
        } finally {
            buf.release();
        }
    }
}
