package dev.baton.routing;

import java.util.List;
import java.util.function.Consumer;

/**
 * One kind of cluster Baton can stand in front of (a single server, Galera, primary with replicas). A topology
 * owns how the writer is found and kept; the proxy only asks it for the current choice. New kinds plug in through
 * {@link TopologyType}.
 */
public interface ClusterTopology extends AutoCloseable {

    /** The config name of this kind, such as {@code single} or {@code galera}. */
    String type();

    List<Node> nodes();

    /** Starts monitoring, if the topology monitors anything. */
    void start();

    /** Where new sessions go now. Cheap: called for every client connection. */
    WriterChoice currentWriter();

    /**
     * Tells the topology that connecting to {@code node} failed for a client, so it can take that into account
     * (a monitored topology may ignore it and trust its own checks).
     */
    default void connectFailed(Node node, String reason) {
    }

    /** Registers a listener called (on the topology's own thread) after every change of {@link #currentWriter()}. */
    default void onWriterChange(Consumer<WriterChange> listener) {
    }

    /**
     * Registers a listener called (on the topology's own thread) after every applied health check, for topologies
     * whose writer never changes ({@code single}): their checks are the only moment a node's max_connections is
     * learned. Topologies that elect tell through {@link #onWriterChange} instead.
     */
    default void onNodeChecked(Runnable listener) {
    }

    /** How long a new client may wait for a writer while there is none (during an election). */
    default java.time.Duration connectWait() {
        return java.time.Duration.ZERO;
    }

    /** Every monitored node's health as last seen (empty for topologies that monitor nothing). */
    default List<NodeReport> nodeReports() {
        return List.of();
    }

    /** Recent writer changes and node state changes, oldest first (empty for topologies that monitor nothing). */
    /** Records what this instance's sessions did through a writer change, in the audit trail ({@link #events()}). */
    default void sessionsEvent(String writer, String description) {
    }

    default List<ClusterEvent> events() {
        return List.of();
    }

    /**
     * Starts a planned switchover to {@code node} for every instance: the writer stays where it is, but the
     * record now carries a hand-over with a deadline {@code drain} from now, so every instance holds its new
     * clients and lets open transactions finish until then. Returns the writer with its hand-over; fails with a
     * message an operator can act on.
     */
    default WriterChoice.Writer beginHandover(Node node, java.time.Duration drain, String requestedBy,
                                              java.time.Duration timeout) {
        throw new IllegalStateException("cluster type '" + type() + "' has one node and nothing to switch to");
    }

    /**
     * Ends the hand-over recorded under {@code handoverEpoch}: its target becomes the writer for every instance.
     * Fails if the record moved on meanwhile (another instance completed or cancelled it).
     */
    default WriterChoice.Writer completeHandover(long handoverEpoch, String requestedBy, java.time.Duration timeout) {
        throw new IllegalStateException("cluster type '" + type() + "' has one node and nothing to switch to");
    }

    /**
     * Makes {@code node} the writer when there is none to hand over from: the recorded writer is lost and the topology
     * waits for an operator (a primary/replica cluster with {@code failover: manual}). Fails with an operator's reason
     * when the topology's rules do not allow it.
     */
    default WriterChoice.Writer takeOver(Node node, String requestedBy, java.time.Duration timeout) {
        throw new IllegalStateException("Baton routes to no writer now ("
                + (currentWriter() instanceof WriterChoice.NoWriter n ? n.reason() : "") + "); try again when it does");
    }

    /** Records, for every instance to see, what this instance did with its sessions in a hand-over's drain. */
    default void reportDrain(DrainReport report) {
    }

    /** The drain reports recorded for the hand-over under {@code epoch}, by any instance. */
    default List<DrainReport> drainReports(long epoch) {
        return List.of();
    }

    /** Names of the Baton instances that showed signs of life in the cluster recently (this one included). */
    default List<String> liveInstances() {
        return List.of();
    }

    /** Takes a node out of (or back into) the election for every instance; see the Galera topology. */
    default void setMaintenance(Node node, boolean on, String requestedBy, java.time.Duration timeout) {
        throw new IllegalStateException("cluster type '" + type() + "' has one node; maintenance would leave no writer");
    }

    /** Nodes in maintenance, as last read. */
    default java.util.Set<String> maintenance() {
        return java.util.Set.of();
    }

    @Override
    void close();
}
