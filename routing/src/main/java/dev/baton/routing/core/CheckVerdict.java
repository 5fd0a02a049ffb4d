package dev.baton.routing.core;

/**
 * What one health check says about a node, whatever the kind of cluster: it may take writes, it answered and
 * said why it may not, or it did not answer. Keeping "unfit" and "no answer" apart is what lets the election
 * replace a writer on first-hand evidence only.
 */
public sealed interface CheckVerdict {

    /** The node answered and may take writes. */
    record Writable() implements CheckVerdict {
    }

    /** The node answered and reported why it may not take writes (not Synced, not Primary, read-only ...). */
    record Unfit(String reason) implements CheckVerdict {
    }

    /** The check got no answer (refused, timed out, access denied): this says nothing about the node itself. */
    record NoAnswer(String reason) implements CheckVerdict {
    }
}
