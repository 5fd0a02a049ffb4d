package dev.baton.routing;

import java.time.Instant;

/**
 * The answer to "where do new sessions go?": a writer with the epoch under which it was chosen, or no writer and
 * the reason, which is what a refused client reads in its error message.
 */
public sealed interface WriterChoice {

    /**
     * The writer. During a planned switchover it carries the {@link Handover}: the writer is still {@code node}
     * for the sessions bound to it, which may finish their transactions until the deadline, while new clients
     * wait for the hand-over to end.
     *
     * @param handover the switchover in progress, or null
     */
    record Writer(Node node, long epoch, Handover handover) implements WriterChoice {
        public Writer(Node node, long epoch) {
            this(node, epoch, null);
        }

        /** True while a planned switchover drains this writer: new clients wait. */
        public boolean handingOver() {
            return handover != null;
        }
    }

    record NoWriter(String reason) implements WriterChoice {
    }

    /**
     * A planned switchover in progress, as recorded in the cluster so every instance follows it: the node that
     * takes over, and the moment (on this instance's clock) until which sessions on the old writer may finish
     * their transactions.
     */
    record Handover(Node to, Instant deadline, String requestedBy) {
    }
}
