package dev.baton.admin.api;

import java.util.List;

/**
 * {@code GET /api/v1/status}: the writer, every node's health, every client's connections, at one moment.
 *
 * @param epoch          the writer's epoch, or null without a writer
 * @param noWriterReason why there is no writer, or null
 * @param handover       a planned switchover draining now (new clients wait), or null
 * @param tls            the certificate Baton shows clients, or null without TLS
 */
public record Status(String version, String instance, long uptimeSeconds, String clusterType, String writer, Long epoch,
                     String noWriterReason, Handover handover, String warning, List<NodeStatus> nodes,
                     List<ClientUsage> clients, Totals totals, Tls tls) {

    /** A switchover in progress: to which node, until when sessions drain, who asked. */
    public record Handover(String to, String deadline, String startedBy) {
    }

    /**
     * One configured node. The health fields are null when the node is not monitored; {@code replication} is null
     * except in a primary/replica cluster.
     */
    public record NodeStatus(String name, String address, int priority, boolean monitored, Boolean up, String downReason,
                             String notMonitoredReason, String lastCheck, Double flowControlPaused, Long recvQueue,
                             Long maxConnections, boolean writer, boolean maintenance, Replication replication) {
    }

    /** A primary/replica node's replication: role, threads, lag, GTID positions, semi-sync, why it is left out. */
    public record Replication(String role, boolean readOnly, String source, String ioThread, String sqlThread,
                              String lastIoError, String lastSqlError, Long lagSeconds, String gtidBinlogPos,
                              String gtidCurrentPos, String gtidSlavePos, String gtidIoPos, SemiSync semiSync,
                              String leftOut) {
    }

    /** Semi-synchronous replication, both sides. */
    public record SemiSync(Boolean sourceEnabled, Boolean sourceActive, Long sourceClients, Boolean replicaEnabled,
                           Boolean replicaActive) {
    }

    /** One client's connections against its limit, and how many it was refused. */
    public record ClientUsage(String client, int connections, int limit, long rejected) {
    }

    /** Connections of all clients against {@code quotas.max-total}, and sessions. */
    public record Totals(long connections, long maxTotal, long sessions, long sessionsOpened) {
    }
}
