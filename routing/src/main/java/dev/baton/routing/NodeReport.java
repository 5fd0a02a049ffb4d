package dev.baton.routing;

/**
 * A node's health as a topology last saw it, for status and metrics.
 *
 * @param reason         why the node may not be the writer, or null when it may
 * @param maxConnections the node's max_connections at the last check, 0 if unknown
 * @param settings       server variables the health check read (binlog_format, ...), empty if unknown
 * @param lastCheck      when the node was last checked, or null before the first check
 */
public record NodeReport(String node, boolean up, String reason, double flowControlPaused, long localRecvQueue,
                         long maxConnections, java.util.Map<String, String> settings, java.time.Instant lastCheck) {
}
