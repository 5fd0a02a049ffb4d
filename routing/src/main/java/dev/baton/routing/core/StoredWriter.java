package dev.baton.routing.core;

/**
 * The writer record's value: which node every instance routes to, under which epoch, set by whom and why. A
 * change replaces the whole value by one compare-and-set on the epoch, so fields added here (a hand-over
 * target and deadline, say) change atomically with the writer.
 */
public record StoredWriter(String writer, long epoch, String changedBy, String reason) {
}
