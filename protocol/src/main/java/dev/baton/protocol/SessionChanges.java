package dev.baton.protocol;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one OK packet's session-state-info reports
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_ok_packet.html, session_state_info): the
 * system variables changed, the schema changed to, and whether SESSION_TRACK_STATE_CHANGE was among the changes.
 * Baton rebuilds a session on another server from these; read them with {@link ResponseStatus#sessionChanges}.
 *
 * @param variables    system variables in the order the server reported them (name, value); a NULL value arrives as
 *                     the empty string, as MariaDB sends it
 * @param schema       the schema named by SESSION_TRACK_SCHEMA, or null
 * @param stateChanged SESSION_TRACK_STATE_CHANGE was reported: something in the session changed (MariaDB also
 *                     reports it beside every variable or schema change)
 * @param complete     every change was readable; false when the session state runs beyond the bytes Baton could see,
 *                     so the session's state is no longer known
 */
public record SessionChanges(Map<String, String> variables, String schema, boolean stateChanged, boolean complete) {

    /** An OK packet without session state (no SERVER_SESSION_STATE_CHANGED, or no CLIENT_SESSION_TRACK). */
    public static final SessionChanges NONE = new SessionChanges(Map.of(), null, false, true);

    /** The head of an OK packet too short to show its status flags: whether anything changed is unknown. */
    static final SessionChanges UNREAD = new SessionChanges(Map.of(), null, false, false);

    public SessionChanges {
        variables = Collections.unmodifiableMap(new LinkedHashMap<>(variables));
    }

    /** True if the packet reported nothing at all and was fully read. */
    public boolean isEmpty() {
        return complete && !stateChanged && schema == null && variables.isEmpty();
    }
}
