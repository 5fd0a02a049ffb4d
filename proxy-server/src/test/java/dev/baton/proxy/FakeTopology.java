package dev.baton.proxy;

import dev.baton.routing.ClusterTopology;
import dev.baton.routing.Node;
import dev.baton.routing.NodeReport;
import dev.baton.routing.WriterChange;
import dev.baton.routing.WriterChoice;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A topology a test drives by hand: it names the writer it is told to and publishes changes the way a monitored
 * topology does, a listener's exception logged by the caller, here kept for the test to see.
 */
final class FakeTopology implements ClusterTopology {
    private final List<Node> nodes;
    private final List<Consumer<WriterChange>> listeners = new CopyOnWriteArrayList<>();
    final List<RuntimeException> listenerFailures = new CopyOnWriteArrayList<>();
    private volatile WriterChoice current;
    /** What {@link #type()} answers. */
    volatile String type = "fake";
    /** What {@link #nodeReports()} answers. */
    volatile List<NodeReport> reports = List.of();

    FakeTopology(Node... nodes) {
        this.nodes = List.of(nodes);
        this.current = new WriterChoice.Writer(nodes[0], 1);
    }

    /** Makes {@code node} the writer and tells every listener, as a failover does. */
    void failOverTo(Node node) {
        publish(new WriterChoice.Writer(node, ((WriterChoice.Writer) current).epoch() + 1));
    }

    /** Starts a planned switchover's hand-over to {@code node} with a drain of {@code drain}, and tells every listener. */
    void handOverTo(Node node, java.time.Duration drain) {
        WriterChoice.Writer previous = (WriterChoice.Writer) current;
        publish(new WriterChoice.Writer(previous.node(), previous.epoch() + 1,
                new WriterChoice.Handover(node, Instant.now().plus(drain), "test")));
    }

    private void publish(WriterChoice next) {
        WriterChoice previous = current;
        current = next;
        WriterChange change = new WriterChange(Instant.now(), previous, current, "test change", "test");
        for (Consumer<WriterChange> listener : listeners) {
            try {
                listener.accept(change);
            } catch (RuntimeException e) {
                listenerFailures.add(e);
            }
        }
    }

    /**
     * Makes {@code node} the writer for new sessions without telling anyone, as in the moment between a failover
     * and its sessions being closed, so sessions on two nodes live side by side.
     */
    void routeNewSessionsTo(Node node) {
        current = new WriterChoice.Writer(node, ((WriterChoice.Writer) current).epoch() + 1);
    }

    @Override
    public String type() {
        return type;
    }

    @Override
    public List<NodeReport> nodeReports() {
        return reports;
    }

    @Override
    public List<Node> nodes() {
        return nodes;
    }

    @Override
    public void start() {
    }

    @Override
    public WriterChoice currentWriter() {
        return current;
    }

    @Override
    public void onWriterChange(Consumer<WriterChange> listener) {
        listeners.add(listener);
    }

    @Override
    public void close() {
    }
}
