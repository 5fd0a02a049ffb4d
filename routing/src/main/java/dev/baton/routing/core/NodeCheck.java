package dev.baton.routing.core;

import java.time.Instant;
import java.util.Optional;

/** One completed health check of one node, as the decision core needs it; each topology has its own kind. */
public interface NodeCheck {

    /** When the check completed, on the checking instance's clock. */
    Instant checkedAt();

    CheckVerdict verdict();

    /** Tie-breaker between nodes of equal priority, the same on every instance (Galera: wsrep_local_index). */
    int electionOrder();

    /** The node's identity in the cluster's membership for this run of the server, if it answered and has one. */
    Optional<String> memberId();

    /** How a node that this check found fit is described when it comes up, in an operator's words. */
    default String upDescription() {
        return "up (writable)";
    }
}
