package dev.baton.routing;

import java.util.List;

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

    @Override
    void close();
}
