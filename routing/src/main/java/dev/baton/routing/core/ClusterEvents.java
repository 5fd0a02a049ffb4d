package dev.baton.routing.core;

import dev.baton.routing.ClusterEvent;
import dev.baton.routing.Node;
import dev.baton.routing.WriterChange;
import dev.baton.routing.WriterChoice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The one place a node or writer state change goes: logged once at INFO with its reason, kept for the audit
 * trail ({@link #events()}), and handed to every writer-change listener (sessions, metrics), each on its own so
 * that one failing listener never stops the others.
 */
public final class ClusterEvents {
    private static final Logger log = LoggerFactory.getLogger(ClusterEvents.class);
    private static final int EVENTS_KEPT = 200;

    private final Clock clock;
    private final Deque<ClusterEvent> events = new ArrayDeque<>();
    private final List<Consumer<WriterChange>> listeners = new CopyOnWriteArrayList<>();

    public ClusterEvents(Clock clock) {
        this.clock = clock;
    }

    public void onWriterChange(Consumer<WriterChange> listener) {
        listeners.add(listener);
    }

    /** A node's state changed (up, down, maintenance), because of {@code requestedBy}. */
    public void node(Node node, String description, String requestedBy) {
        log.info(description);
        keep(new ClusterEvent(clock.instant(), "node", node.name(), description, requestedBy));
    }

    /** Where new sessions go changed. */
    public void writer(WriterChoice previous, WriterChoice next, String reason, String requestedBy) {
        WriterChange change = new WriterChange(clock.instant(), previous, next, reason, requestedBy);
        String what = next instanceof WriterChoice.Writer w
                ? "writer is now " + w.node() + " (epoch " + w.epoch() + "): " + reason
                : "no writer: " + ((WriterChoice.NoWriter) next).reason();
        log.info(what);
        keep(new ClusterEvent(change.at(), "writer", next instanceof WriterChoice.Writer w ? w.node().name() : "none", what,
                requestedBy));
        for (Consumer<WriterChange> listener : listeners) {
            try {
                listener.accept(change);
            } catch (RuntimeException e) {
                log.warn("writer change listener failed; telling the others", e);
            }
        }
    }

    /** What this instance's sessions did through a writer change (moved to the new writer, or not and why). */
    public void sessions(String writer, String description) {
        log.info(description);
        keep(new ClusterEvent(clock.instant(), "sessions", writer, description, null));
    }

    private void keep(ClusterEvent event) {
        synchronized (events) {
            events.addLast(event);
            while (events.size() > EVENTS_KEPT) {
                events.removeFirst();
            }
        }
    }

    /** The last changes, oldest first. */
    public List<ClusterEvent> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }
}
