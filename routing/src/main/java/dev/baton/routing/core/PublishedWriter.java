package dev.baton.routing.core;

import dev.baton.routing.WriterChoice;

/**
 * An instance's current writer choice, as the proxy reads it, and the one place it changes: a change of route (another
 * node, another epoch, or between a writer and none) is logged and told to listeners once, with its reason; a
 * fresher reason for the same route replaces the choice silently.
 */
public final class PublishedWriter {
    private final ClusterEvents events;
    private volatile WriterChoice current;

    public PublishedWriter(ClusterEvents events, WriterChoice initial) {
        this.events = events;
        this.current = initial;
    }

    public WriterChoice current() {
        return current;
    }

    public void publish(WriterChoice next, String reason, String by) {
        WriterChoice previous = current;
        current = next;
        if (!sameRoute(previous, next)) {
            events.writer(previous, next, reason, by);
        }
    }

    private static boolean sameRoute(WriterChoice a, WriterChoice b) {
        if (a instanceof WriterChoice.Writer x && b instanceof WriterChoice.Writer y) {
            return x.node().equals(y.node()) && x.epoch() == y.epoch();
        }
        return a instanceof WriterChoice.NoWriter && b instanceof WriterChoice.NoWriter;
    }
}
