package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.baton.protocol.CapabilityFlags.CLIENT_DEPRECATE_EOF;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SESSION_TRACK;
import static dev.baton.protocol.MariaDbSessionPackets.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SessionChangesTest {
    private static final int TRACKING = CLIENT_SESSION_TRACK | CLIENT_DEPRECATE_EOF;

    @Test
    void readsTheVariablesOfBatonsOwnTrackingStatementInTheOrderTheServerSentThem() {
        SessionChanges changes = whole(TRACKED_BATON_SET);

        assertEquals(Map.of("session_track_system_variables", "*", "session_track_state_change", "ON",
                "session_track_schema", "ON"), changes.variables());
        assertEquals("[session_track_system_variables, session_track_state_change, session_track_schema]",
                changes.variables().keySet().toString());
        assertTrue(changes.stateChanged());
        assertTrue(changes.complete());
        assertNull(changes.schema());
    }

    @Test
    void readsAStateChangeWithoutVariablesFromAUserVariableAssignment() {
        SessionChanges changes = whole(TRACKED_SET_USER_VARIABLE);

        assertEquals(Map.of(), changes.variables());
        assertTrue(changes.stateChanged());
        assertTrue(changes.complete());
    }

    @Test
    void readsTheSchemaOfUse() {
        SessionChanges changes = whole(TRACKED_USE);

        assertEquals("d1", changes.schema());
        assertTrue(changes.stateChanged());
    }

    @Test
    void readsTheStateAfterANonEmptyInfoString() {
        SessionChanges changes = whole(TRACKED_PREPARE);

        assertTrue(changes.stateChanged());
        assertTrue(changes.complete());
    }

    @Test
    void readsTheOkThatEndsAResultSetUnderDeprecateEof() {
        SessionChanges changes = whole(TRACKED_SET_STATEMENT_END);

        assertEquals(Map.of("sql_mode", ""), changes.variables());
    }

    @Test
    void readsSeveralVariablesOfOneStatement() {
        SessionChanges changes = whole(TRACKED_SET_NAMES);

        assertEquals("[character_set_connection, sql_mode, character_set_client, character_set_results]",
                changes.variables().keySet().toString());
        assertEquals("latin1", changes.variables().get("character_set_results"));
        assertEquals("STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION",
                changes.variables().get("sql_mode"));
    }

    @Test
    void readsANullCharacterSetAsAnEmptyValue() {
        assertEquals(Map.of("character_set_results", ""), whole(TRACKED_RESULTS_NULL).variables());
    }

    @Test
    void readsAValueWithTwoByteLengthsWhenTheWholePacketIsShown() {
        SessionChanges changes = whole(TRACKED_OPTIMIZER_SWITCH);

        assertTrue(changes.complete());
        assertTrue(changes.variables().get("optimizer_switch").startsWith("index_merge=off,index_merge_union=on,"));
        assertEquals(847, changes.variables().get("optimizer_switch").length());
    }

    @Test
    void saysTheStateIsUnreadWhenItRunsBeyondTheHeadBytesShown() {
        ByteBuf ok = packet(TRACKED_OPTIMIZER_SWITCH);
        try {
            SessionChanges changes = ResponseStatus.sessionChanges(ok, 4, 512, ok.readableBytes() - 4, TRACKING);

            assertFalse(changes.complete());
            assertEquals(Map.of(), changes.variables());
        } finally {
            ok.release();
        }
    }

    @Test
    void keepsTheChangesReadBeforeTheHeadEnds() {
        ByteBuf ok = packet(TRACKED_SET_NAMES);
        try {
            int beforeResults = ok.readableBytes() - 4 - 26; // the last variable and the state change are cut off
            SessionChanges changes = ResponseStatus.sessionChanges(ok, 4, beforeResults, ok.readableBytes() - 4, TRACKING);

            assertFalse(changes.complete());
            assertEquals("[character_set_connection, sql_mode, character_set_client]",
                    changes.variables().keySet().toString());
        } finally {
            ok.release();
        }
    }

    @Test
    void returnsTheSharedEmptyResultForAnOkWithoutStateChanges() {
        assertSame(SessionChanges.NONE, whole(TRACKED_DO));
    }

    @Test
    void returnsTheSharedEmptyResultWithoutSessionTrackCapability() {
        ByteBuf ok = packet(TRACKED_USE);
        try {
            assertSame(SessionChanges.NONE,
                    ResponseStatus.sessionChanges(ok, 4, ok.readableBytes() - 4, ok.readableBytes() - 4, CLIENT_DEPRECATE_EOF));
        } finally {
            ok.release();
        }
    }

    @Test
    void refusesAVariableWhoseValueRunsPastItsEntry() {
        ByteBuf ok = packet(TRACKED_ISOLATION);
        try {
            ok.setByte(4 + 24, 15); // the value "READ-COMMITTED" claims 15 bytes, 14 are left
            int length = ok.readableBytes() - 4;

            MalformedPacketException e = assertThrows(MalformedPacketException.class,
                    () -> ResponseStatus.sessionChanges(ok, 4, length, length, TRACKING));
            assertEquals("OK packet: system variable value length 15 exceeds the 14 bytes left", e.getMessage());
        } finally {
            ok.release();
        }
    }

    @Test
    void refusesAStateLongerThanThePacket() {
        ByteBuf ok = packet(TRACKED_USE);
        try {
            ok.setByte(4 + 8, 0x0A); // session state length 10, only 8 bytes follow
            int length = ok.readableBytes() - 4;

            assertThrows(MalformedPacketException.class, () -> ResponseStatus.sessionChanges(ok, 4, length, length, TRACKING));
        } finally {
            ok.release();
        }
    }

    private static SessionChanges whole(String hex) {
        ByteBuf ok = packet(hex);
        try {
            int length = ok.readableBytes() - 4;
            return ResponseStatus.sessionChanges(ok, 4, length, length, TRACKING);
        } finally {
            ok.release();
        }
    }
}
