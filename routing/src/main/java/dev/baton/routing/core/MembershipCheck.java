package dev.baton.routing.core;

import java.time.Instant;
import java.util.List;

/**
 * The topology's own test of "has the cluster itself let this writer go?", used when this instance cannot reach
 * the writer: its link may be the broken one, so only the cluster's view may confirm the loss.
 */
@FunctionalInterface
public interface MembershipCheck {

    /**
     * @param notBefore evidence counts only from checks completed after this instant (when this instance first read
     *                  the current writer record): an older check may describe a node the record no longer means
     * @return true if a healthy member, checked after {@code notBefore}, no longer lists the writer as it was known
     *         after {@code notBefore}
     */
    boolean confirmsLoss(NodeHealth writer, List<NodeHealth> all, Instant notBefore);

    /** For topologies with no membership view: a loss is never confirmed that way. */
    MembershipCheck NEVER = (writer, all, notBefore) -> false;
}
