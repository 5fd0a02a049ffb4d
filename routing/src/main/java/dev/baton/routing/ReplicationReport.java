package dev.baton.routing;

import dev.baton.routing.replication.ReplicationNodeState;
import dev.baton.routing.replication.ReplicationNodeState.Role;
import dev.baton.routing.replication.ReplicationNodeState.SemiSync;
import dev.baton.routing.replication.ReplicationNodeState.Source;
import dev.baton.routing.replication.ReplicationNodeState.ThreadState;

/**
 * A node's replication as a primary/replica topology last saw it, for status, metrics and {@code baton check}: the
 * operator's view of one {@link ReplicationNodeState}, plus whether Baton keeps the node out of the cluster.
 *
 * @param role           what the node is, as it reports itself
 * @param readOnly       {@code @@read_only}
 * @param source         {@code host:port} the node replicates from (its default connection), or null
 * @param ioThread       {@code Slave_IO_Running}, or null without a source
 * @param sqlThread      {@code Slave_SQL_Running}, or null without a source
 * @param lastIoError    {@code Last_IO_Error}, or null when none (or without a source)
 * @param lastSqlError   {@code Last_SQL_Error}, or null when none (or without a source)
 * @param lagSeconds     {@code Seconds_Behind_Master}, or null when unknown: no source, the SQL thread stopped, the
 *                       IO thread not connected, or the node unreachable
 * @param gtidBinlogPos  {@code @@gtid_binlog_pos}, or null if the node did not answer
 * @param gtidCurrentPos {@code @@gtid_current_pos}, or null if the node did not answer
 * @param gtidSlavePos   {@code @@gtid_slave_pos}, or null if the node did not answer
 * @param gtidIoPos      {@code Gtid_IO_Pos} of the default connection, or null without a source
 * @param semiSync       semi-synchronous replication, both sides ({@link SemiSync#OFF} if the node did not answer)
 * @param leftOut        why Baton keeps the node out of the cluster (it neither promotes it nor makes it a replica,
 *                       such as a returning primary holding transactions the current primary lacks), or null
 */
public record ReplicationReport(Role role, boolean readOnly, String source, ThreadState ioThread, ThreadState sqlThread,
                                String lastIoError, String lastSqlError, Long lagSeconds, String gtidBinlogPos,
                                String gtidCurrentPos, String gtidSlavePos, String gtidIoPos, SemiSync semiSync,
                                String leftOut) {

    public ReplicationReport {
        semiSync = semiSync == null ? SemiSync.OFF : semiSync;
    }

    /** The report of one check of a node, with the topology's reason to keep it out of the cluster (or null). */
    public static ReplicationReport of(ReplicationNodeState state, String leftOut) {
        if (!state.reachable()) {
            return new ReplicationReport(Role.UNKNOWN, false, null, null, null, null, null, null, null, null, null, null,
                    SemiSync.OFF, leftOut);
        }
        Source s = state.defaultSource().orElse(state.sources().isEmpty() ? null : state.sources().get(0));
        return new ReplicationReport(state.role(), state.readOnly(),
                s == null ? null : s.sourceAddress(),
                s == null ? null : s.ioThread(),
                s == null ? null : s.sqlThread(),
                s == null || s.lastIoError().isEmpty() ? null : s.lastIoError(),
                s == null || s.lastSqlError().isEmpty() ? null : s.lastSqlError(),
                s == null || s.secondsBehindSource().isEmpty() ? null : s.secondsBehindSource().getAsLong(),
                state.gtidBinlogPos().toString(), state.gtidCurrentPos().toString(), state.gtidSlavePos().toString(),
                s == null ? null : s.gtidIoPos().toString(),
                state.semiSync(), leftOut);
    }

    /**
     * Whether semi-synchronous replication is in effect for the node in its role: a primary waits for a replica's
     * acknowledgement now, a replica's IO thread acknowledges now. False for a node of unknown role.
     */
    public boolean semiSyncActive() {
        return switch (role) {
            case PRIMARY -> semiSync.sourceActive();
            case REPLICA -> semiSync.replicaActive();
            case UNKNOWN -> false;
        };
    }
}
