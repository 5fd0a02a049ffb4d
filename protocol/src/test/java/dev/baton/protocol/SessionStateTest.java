package dev.baton.protocol;

import dev.baton.protocol.SessionState.Reason;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SessionStateTest {
    private final SessionState state = new SessionState();

    @Test
    void replaysNothingForASessionThatChangedNothing() {
        assertNull(state.replayStatement());
        assertTrue(state.movable());
    }

    @Test
    void replaysNumbersBareAndEverythingElseAsHexWithACharacterSetIntroducer() {
        state.apply(variables("sql_mode", "ANSI_QUOTES,NO_BACKSLASH_ESCAPES", "wait_timeout", "1234",
                "max_statement_time", "1.500000", "time_zone", "+02:00", "autocommit", "OFF", "lc_time_names", ""));

        assertEquals("SET @@SESSION.wait_timeout=1234, @@SESSION.max_statement_time=1.500000, "
                + "@@SESSION.time_zone=_utf8mb4 X'2b30323a3030', @@SESSION.autocommit=_utf8mb4 X'4f4646', "
                + "@@SESSION.lc_time_names=_utf8mb4 X'', "
                + "@@SESSION.sql_mode=_utf8mb4 X'414e53495f51554f5445532c4e4f5f4241434b534c4153485f45534341504553'",
                state.replayStatement());
    }

    @Test
    void replaysAnEmptyCharacterSetForResultsAsNull() {
        state.apply(variables("character_set_results", ""));

        assertEquals("SET @@SESSION.character_set_results=NULL", state.replayStatement());
    }

    @Test
    void replaysCharacterSetsBeforeCollationsAndTheLatestValueOfEach() {
        state.apply(variables("collation_connection", "latin1_german1_ci"));
        state.apply(variables("time_zone", "SYSTEM"));
        state.apply(variables("character_set_client", "latin1", "time_zone", "+01:00"));

        assertEquals("SET @@SESSION.character_set_client=_utf8mb4 X'6c6174696e31', "
                + "@@SESSION.collation_connection=_utf8mb4 X'6c6174696e315f6765726d616e315f6369', "
                + "@@SESSION.time_zone=_utf8mb4 X'2b30313a3030'", state.replayStatement());
    }

    @Test
    void forgetsACollationWhenItsCharacterSetIsSetWithoutOne() {
        state.apply(variables("collation_connection", "latin1_german1_ci"));
        state.apply(variables("character_set_connection", "utf8mb4"));

        assertEquals(Map.of("character_set_connection", "utf8mb4"), state.variables());
    }

    @Test
    void neverReplaysBatonsOwnTrackingAndPinsTheSessionWhenTheClientWeakensIt() {
        state.apply(variables("session_track_schema", "ON", "session_track_system_variables", "*"));
        assertTrue(state.movable());

        state.apply(variables("session_track_state_change", "OFF"));
        assertEquals(Set.of(Reason.TRACKING_CHANGED), state.reasons());
        assertNull(state.replayStatement());
    }

    @Test
    void pinsASessionThatSetAOneShotOrStaleVariable() {
        state.apply(variables("timestamp", "1000.000000"));

        assertEquals(Set.of(Reason.NOT_REPLAYABLE), state.reasons());
        assertNull(state.replayStatement());
    }

    @Test
    void namesItsReasonsInLowerCaseForPrometheus() {
        assertEquals("state_unread", Reason.STATE_UNREAD.label());
        assertEquals("tracking_changed", Reason.TRACKING_CHANGED.label());
    }

    @Test
    void pinsASessionWhoseChangesWereNotAllRead() {
        state.apply(new SessionChanges(Map.of("time_zone", "+02:00"), null, false, false));

        assertEquals(Set.of(Reason.STATE_UNREAD), state.reasons());
    }

    private static SessionChanges variables(String... nameValues) {
        Map<String, String> variables = new LinkedHashMap<>();
        for (int i = 0; i < nameValues.length; i += 2) {
            variables.put(nameValues[i], nameValues[i + 1]);
        }
        return new SessionChanges(variables, null, true, true);
    }
}
