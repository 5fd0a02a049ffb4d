package dev.baton.routing;

import java.time.Instant;

/**
 * One entry of the audit trail a topology keeps for the admin API: a writer change or a node going up or down,
 * with its reason and who caused it.
 *
 * @param kind        {@code writer} or {@code node}
 * @param subject     the new writer's name (or {@code none}), or the node's name
 * @param description what happened and why, in an operator's words (the same text as the log line)
 * @param requestedBy {@code monitor} for automatic changes, else the instance or operator that asked
 */
public record ClusterEvent(Instant at, String kind, String subject, String description, String requestedBy) {
}
