package dev.baton.routing.core;

import java.time.Instant;

/**
 * The writer record's value: which node every instance routes to, under which epoch, set by whom and why, and
 * the planned switchover it is handing over in, if any. A change replaces the whole value by one compare-and-set
 * on the epoch, so the hand-over changes atomically with the writer.
 *
 * @param handoverTo    the node a planned switchover hands the writer to, or null
 * @param handoverUntil until when sessions on {@code writer} may finish their transactions (the clock of the
 *                      instance that started the switchover), or null
 */
public record StoredWriter(String writer, long epoch, String changedBy, String reason, String handoverTo,
                           Instant handoverUntil) {

    public StoredWriter {
        if ((handoverTo == null) != (handoverUntil == null)) {
            throw new IllegalArgumentException("a hand-over needs both its target and its deadline");
        }
    }

    /** A value with no hand-over. */
    public StoredWriter(String writer, long epoch, String changedBy, String reason) {
        this(writer, epoch, changedBy, reason, null, null);
    }

    public boolean handingOver() {
        return handoverTo != null;
    }
}
