package dev.baton.protocol;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What one client session changed on its server since login, as far as Baton can rebuild it on another server: the
 * system variables the server reported through session tracking (latest value wins), the schema, and the reasons
 * the session cannot be moved at all. The relay owns one per session and hands it to its {@link CommandTracker},
 * which feeds it from OK packets and client commands; it assumes the backend connection negotiated
 * CLIENT_SESSION_TRACK and Baton ran
 * {@code SET SESSION session_track_system_variables='*', session_track_schema=ON, session_track_state_change=ON}
 * before the client's first command.
 *
 * <p>What MariaDB 10.11 reports, checked against a real server with that tracking on:
 * <table>
 * <caption>Statements and what the OK packet carries</caption>
 * <tr><th>statement</th><th>SERVER_SESSION_STATE_CHANGED, and what is reported</th></tr>
 * <tr><td>{@code SET @x=1}, {@code SET @x=NULL}</td><td>yes: a state change only</td></tr>
 * <tr><td>{@code SELECT @y:=1}</td><td>no (user variables set by SELECT are not reported)</td></tr>
 * <tr><td>{@code SET @x=1, autocommit=0}</td><td>yes: autocommit and a state change; the user variable hides</td></tr>
 * <tr><td>{@code CREATE TEMPORARY TABLE}</td><td>yes: a state change only</td></tr>
 * <tr><td>{@code PREPARE}, {@code DEALLOCATE PREPARE}</td><td>yes: a state change only</td></tr>
 * <tr><td>COM_STMT_PREPARE</td><td>its answer has no status flags</td></tr>
 * <tr><td>{@code SELECT GET_LOCK(..)}, {@code RELEASE_LOCK}</td><td>no</td></tr>
 * <tr><td>{@code LOCK TABLES}</td><td>not reliably: no, or the unchanged schema and a state change</td></tr>
 * <tr><td>{@code UNLOCK TABLES}, {@code BEGIN}, {@code XA START}</td><td>no</td></tr>
 * <tr><td>{@code SET NAMES latin1}</td><td>yes: character_set_client, _connection, _results</td></tr>
 * <tr><td>{@code SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci}</td><td>the same three; collation_connection is
 * not reported (Baton takes it from the statement)</td></tr>
 * <tr><td>{@code USE d1}</td><td>yes: the schema (even when unchanged) and a state change</td></tr>
 * <tr><td>{@code SET x=v} of any session variable</td><td>yes: the variable (even when unchanged) and a state
 * change</td></tr>
 * <tr><td>{@code SET STATEMENT sql_mode='' FOR ..}</td><td>yes: the statement's sql_mode; the restored one is
 * reported with the next statement</td></tr>
 * <tr><td>{@code SET session_track_system_variables=<list without *>}</td><td>a state change only</td></tr>
 * <tr><td>{@code SET timestamp=DEFAULT} after {@code SET timestamp=1000}</td><td>timestamp, with the stale value
 * 1000.000000</td></tr>
 * <tr><td>{@code SET character_set_results=NULL}</td><td>character_set_results with an empty value</td></tr>
 * <tr><td>COM_RESET_CONNECTION</td><td>a plain OK; afterwards session_track_* are the global defaults again, so
 * {@code SET @x=2} or {@code SET wait_timeout=77} report nothing until Baton's SET runs again</td></tr>
 * </table>
 *
 * <p>The tracker sees at most the head bytes its scanners show (512 of a server message, 256 of a client message in
 * the relay): state beyond an OK packet's head is {@link Reason#STATE_UNREAD}, and a GET_LOCK, LOCK TABLES or XA
 * beyond a query's head is not seen. Not thread-safe: it lives on the session's event loop.
 */
public final class SessionState {

