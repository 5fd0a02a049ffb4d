package dev.baton.routing;

/**
 * A node's health as a topology last saw it, for status and metrics.
 *
 * @param reason         why the node may not be the writer, or null when it may
 * @param maxConnections the node's max_connections at the last check, 0 if unknown
 */
public record NodeReport(String node, boolean up, String reason, double flowControlPaused, long localRecvQueue,
                         long maxConnections) {
}
