package dev.baton.routing.core;

/**
 * A node's health after hysteresis, as one of a few distinct states, so that "answered well but not yet trusted"
 * can never be mistaken for "reported itself unfit" or "did not answer".
 */
public sealed interface HealthState {

    /** Before the first check. */
    record NotChecked() implements HealthState {
        @Override
        public String describe() {
            return "not checked yet";
        }
    }

    /** Writable at the last check, and trusted: it may be elected. */
    record Up() implements HealthState {
        @Override
        public String describe() {
            return "up (writable)";
        }
    }

    /**
     * Was up, and the last {@code failures} checks (fewer than {@code fall}) failed. Still counts as up for the
     * election unless one of those checks answered unfit: a node is never routed to against its own answer.
     */
    record Falling(int failures, String reason, boolean answeredUnfit) implements HealthState {
        @Override
        public String describe() {
            return "falling (" + failures + " failed check" + (failures == 1 ? "" : "s") + "): " + reason;
        }
    }

    /**
     * Was down, and the last {@code goodChecks} checks (fewer than {@code rise}) answered writable. Not elected
     * yet, but a recorded writer that is rising is followed: it answered well at its last check.
     */
    record Rising(int goodChecks) implements HealthState {
        @Override
        public String describe() {
            return "rising (" + goodChecks + " good check" + (goodChecks == 1 ? "" : "s") + ")";
        }
    }

    /** Down, and its last check got no answer: maybe the node, maybe only this instance's link to it. */
    record DownUnreachable(String reason) implements HealthState {
        @Override
        public String describe() {
            return reason;
        }
    }

    /** Down, and its last check answered with the reason it cannot write: first-hand evidence. */
    record DownUnfit(String reason) implements HealthState {
        @Override
        public String describe() {
            return reason;
        }
    }

    /** In an operator's words, for logs, status and refused clients. */
    String describe();

    /** May be elected writer. */
    default boolean electable() {
        return this instanceof Up || this instanceof Falling f && !f.answeredUnfit();
    }

    /** May be routed to when it is the recorded writer: electable, or rising (writable at its last check). */
    default boolean followable() {
        return electable() || this instanceof Rising;
    }
}