    /** Why a session cannot be moved to another server; {@link #label()} is the Prometheus label value. */
    public enum Reason {
        /** The server reported a state change no tracked variable or schema explains: user variables, temporary
         * tables, SQL PREPARE... */
        STATE_CHANGE,
        /** A query assigned a user variable in a way the server does not report ({@code SELECT @x:=1}, INTO @x). */
        USER_VARIABLE,
        /** The client prepared a statement with COM_STMT_PREPARE. */
        PREPARED_STATEMENT,
        /** A query called GET_LOCK (until RELEASE_ALL_LOCKS). */
        USER_LOCK,
        /** LOCK TABLES or FLUSH TABLES ... LOCK/EXPORT, until UNLOCK TABLES. */
        TABLE_LOCK,
        /** XA START/BEGIN, until XA COMMIT/ROLLBACK. */
        XA,
        /** Tracking data lay beyond the bytes Baton could see. */
        STATE_UNREAD,
        /** The client changed session_track_* itself, or the server reset them (COM_RESET_CONNECTION,
         * COM_CHANGE_USER) and Baton has not {@link #trackingArmed() armed} them again. */
        TRACKING_CHANGED,
        /** A variable whose tracked value cannot be replayed faithfully: timestamp, insert_id, last_insert_id,
         * rand_seed1/2, or a collation Baton could not read from SET NAMES ... COLLATE. */
        NOT_REPLAYABLE;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Set by Baton itself; reported changes away from these values mean Baton no longer sees everything. */
    private static final Map<String, String> BATONS_TRACKING = Map.of(
            "session_track_system_variables", "*",
            "session_track_schema", "ON",
            "session_track_state_change", "ON");
    /**
     * One-shot or stale values: insert_id, rand_seed1/2 apply to the next statement only, last_insert_id and
     * identity to the last insert; the reported timestamp stays the fixed one after {@code SET timestamp=DEFAULT}.
     */
    private static final Set<String> NOT_REPLAYABLE = Set.of("timestamp", "insert_id", "last_insert_id", "identity",
            "rand_seed1", "rand_seed2");
    /** Read-only variables that a server might report; setting them fails. */
    private static final Set<String> READ_ONLY = Set.of("in_transaction", "last_gtid", "warning_count", "error_count",
            "external_user", "proxy_user");

    private final Map<String, String> variables = new LinkedHashMap<>();
    private final Set<Reason> reasons = EnumSet.noneOf(Reason.class);
    private String schema;

    /** A session whose backend has Baton's tracking armed and nothing changed yet. */
    public SessionState() {
    }

    /** The variables to replay, in the order the client first changed them, with their latest values. */
    public Map<String, String> variables() {
        return Collections.unmodifiableMap(variables);
    }

    /** The schema session tracking last reported, or null if none since login (the handshake's stays). */
    public String schema() {
        return schema;
    }

    /** Why the session cannot move; empty if it can. */
    public Set<Reason> reasons() {
        return Collections.unmodifiableSet(reasons);
    }

    public boolean movable() {
        return reasons.isEmpty();
    }

    /** Applies one OK packet's changes as the answer to an ordinary statement. */
    public void apply(SessionChanges changes) {
        apply(changes, 0, null);
    }

    /**
     * Applies one OK packet's changes.
     *
     * @param hints     {@link QueryHead} flags of the command the OK answers
     * @param collation the collation its SET NAMES ... COLLATE named, or null
     */
    void apply(SessionChanges changes, int hints, String collation) {
        if (!changes.complete()) {
            reasons.add(Reason.STATE_UNREAD);
        }
        boolean transientVariables = (hints & QueryHead.SET_STATEMENT) != 0;
        boolean trackingReported = false;
        for (Map.Entry<String, String> change : changes.variables().entrySet()) {
            String name = change.getKey().toLowerCase(Locale.ROOT);
            String value = change.getValue();
            String batons = BATONS_TRACKING.get(name);
            if (batons != null) {
                trackingReported = true;
                if (!batons.equalsIgnoreCase(value)) {
                    reasons.add(Reason.TRACKING_CHANGED);
                }
            } else if (transientVariables || READ_ONLY.contains(name)) {
                continue;
            } else if (NOT_REPLAYABLE.contains(name) || !isName(name)) {
                reasons.add(Reason.NOT_REPLAYABLE);
            } else {
                variables.put(name, value);
            }
        }
        forgetCollationOfNewCharacterSet(changes, "connection");
        forgetCollationOfNewCharacterSet(changes, "database");
        if ((hints & QueryHead.SET_NAMES_COLLATE) != 0) {
            if (collation == null) {
                reasons.add(Reason.NOT_REPLAYABLE);
            } else {
                variables.remove("collation_connection"); // after the character sets it follows
                variables.put("collation_connection", collation);
            }
        }
        if (changes.schema() != null) {
            schema = changes.schema();
        }
        if ((hints & QueryHead.TRACKING) != 0 && changes.stateChanged() && !trackingReported) {
            reasons.add(Reason.TRACKING_CHANGED); // a session_track_system_variables without * no longer reports itself
        }
        boolean explained = (hints & QueryHead.MAY_HIDE_STATE) == 0
                && (!changes.variables().isEmpty() || changes.schema() != null);
        if (changes.stateChanged() && !explained) {
            reasons.add(Reason.STATE_CHANGE);
        }
    }

