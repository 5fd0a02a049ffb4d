package dev.baton.admin.api;

/**
 * {@code POST /api/v1/switchover}: {@code {"to": "db2", "drain-timeout": "10s"}}.
 *
 * @param to           the node to make the writer, by its config name; required
 * @param drainTimeout how long transactions may run on, as {@link Durations} reads it; null for the default
 */
public record SwitchoverRequest(String to, String drainTimeout) implements Request {
}
