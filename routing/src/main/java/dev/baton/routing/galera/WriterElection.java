package dev.baton.routing.galera;

import dev.baton.routing.Node;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The rules that decide, from the stored writer and this instance's view of node health, whether to follow the
 * stored writer, propose another, or refuse clients. Pure: no I/O, so every rule is unit-tested.
 *
 * <ul>
 *   <li>Sticky: a healthy stored writer is followed, whatever the priorities (unless failback is on).</li>
 *   <li>Deterministic: the candidate is the healthy node with the lowest priority, ties broken by
 *       wsrep_local_index, the same numbering on every node.</li>
 *   <li>Confirmed: a stored writer this instance cannot reach is replaced only when the cluster itself no longer
 *       lists it (its address is missing from a healthy Primary node's wsrep_incoming_addresses), or when it
 *       answered and reported itself unfit. One instance with a bad link refuses clients instead of moving the
 *       writer for everyone.</li>
 * </ul>
 */
public final class WriterElection {

    /** What to do now. */
    public sealed interface Decision {
    }

    public record Follow(Node writer, long epoch) implements Decision {
    }

    /** Propose {@code candidate} by compare-and-set from {@code expectedEpoch} (0: no record yet). */
    public record Propose(Node candidate, long expectedEpoch, String reason) implements Decision {
    }

    public record Refuse(String reason) implements Decision {
    }

    /**
     * How long after its deadline a hand-over may stay in the record before any instance ends it: the instance
     * that started it waits up to a few seconds for the other instances' drain reports before completing it.
     */
    public static final long HANDOVER_GRACE_MS = 10_000;

    private WriterElection() {
    }

    private static final Comparator<NodeHealth> ORDER = Comparator
            .comparingInt((NodeHealth h) -> h.node().priority())
            .thenComparingInt(h -> h.last() == null ? Integer.MAX_VALUE : h.last().localIndex())
            .thenComparing(h -> h.node().name());

    public static Decision decide(WriterRecord.Stored stored, List<NodeHealth> health, boolean failback) {
        return decide(stored, health, failback, java.util.Set.of());
    }

    /** @param maintenance nodes operators took out of the election; a writer among them is replaced */
    public static Decision decide(WriterRecord.Stored stored, List<NodeHealth> health, boolean failback,
                                  java.util.Set<String> maintenance) {
        List<NodeHealth> eligible = health.stream().filter(NodeHealth::up)
                .filter(h -> !maintenance.contains(h.node().name())).sorted(ORDER).toList();
        List<String> unchecked = health.stream().filter(h -> h.last() == null).map(h -> h.node().name()).toList();
        if (stored == null && !unchecked.isEmpty()) {
            // The first election must see every node, or the node checked first would win by arriving first.
            return new Refuse("Baton is starting: waiting for the first check of " + String.join(", ", unchecked));
        }
        if (stored == null) {
            if (eligible.isEmpty()) {
                return new Refuse("no healthy node (" + downReasons(health) + ")");
            }
            Node first = eligible.get(0).node();
            return new Propose(first, 0, "no writer recorded yet; " + first.name() + " has the lowest priority among healthy nodes");
        }
        Optional<NodeHealth> current = health.stream().filter(h -> h.node().name().equals(stored.writer())).findFirst();
        if (current.isEmpty()) {
            if (eligible.isEmpty()) {
                return new Refuse("stored writer '" + stored.writer() + "' is not in this Baton's config and no node is healthy ("
                        + downReasons(health) + ")");
            }
            Node first = eligible.get(0).node();
            return new Propose(first, stored.epoch(), "stored writer '" + stored.writer() + "' is not a configured node; elected "
                    + first.name());
        }
        NodeHealth writer = current.get();
        if (writer.last() == null) {
            return new Refuse("Baton is starting: waiting for the first check of writer " + writer.node().name());
        }
        if (maintenance.contains(writer.node().name())) {
            if (eligible.isEmpty()) {
                return new Refuse("writer " + writer.node().name() + " is in maintenance and no other node is healthy");
            }
            Node next = eligible.get(0).node();
            return new Propose(next, stored.epoch(), "writer " + writer.node().name() + " is in maintenance; elected " + next.name());
        }
        if (writer.up() && stored.handoverTo() != null && stored.handoverRemainingMs() < -HANDOVER_GRACE_MS) {
            // The instance that started this switchover did not end it (it stopped, or lost the cluster): end it here.
            Optional<NodeHealth> target = eligible.stream().filter(h -> h.node().name().equals(stored.handoverTo())).findFirst();
            String late = "switchover to " + stored.handoverTo() + " by " + stored.changedBy() + " passed its deadline "
                    + (-stored.handoverRemainingMs()) + " ms ago without being completed";
            return target.isPresent()
                    ? new Propose(target.get().node(), stored.epoch(), late + "; completed by this instance")
                    : new Propose(writer.node(), stored.epoch(), late + "; " + stored.handoverTo()
                            + " is not healthy here, so " + writer.node().name() + " stays the writer");
        }
        if (writer.up()) {
            Node best = eligible.get(0).node();
            if (failback && best.priority() < writer.node().priority() && !stored.reason().startsWith("switchover")) {
                return new Propose(best, stored.epoch(), "failback: " + best.name() + " (priority " + best.priority()
                        + ") is healthy again and preferred over " + writer.node().name());
            }
            return new Follow(writer.node(), stored.epoch());
        }
        String lost = "writer " + writer.node().name() + " lost: " + writer.reason();
        boolean answeredUnfit = writer.last() != null && writer.last().reachable();
        if (eligible.isEmpty()) {
            List<NodeHealth> others = health.stream().filter(h -> h != writer).toList();
            return new Refuse(lost + "; no other node is healthy (" + downReasons(others) + ")");
        }
        if (!answeredUnfit && !evictedFromView(writer, health)) {
            return new Refuse("writer " + writer.node().name() + " is unreachable from this Baton (" + writer.reason()
                    + ") but the cluster still lists it as a member; not routing anywhere else");
        }
        Node next = eligible.get(0).node();
        return new Propose(next, stored.epoch(), lost + "; elected " + next.name());
    }

    /**
     * A healthy Primary member's view no longer contains the writer. By member id (wsrep_gcomm_uuid against
     * mysql.wsrep_cluster_members) when both are known; else by client address (wsrep_incoming_addresses), and
     * then only from a member whose list names itself by its configured address: otherwise the cluster reports
     * addresses in another form (host names, AUTO) and absence proves nothing.
     */
    static boolean evictedFromView(NodeHealth writer, List<NodeHealth> health) {
        String uuid = writer.knownUuid();
        for (NodeHealth h : health) {
            if (h == writer || !h.up() || h.last() == null) {
                continue;
            }
            GaleraNodeState view = h.last();
            if (uuid != null && view.gcommUuid() != null && view.memberUuids().contains(view.gcommUuid())) {
                if (!view.memberUuids().contains(uuid)) {
                    return true;
                }
            } else if (view.incomingAddresses().contains(h.node().address().toString())
                    && !view.incomingAddresses().contains(writer.node().address().toString())) {
                return true;
            }
        }
        return false;
    }

    /** True when the node's view can tell who is a member: by its own id, or by its configured address. */
    static boolean comparable(NodeHealth h) {
        GaleraNodeState v = h.last();
        return (v.gcommUuid() != null && v.memberUuids().contains(v.gcommUuid()))
                || v.incomingAddresses().contains(h.node().address().toString());
    }

    static String downReasons(List<NodeHealth> health) {
        return health.stream().filter(h -> !h.up())
                .map(h -> h.node().name() + ": " + h.reason())
                .collect(Collectors.joining("; "));
    }
}
