package dev.baton.routing.replication;

import dev.baton.routing.core.StoredWriter;

import java.util.Optional;
import java.util.Set;

/**
 * Baton's books as one node of a primary/replica cluster holds them, read by that node's health check. Only the
 * primary is ever written to; the replicas hold what replication brought them, so the books of a majority of
 * nodes, taken together, tell every instance the latest writer even while one node is lost.
 *
 * @param writer      the writer record, empty if none is stored on this node (or its tables do not exist yet)
 * @param maintenance nodes in maintenance
 * @param promotion   the last promotion recorded on this node, empty if none
 * @param error       why the books could not be read, or null when they were (missing tables are not an error)
 */
public record NodeRecord(Optional<StoredWriter> writer, Set<String> maintenance, Optional<Promotion> promotion,
                         String error) {

    /** A node whose books do not exist yet: nothing recorded. */
    public static final NodeRecord NONE = new NodeRecord(Optional.empty(), Set.of(), Optional.empty(), null);

    public NodeRecord {
        maintenance = Set.copyOf(maintenance);
    }

    public static NodeRecord unreadable(String error) {
        return new NodeRecord(Optional.empty(), Set.of(), Optional.empty(), error);
    }

    public boolean readable() {
        return error == null;
    }

    /** The epoch of the stored writer, 0 if none. */
    public long epoch() {
        return writer.map(StoredWriter::epoch).orElse(0L);
    }

    /**
     * One promotion: under {@code epoch}, {@code node} became the primary holding exactly {@code position} (every
     * transaction it had when it started taking writes). A node that later returns with transactions past that
     * point in a domain, written by another server, holds transactions the primary lacks.
     */
    public record Promotion(long epoch, String node, GtidPosition position) {
    }
}
