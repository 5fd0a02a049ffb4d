package dev.baton.routing;

/**
 * A node's health as a topology last saw it, for status and metrics.
 *
 * @param reason why the node may not be the writer, or null when it may
 */
public record NodeReport(String node, boolean up, String reason, double flowControlPaused, long localRecvQueue) {
}