    /**
     * Setting a character set also sets its collation to the character set's default, which MariaDB does not report
     * ({@code SET NAMES latin1}): a collation learnt before is then wrong, and replaying the character set alone
     * gives the right one.
     */
    private void forgetCollationOfNewCharacterSet(SessionChanges changes, String which) {
        if (changes.variables().containsKey("character_set_" + which)
                && !changes.variables().containsKey("collation_" + which)) {
            variables.remove("collation_" + which);
        }
    }

    /** A COM_QUERY with these {@link QueryHead} flags was sent: raises or clears the reasons its head shows. */
    void onQuery(int hints) {
        if ((hints & QueryHead.USER_LOCK) != 0) {
            reasons.add(Reason.USER_LOCK);
        } else if ((hints & QueryHead.RELEASE_ALL_LOCKS) != 0) {
            reasons.remove(Reason.USER_LOCK);
        }
        if ((hints & QueryHead.TABLE_LOCK) != 0) {
            reasons.add(Reason.TABLE_LOCK);
        } else if ((hints & QueryHead.UNLOCK_TABLES) != 0) {
            reasons.remove(Reason.TABLE_LOCK);
        }
        if ((hints & QueryHead.XA_START) != 0) {
            reasons.add(Reason.XA);
        } else if ((hints & QueryHead.XA_END) != 0) {
            reasons.remove(Reason.XA);
        }
        if ((hints & QueryHead.USER_VARIABLE) != 0) {
            reasons.add(Reason.USER_VARIABLE);
        }
    }

    /** The client sent COM_STMT_PREPARE. */
    void onPrepare() {
        reasons.add(Reason.PREPARED_STATEMENT);
    }

    /**
     * The server reset the session (COM_RESET_CONNECTION or COM_CHANGE_USER succeeded): variables, schema and
     * reasons are gone, and so is Baton's tracking, which the server put back to its global defaults. Until the relay
     * runs its SET of session_track_* again and calls {@link #trackingArmed()}, the session is
     * {@link Reason#TRACKING_CHANGED}.
     */
    public void reset() {
        variables.clear();
        reasons.clear();
        schema = null;
        reasons.add(Reason.TRACKING_CHANGED);
    }

    /** Baton's SET of session_track_* succeeded again after a {@link #reset()}. */
    public void trackingArmed() {
        reasons.remove(Reason.TRACKING_CHANGED);
    }

    /**
     * One statement that gives a fresh connection (same user, logged in with the same character set and database)
     * the variables this session changed, or null if it changed none. Run it before anything else: it does not
     * depend on the fresh connection's sql_mode (values are numbers or hex literals with a character set
     * introducer, names are plain), sets character sets before collations (setting a character set resets its
     * collation) and sql_mode last.
     */
    public String replayStatement() {
        if (variables.isEmpty()) {
            return null;
        }
        List<Map.Entry<String, String>> ordered = new ArrayList<>(variables.entrySet());
        ordered.sort((a, b) -> Integer.compare(rank(a.getKey()), rank(b.getKey()))); // stable
        StringBuilder sql = new StringBuilder("SET ");
        for (Map.Entry<String, String> variable : ordered) {
            if (sql.length() > 4) {
                sql.append(", ");
            }
            sql.append("@@SESSION.").append(variable.getKey()).append('=');
            appendValue(sql, variable.getKey(), variable.getValue());
        }
        return sql.toString();
    }

    private static int rank(String name) {
        if (name.startsWith("character_set_")) {
            return 0;
        }
        if (name.startsWith("collation_")) {
            return 1;
        }
        return name.equals("sql_mode") ? 3 : 2;
    }

    private static void appendValue(StringBuilder sql, String name, String value) {
        if (value.isEmpty() && name.equals("character_set_results")) {
            sql.append("NULL"); // SET character_set_results=NULL is reported as an empty value
        } else if (isNumber(value)) {
            sql.append(value); // integer and decimal variables refuse strings
        } else {
            sql.append("_utf8mb4 X'");
            for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
                sql.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
            }
            sql.append('\'');
        }
    }

    private static boolean isNumber(String value) {
        int i = value.startsWith("-") ? 1 : 0;
        int digits = 0;
        boolean point = false;
        for (; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c >= '0' && c <= '9') {
                digits++;
            } else if (c == '.' && !point && digits > 0) {
                point = true;
                digits = 0;
            } else {
                return false;
            }
        }
        return digits > 0;
    }

    private static boolean isName(String name) {
        if (name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
                return false;
            }
        }
        return true;
    }
}
