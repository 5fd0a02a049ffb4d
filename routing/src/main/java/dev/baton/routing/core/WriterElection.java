package dev.baton.routing.core;

import dev.baton.routing.Node;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The rules that decide, from the writer record, this instance's view of node health and the time, whether to
 * follow the recorded writer, propose another, or refuse clients. Pure: no I/O, no clock of its own, no
 * knowledge of the kind of cluster beyond the {@link MembershipCheck} it is given.
 *
 * <ul>
 *   <li>Sticky: a recorded writer that is up, or rising (writable at its last check), is followed.</li>
 *   <li>Deterministic: the candidate is the electable node with the lowest priority, ties broken by
 *       {@link NodeCheck#electionOrder()}, the same on every instance.</li>
 *   <li>Confirmed: a recorded writer is replaced only when it answered and reported why it cannot write, or when
 *       the cluster's own membership no longer lists it; the evidence must be newer than this instance's read of
 *       the record. A writer merely unreachable from here is refused, never replaced.</li>
 *   <li>Fresh: a record that could not be read for longer than {@code recordMaxAge} is not followed.</li>
 * </ul>
 */
public final class WriterElection {

    /** What to do now. */
    public sealed interface Decision {
    }

    /** Route to the recorded writer. */
    public record Follow(Node writer, long epoch, String reason, String recordedBy) implements Decision {
    }

    /**
     * Propose {@code candidate} by compare-and-set from {@code expectedEpoch} (0: no record) to {@code nextEpoch};
     * if the change does not take, do {@code otherwise}.
     */
    public record Propose(Node candidate, long expectedEpoch, long nextEpoch, String reason, Decision otherwise)
            implements Decision {
    }

    /** Route nowhere; refused clients read {@code reason}. */
    public record Refuse(String reason) implements Decision {
    }

    /** The settings the rules read. */
    public record Rules(boolean failback, Duration recordMaxAge, MembershipCheck membership) {
    }

    private static final Comparator<NodeHealth> ORDER = Comparator
            .comparingInt((NodeHealth h) -> h.node().priority())
            .thenComparingInt(h -> h.last() == null ? Integer.MAX_VALUE : h.last().electionOrder())
            .thenComparing(h -> h.node().name());

    /**
     * How long past its deadline a planned switchover's hand-over may stay in the record before any instance ends
     * it: the instance that started it waits a few seconds for the other instances' drain reports, then ends it.
     */
    public static final Duration HANDOVER_GRACE = Duration.ofSeconds(10);

    private WriterElection() {
    }

    public static Decision decide(RecordKnowledge record, List<NodeHealth> health, Set<String> maintenance,
                                  Instant now, Rules rules) {
        Duration unread = record.unreadFor(now);
        if (unread.compareTo(rules.recordMaxAge()) > 0) {
            return new Refuse("writer record unreadable for " + Math.round(unread.toMillis() / 100.0) / 10.0 + " s: "
                    + record.lastError().orElse(""));
        }
        List<NodeHealth> eligible = health.stream().filter(h -> h.state().electable())
                .filter(h -> !maintenance.contains(h.node().name())).sorted(ORDER).toList();
        long next = record.highestEpoch() + 1;
        Optional<StoredWriter> found = record.stored();
        if (found.isEmpty()) {
            return noRecord(record, health, eligible, maintenance, next);
        }
        StoredWriter stored = found.get();
        Decision decision = withRecord(stored, record, health, eligible, maintenance, next, now, rules);
        if (stored.epoch() >= record.highestEpoch()) {
            return decision;
        }
        // Someone re-created the record from an older epoch. Route nowhere under an epoch lower than one already
        // seen: raise it first (writer unchanged if it may be followed), so epochs only grow as far as this
        // instance can tell.
        Refuse back = new Refuse("writer record epoch went back from " + record.highestEpoch() + " to " + stored.epoch()
                + " (the record was re-created); raising it");
        if (decision instanceof Follow follow) {
            return new Propose(follow.writer(), stored.epoch(), next, "writer record epoch " + stored.epoch() + " is below "
                    + record.highestEpoch() + " seen before (the record was re-created); raising it", back);
        }
        if (decision instanceof Propose propose) {
            return new Propose(propose.candidate(), propose.expectedEpoch(), next, propose.reason(),
                    propose.otherwise() instanceof Follow ? back : propose.otherwise());
        }
        return decision;
    }

    private static Decision withRecord(StoredWriter stored, RecordKnowledge record, List<NodeHealth> health,
                                       List<NodeHealth> eligible, Set<String> maintenance, long next, Instant now,
                                       Rules rules) {
        Optional<NodeHealth> current = health.stream().filter(h -> h.node().name().equals(stored.writer())).findFirst();
        if (current.isEmpty()) {
            if (eligible.isEmpty()) {
                return new Refuse("stored writer '" + stored.writer() + "' is not in this Baton's config and no node is healthy ("
                        + downReasons(health) + ")");
            }
            Node first = eligible.get(0).node();
            return new Propose(first, stored.epoch(), next, "stored writer '" + stored.writer() + "' is not a configured node; elected "
                    + first.name(), new Refuse("stored writer '" + stored.writer() + "' is not a configured node; election in progress"));
        }
        NodeHealth writer = current.get();
        String name = writer.node().name();
        HealthState state = writer.state();
        Decision follow = new Follow(writer.node(), stored.epoch(), stored.reason(), stored.changedBy());
        if (state instanceof HealthState.NotChecked) {
            return new Refuse("Baton is starting: waiting for the first check of writer " + name);
        }
        if (maintenance.contains(name)) {
            Decision otherwise = state.followable() ? follow : new Refuse("writer " + name + " is in maintenance: " + state.describe());
            if (eligible.isEmpty()) {
                return otherwise instanceof Refuse ? otherwise : follow;
            }
            Node candidate = eligible.get(0).node();
            return new Propose(candidate, stored.epoch(), next, "writer " + name + " is in maintenance; elected " + candidate.name(), otherwise);
        }
        if (state.followable() && stored.handingOver() && now.isAfter(stored.handoverUntil().plus(HANDOVER_GRACE))) {
            // The instance that started this switchover did not end it (it stopped, or lost the cluster): end it here.
            String late = "switchover to " + stored.handoverTo() + " by " + stored.changedBy() + " passed its deadline "
                    + Duration.between(stored.handoverUntil(), now).toMillis() + " ms ago without being completed";
            Optional<NodeHealth> target = eligible.stream().filter(h -> h.node().name().equals(stored.handoverTo())).findFirst();
            return target.isPresent()
                    ? new Propose(target.get().node(), stored.epoch(), next, late + "; completed by this instance", follow)
                    : new Propose(writer.node(), stored.epoch(), next, late + "; " + stored.handoverTo() + " is not healthy "
                            + "here, so " + name + " stays the writer", follow);
        }
        if (state.followable()) {
            if (rules.failback() && !eligible.isEmpty() && state.electable()) {
                Node best = eligible.get(0).node();
                if (best.priority() < writer.node().priority() && !stored.reason().startsWith("switchover")) {
                    return new Propose(best, stored.epoch(), next, "failback: " + best.name() + " (priority " + best.priority()
                            + ") is healthy again and preferred over " + name, follow);
                }
            }
            return follow;
        }
        if (state instanceof HealthState.Falling f) {
            return new Refuse("writer " + name + " reports " + f.reason() + "; not routing to it (it counts as lost after "
                    + "more failed checks)");
        }
        String lost = "writer " + name + " lost: " + state.describe();
        Refuse election = new Refuse(lost + "; election in progress");
        if (eligible.isEmpty()) {
            List<NodeHealth> others = health.stream().filter(h -> h != writer).toList();
            return new Refuse(lost + "; no other node is healthy (" + downReasons(others) + ")");
        }
        Node candidate = eligible.get(0).node();
        if (state instanceof HealthState.DownUnfit) {
            if (!writer.last().checkedAt().isAfter(record.seenSince())) {
                return new Refuse("writer " + name + " was unfit (" + state.describe() + ") at a check older than the writer "
                        + "record; waiting for a newer check");
            }
            return new Propose(candidate, stored.epoch(), next, lost + "; elected " + candidate.name(), election);
        }
        if (!rules.membership().confirmsLoss(writer, health, record.seenSince())) {
            return new Refuse("writer " + name + " is unreachable from this Baton (" + state.describe()
                    + ") but the cluster still lists it as a member; not routing anywhere else");
        }
        return new Propose(candidate, stored.epoch(), next, lost + "; elected " + candidate.name(), election);
    }

    private static Decision noRecord(RecordKnowledge record, List<NodeHealth> health, List<NodeHealth> eligible,
                                     Set<String> maintenance, long next) {
        List<String> unchecked = health.stream().filter(h -> !h.checked()).map(h -> h.node().name()).toList();
        if (!unchecked.isEmpty()) {
            // The first election must see every node, or the node checked first would win by arriving first.
            return new Refuse("Baton is starting: waiting for the first check of " + String.join(", ", unchecked));
        }
        if (record.lastWriter().isPresent()) {
            // The record vanished (a dropped table): put back the writer it named if it may still be followed.
            String previous = record.lastWriter().get().writer();
            Optional<NodeHealth> h = health.stream().filter(x -> x.node().name().equals(previous)).findFirst();
            if (h.isPresent() && h.get().state().followable() && !maintenance.contains(previous)) {
                return new Propose(h.get().node(), 0, next, "writer record was missing; re-established " + previous
                        + " from epoch " + record.highestEpoch(), new Refuse("writer record is missing; re-creating it"));
            }
        }
        if (eligible.isEmpty()) {
            return new Refuse("no healthy node (" + downReasons(health) + ")");
        }
        Node first = eligible.get(0).node();
        return new Propose(first, 0, next, "no writer recorded yet; " + first.name() + " has the lowest priority among healthy nodes",
                new Refuse("no writer recorded yet; election in progress"));
    }

    static String downReasons(List<NodeHealth> health) {
        return health.stream().filter(h -> !h.state().electable())
                .map(h -> h.node().name() + ": " + h.state().describe())
                .collect(Collectors.joining("; "));
    }
}
