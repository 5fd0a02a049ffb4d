package dev.baton.routing.galera;

import dev.baton.routing.core.CheckVerdict;
import dev.baton.routing.core.NodeCheck;

import java.time.Instant;
import java.util.Optional;
import java.util.Set;

/**
 * What one check of a Galera node saw. A node may be the writer only if it was reachable and reports Synced
 * (wsrep_local_state 4), wsrep_ready ON, a Primary component, no desync, no rejected queries and read_only OFF.
 *
 * @param error             why the check failed (unreachable, timeout, access denied), or null if it answered
 * @param incomingAddresses the client addresses of the members of the node's current view (wsrep_incoming_addresses;
 *                          often just AUTO)
 * @param gcommUuid         the node's own member id in the group (wsrep_gcomm_uuid), new at every start
 * @param memberUuids       the member ids of the node's current view (mysql.wsrep_cluster_members), empty if unreadable
 * @param settings          server variables checked against the Rancher HA guidance (binlog_format,
 *                          innodb_autoinc_lock_mode), empty if unread
 */
public record GaleraNodeState(Instant checkedAt, String error, int localState, String localStateComment, boolean ready,
                              String clusterStatus, boolean desync, String rejectQueries, boolean readOnly,
                              int localIndex, int clusterSize, Set<String> incomingAddresses,
                              double flowControlPaused, long localRecvQueue, long maxConnections,
                              String gcommUuid, Set<String> memberUuids, java.util.Map<String, String> settings)
        implements NodeCheck {

    /** A state without server settings. */
    public GaleraNodeState(Instant checkedAt, String error, int localState, String localStateComment, boolean ready,
                           String clusterStatus, boolean desync, String rejectQueries, boolean readOnly, int localIndex,
                           int clusterSize, Set<String> incomingAddresses, double flowControlPaused, long localRecvQueue,
                           long maxConnections, String gcommUuid, Set<String> memberUuids) {
        this(checkedAt, error, localState, localStateComment, ready, clusterStatus, desync, rejectQueries, readOnly,
                localIndex, clusterSize, incomingAddresses, flowControlPaused, localRecvQueue, maxConnections, gcommUuid,
                memberUuids, java.util.Map.of());
    }

    /** A state without membership ids, as seen when they cannot be read. */
    public GaleraNodeState(Instant checkedAt, String error, int localState, String localStateComment, boolean ready,
                           String clusterStatus, boolean desync, String rejectQueries, boolean readOnly, int localIndex,
                           int clusterSize, Set<String> incomingAddresses, double flowControlPaused, long localRecvQueue,
                           long maxConnections) {
        this(checkedAt, error, localState, localStateComment, ready, clusterStatus, desync, rejectQueries, readOnly,
                localIndex, clusterSize, incomingAddresses, flowControlPaused, localRecvQueue, maxConnections, null, Set.of());
    }

    public static GaleraNodeState unreachable(Instant at, String error) {
        return new GaleraNodeState(at, error, -1, null, false, null, false, null, false, -1, 0, Set.of(), 0, 0, 0);
    }

    public boolean reachable() {
        return error == null;
    }

    public boolean primary() {
        return "Primary".equals(clusterStatus);
    }

    /** Null if this node may take writes; otherwise the first reason it may not, in an operator's words. */
    public String whyNotWritable() {
        if (!reachable()) {
            return error;
        }
        if (!primary()) {
            return "wsrep_cluster_status is " + clusterStatus + ", not Primary (the node lost quorum)";
        }
        if (localState != 4) {
            return "wsrep_local_state is " + localState + " (" + localStateComment + "), not 4 (Synced)";
        }
        if (!ready) {
            return "wsrep_ready is OFF";
        }
        if (desync) {
            return "wsrep_desync is ON";
        }
        if (rejectQueries != null && !"NONE".equalsIgnoreCase(rejectQueries)) {
            return "wsrep_reject_queries is " + rejectQueries;
        }
        if (readOnly) {
            return "read_only is ON";
        }
        return null;
    }

    @Override
    public CheckVerdict verdict() {
        if (!reachable()) {
            return new CheckVerdict.NoAnswer(error);
        }
        String why = whyNotWritable();
        return why == null ? new CheckVerdict.Writable() : new CheckVerdict.Unfit(why);
    }

    /** wsrep_local_index: the member's position in the current view, the same numbering on every node. */
    @Override
    public int electionOrder() {
        return localIndex < 0 ? Integer.MAX_VALUE : localIndex;
    }

    @Override
    public Optional<String> memberId() {
        return reachable() ? Optional.ofNullable(gcommUuid) : Optional.empty();
    }
}
