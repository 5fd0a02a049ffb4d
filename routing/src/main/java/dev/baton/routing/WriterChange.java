package dev.baton.routing;

import java.time.Instant;

/**
 * A change of where new sessions go, with its reason: logged once, kept for the admin API, and acted on by the
 * proxy (sessions bound to a node that is no longer the writer are closed).
 *
 * @param requestedBy who caused it: "monitor" for automatic changes, or an operator or instance name
 */
public record WriterChange(Instant at, WriterChoice previous, WriterChoice current, String reason, String requestedBy) {
}
