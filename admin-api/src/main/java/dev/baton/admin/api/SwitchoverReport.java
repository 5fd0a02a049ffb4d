package dev.baton.admin.api;

import java.util.List;
import java.util.Map;

/**
 * What a switchover did, across every Baton instance. A promotion with no writer to drain has
 * {@code promoted_without_a_writer} true, zero sessions, no instances and no {@code this_instance}.
 *
 * @param from the writer before, or null when there was none
 */
public record SwitchoverReport(String from, String to, long epoch, long writesUnavailableMs, boolean promotedWithoutAWriter,
                               long sessionsIdle, long sessionsAfterTransaction, long sessionsMoving,
                               long sessionsClosedNotMovable, long sessionsClosedInTransaction,
                               List<InstanceDrain> instances, List<String> instancesNotHeardFrom,
                               SessionMoves thisInstance) {

    /** One instance's drain: sessions closed at once, after their transaction, at the deadline, or moving. */
    public record InstanceDrain(String instance, long sessionsIdle, long sessionsAfterTransaction, long sessionsMoving,
                                long sessionsClosedNotMovable, long sessionsClosedInTransaction) {
    }

    /** How this instance's sessions fared moving to the new writer: moved, not moved by reason, still moving. */
    public record SessionMoves(String instance, long sessionsMoved, Map<String, Long> sessionsNotMoved,
                               long sessionsStillMoving) {
    }
}
