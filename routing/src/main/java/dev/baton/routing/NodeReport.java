package dev.baton.routing;

import dev.baton.routing.replication.ReplicationNodeState;

import java.time.Instant;
import java.util.Map;

/**
 * A node's health as a topology last saw it, for status and metrics.
 *
 * @param reason         why the node may not be the writer, or null when it may
 * @param maxConnections the node's max_connections at the last check, 0 if unknown
 * @param settings       server variables the health check read (binlog_format, ...), empty if unknown
 * @param lastCheck      when the node was last checked, or null before the first check
 * @param replication    the node's replication, for a primary/replica cluster; null for other kinds
 */
public record NodeReport(String node, boolean up, String reason, double flowControlPaused, long localRecvQueue,
                         long maxConnections, Map<String, String> settings, Instant lastCheck,
                         ReplicationReport replication) {

    /** A report without replication (every kind but primary/replica). */
    public NodeReport(String node, boolean up, String reason, double flowControlPaused, long localRecvQueue,
                      long maxConnections, Map<String, String> settings, Instant lastCheck) {
        this(node, up, reason, flowControlPaused, localRecvQueue, maxConnections, settings, lastCheck, null);
    }

    /**
     * The report of a primary/replica node from its last check ({@code last}, or null before the first): its
     * max_connections, the settings the check read (which {@code baton check} judges) and its replication.
     *
     * @param up       whether the node may serve in its role now
     * @param reason   why not, or null
     * @param leftOut  why Baton keeps the node out of the cluster, or null
     */
    public static NodeReport ofReplication(String node, boolean up, String reason, ReplicationNodeState last,
                                           String leftOut) {
        if (last == null) {
            return new NodeReport(node, up, reason, 0, 0, 0, Map.of(), null, null);
        }
        return new NodeReport(node, up, reason, 0, 0, last.maxConnections(), last.settings(), last.checkedAt(),
                ReplicationReport.of(last, leftOut));
    }
}
