package dev.baton.admin.api;

/**
 * {@code POST /api/v1/nodes/NODE/maintenance}'s answer.
 *
 * @param switchover the switchover that moved the writer away first, or null when the node was not the writer
 */
public record MaintenanceReport(String node, boolean maintenance, SwitchoverReport switchover) {
}
