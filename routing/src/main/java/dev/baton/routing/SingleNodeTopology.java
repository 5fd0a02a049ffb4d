package dev.baton.routing;

import java.util.List;

/**
 * One server and nothing to elect: every session goes to it. Baton still adds clear errors when the server is
 * down and per-session state tracking, and is the place where connection quotas will apply.
 */
public final class SingleNodeTopology implements ClusterTopology {
    private final Node node;
    private final WriterChoice.Writer writer;

    public SingleNodeTopology(ClusterSpec spec) {
        this(spec.nodes());
    }

    public SingleNodeTopology(List<Node> nodes) {
        if (nodes.size() != 1) {
            throw new IllegalArgumentException("cluster type 'single' takes exactly one node, got " + nodes.size());
        }
        this.node = nodes.get(0);
        this.writer = new WriterChoice.Writer(node, 1);
    }

    @Override
    public String type() {
        return "single";
    }

    @Override
    public List<Node> nodes() {
        return List.of(node);
    }

    @Override
    public void start() {
    }

    @Override
    public WriterChoice currentWriter() {
        return writer;
    }

    @Override
    public void close() {
    }
}
