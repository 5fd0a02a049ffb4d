package dev.baton.routing.core;

import dev.baton.routing.Node;

/** One health check of one node; blocks for at most the check's timeout and reports failures as a check. */
@FunctionalInterface
public interface NodeProbe {
    NodeCheck check(Node node);
}
