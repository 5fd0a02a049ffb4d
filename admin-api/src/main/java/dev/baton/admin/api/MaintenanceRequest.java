package dev.baton.admin.api;

/** {@code POST /api/v1/nodes/NODE/maintenance}: {@code {"on": true}} or {@code {"on": false}}; required. */
public record MaintenanceRequest(Boolean on) implements Request {
}
