package dev.baton.routing;

/**
 * The answer to "where do new sessions go?": a writer with the epoch under which it was chosen, or no writer and
 * the reason, which is what a refused client reads in its error message.
 */
public sealed interface WriterChoice {

    record Writer(Node node, long epoch) implements WriterChoice {
    }

    record NoWriter(String reason) implements WriterChoice {
    }
}
