package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RawMySqlClient;
import dev.baton.protocol.ResponseStatus;
import dev.baton.protocol.SessionChanges;
import dev.baton.protocol.SessionState;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What session tracking reports on a real MariaDB, replayed through {@link SessionState#replayStatement()} on a fresh
 * connection whose sql_mode is as hostile to quoting as it gets, gives that connection the very variables the
 * original session had.
 */
class SessionReplayIT {
    private static final int CLIENT_SESSION_TRACK = 1 << 23;
    private static final String BATONS_TRACKING = "SET SESSION session_track_system_variables='*', "
            + "session_track_schema=ON, session_track_state_change=ON";
    private static LocalMariaDb db;

    @BeforeAll
    static void start() {
        db = LocalMariaDb.start("session-replay");
    }

    @AfterAll
    static void stop() {
        if (db != null) {
            db.close();
        }
    }

    /** Statements of one session, separated by {@code ;;}. */
    @ParameterizedTest
    @ValueSource(strings = {
            "SET SESSION sql_mode='ANSI_QUOTES,NO_BACKSLASH_ESCAPES,PIPES_AS_CONCAT'",
            "SET SESSION sql_mode=''",
            "SET time_zone='+02:00'",
            "SET max_statement_time=1.5",
            "SET long_query_time=0.25",
            "SET character_set_results=NULL",
            "SET NAMES latin1",
            "SET character_set_connection=latin1, collation_connection='latin1_german1_ci'",
            "SET collation_connection='latin1_german1_ci';;SET NAMES utf8mb4",
            "SET lc_time_names='de_DE'",
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "SET sql_select_limit=10;;SET sql_select_limit=DEFAULT",
            "SET div_precision_increment=7, group_concat_max_len=4096",
            "SET optimizer_switch='index_merge=off,mrr=on'",
            "SET autocommit=0",
            "SET foreign_key_checks=OFF, unique_checks=0",
            "SET default_storage_engine=MyISAM",
            "SET SESSION sql_mode='STRICT_ALL_TABLES', time_zone='SYSTEM', wait_timeout=1234",
    })
    void aFreshConnectionGetsTheVariablesTheSessionChanged(String statements) throws IOException {
        List<String> sqls = List.of(statements.split(";;"));
        SessionState state = new SessionState();
        try (RawMySqlClient client = new RawMySqlClient(db.port(), 5000)) {
            RawMySqlClient.Packet greeting = client.read();
            byte[] response = RawMySqlClient.handshakeResponse(greeting, "app", "app", "");
            response[2] |= (byte) (CLIENT_SESSION_TRACK >>> 16);
            client.send(1, response);
            assertTrue(client.loginAnswer("app").isOk());
            run(client, BATONS_TRACKING, state);
            for (String sql : sqls) {
                run(client, sql, state);
            }
        }

        assertTrue(state.movable(), "reasons: " + state.reasons());
        assertFalse(state.variables().isEmpty());
        // A character set changes its collation unreported: check the collation even when the session never named it.
        String select = Stream.concat(state.variables().keySet().stream(),
                        Stream.of("collation_connection", "character_set_results"))
                .distinct().map(name -> "@@SESSION." + name).collect(Collectors.joining(", ", "SELECT ", ""));
        String original = db.query(String.join(";\n", sqls) + ";\n" + select);
        String replayed = db.query("SET SESSION sql_mode='ANSI_QUOTES,NO_BACKSLASH_ESCAPES';\n"
                + state.replayStatement() + ";\n" + select);
        assertEquals(original, replayed, "after " + state.replayStatement());
    }

    /** Sends {@code sql} and feeds its OK packet's session changes to {@code state}. */
    private static void run(RawMySqlClient client, String sql, SessionState state) throws IOException {
        client.send(0, RawMySqlClient.query(sql));
        RawMySqlClient.Packet ok = client.read();
        assertTrue(ok.isOk(), sql + ": " + (ok.isErr() ? ok.errorMessage() : "first byte " + ok.first()));
        ByteBuf buf = Unpooled.wrappedBuffer(ok.payload());
        try {
            int length = ok.payload().length;
            SessionChanges changes = ResponseStatus.sessionChanges(buf, 0, length, length,
                    RawMySqlClient.CAPABILITIES | CLIENT_SESSION_TRACK);
            assertTrue(changes.complete());
            state.apply(changes);
        } finally {
            buf.release();
        }
    }
}
