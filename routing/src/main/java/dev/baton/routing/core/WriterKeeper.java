package dev.baton.routing.core;

import dev.baton.routing.Node;
import dev.baton.routing.WriterChoice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Keeps this instance's writer in step with the shared record: reads it, applies {@link WriterElection}, proposes
 * changes by compare-and-set, publishes the result, and runs operators' switchovers and maintenance changes.
 * Not thread-safe by design: every method but {@link #current()} and {@link #maintenance()} runs on the one
 * decision executor.
 */
public final class WriterKeeper {
    private static final Logger log = LoggerFactory.getLogger(WriterKeeper.class);

    private final WriterRecordStore store;
    private final Supplier<List<NodeHealth>> health;
    private final WriterElection.Rules rules;
    private final ClusterEvents events;
    private final Clock clock;
    private final String instanceName;

    private final PublishedWriter published;
    private final RecordMemory memory;
    private volatile Set<String> maintenance = Set.of();
    private boolean ensured;
    private String lastProposalFailure;

    public WriterKeeper(WriterRecordStore store, Supplier<List<NodeHealth>> health, WriterElection.Rules rules,
                        ClusterEvents events, Clock clock, String instanceName) {
        this.store = store;
        this.health = health;
        this.rules = rules;
        this.events = events;
        this.clock = clock;
        this.instanceName = instanceName;
        this.published = new PublishedWriter(events, new WriterChoice.NoWriter("Baton is starting: first health checks not done yet"));
        this.memory = new RecordMemory(clock);
    }

    public WriterChoice current() {
        return published.current();
    }

    public Set<String> maintenance() {
        return maintenance;
    }

    /** What this instance knows of the record now, as the election reads it. */
    public RecordKnowledge knowledge() {
        return memory.knowledge();
    }

    /** One round: read the record, decide, act, publish. */
    public void decide() {
        decide(true);
    }

    private void decide(boolean mayRetry) {
        List<NodeHealth> snapshot = health.get();
        read(snapshot);
        WriterElection.Decision decision = WriterElection.decide(knowledge(), snapshot, maintenance, clock.instant(), rules);
        if (decision instanceof WriterElection.Propose propose) {
            Outcome outcome = propose(propose, snapshot);
            if (outcome == Outcome.WON) {
                publish(new WriterChoice.Writer(propose.candidate(), propose.nextEpoch()), propose.reason(), instanceName);
                return;
            }
            if (outcome == Outcome.LOST && mayRetry) {
                decide(false); // another instance's change won: read it now and follow it, without a gap
                return;
            }
            decision = propose.otherwise();
        }
        if (decision instanceof WriterElection.Follow follow) {
            if (published.current() instanceof WriterChoice.Writer w && w.node().equals(follow.writer()) && w.epoch() == follow.epoch()) {
                return; // the usual case: nothing changed
            }
            WriterChoice.Handover handover = memory.handoverOf(follow.epoch(), snapshot.stream().map(NodeHealth::node).toList());
            publish(new WriterChoice.Writer(follow.writer(), follow.epoch(), handover),
                    follow.reason() + " (recorded by " + follow.recordedBy() + ")", follow.recordedBy());
        } else if (decision instanceof WriterElection.Refuse refuse) {
            publish(new WriterChoice.NoWriter(refuse.reason()), refuse.reason(), "monitor");
        } else {
            throw new IllegalStateException("a proposal's fallback must follow or refuse, not " + decision);
        }
    }

    /** Reads the record through a node that may serve it (the writer first); on failure keeps what it knew. */
    private boolean read(List<NodeHealth> snapshot) {
        String failure = "no node to read it from";
        for (NodeHealth h : byPreference(snapshot)) {
            try {
                if (!ensured) {
                    store.ensure(h.node());
                    ensured = true;
                }
                RecordRead read;
                try {
                    read = store.read(h.node());
                } catch (RecordStoreException e) {
                    if (!e.missing()) {
                        throw e;
                    }
                    log.info("writer record missing on {} ({}); re-creating it", h.node().name(), e.getMessage());
                    store.ensure(h.node());
                    read = store.read(h.node());
                }
                memory.learn(read.writer());
                maintenance = read.maintenance();
                memory.readOk();
                return true;
            } catch (RecordStoreException e) {
                failure = h.node().name() + ": " + e.getMessage();
                log.debug("cannot read the writer record from {}", failure);
            }
        }
        memory.readFailed(failure);
        return false;
    }

    private enum Outcome { WON, LOST, UNKNOWN }

    private Outcome propose(WriterElection.Propose propose, List<NodeHealth> snapshot) {
        return write(propose.expectedEpoch(),
                new StoredWriter(propose.candidate().name(), propose.nextEpoch(), instanceName, propose.reason()), snapshot);
    }

    /** One compare-and-set of the record, through the first node that answers (the writer first). */
    private Outcome write(long expectedEpoch, StoredWriter next, List<NodeHealth> snapshot) {
        for (NodeHealth h : byPreference(snapshot)) {
            try {
                if (store.compareAndSet(h.node(), expectedEpoch, next)) {
                    memory.learn(Optional.of(next));
                    memory.readOk();
                    lastProposalFailure = null;
                    return Outcome.WON;
                }
                log.info("proposal of {} as writer did not apply: the record changed since it was read; following the record",
                        next.writer());
                return Outcome.LOST;
            } catch (RecordStoreException e) {
                String failure = "cannot propose " + next.writer() + " on " + h.node().name() + ": " + e.getMessage();
                if (!failure.equals(lastProposalFailure)) {
                    log.info("{}; trying again after the next check", failure);
                    lastProposalFailure = failure;
                }
                // Unknown: it may have been applied. Trying another node from the same epoch is still one
                // compare-and-set at most: if the first applied, this one finds the epoch moved on.
            }
        }
        return Outcome.UNKNOWN;
    }

    /**
     * Nodes that may serve the record, in the order to try them: those up at their last check (the current writer
     * first, then by priority), then the others. Safe from any thread.
     */
    public List<NodeHealth> byPreference(List<NodeHealth> snapshot) {
        String writer = published.current() instanceof WriterChoice.Writer w ? w.node().name() : null;
        // Nodes whose last check failed (falling) come last: a hung writer would hold every read for its timeout
        // while the other instances have moved on.
        return snapshot.stream().filter(h -> h.state().followable())
                .sorted(Comparator.comparing((NodeHealth h) -> !(h.state() instanceof HealthState.Up))
                        .thenComparing(h -> !h.node().name().equals(writer))
                        .thenComparingInt(h -> h.node().priority()))
                .toList();
    }

    private void publish(WriterChoice next, String reason, String by) {
        published.publish(next, reason, by);
    }

    /**
     * Refuses an operator's target that is unknown, unhealthy or in maintenance, after a fresh read of the record.
     *
     * @throws IllegalArgumentException for a node not in the config
     * @throws IllegalStateException    with an operator's reason
     */
    private void checkTarget(Node target, List<NodeHealth> snapshot) {
        NodeHealth h = snapshot.stream().filter(x -> x.node().equals(target)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown node '" + target.name() + "'"));
        if (!h.state().electable()) {
            throw new IllegalStateException("node " + target.name() + " is not healthy: " + h.state().describe());
        }
        if (!read(snapshot)) {
            throw new IllegalStateException("cannot read the writer record (" + memory.lastError().orElse("") + "); try again");
        }
        if (maintenance.contains(target.name())) {
            throw new IllegalStateException("node " + target.name() + " is in maintenance");
        }
    }

    /**
     * Makes {@code target} the writer for every instance at once, without a hand-over (the simulation's operator
     * uses it to change the writer abruptly), by compare-and-set from a fresh read of the record.
     *
     * @throws IllegalArgumentException for a node not in the config
     * @throws IllegalStateException    with an operator's reason when the switch cannot be made
     */
    public WriterChoice.Writer switchTo(Node target, String reason, String requestedBy) {
        List<NodeHealth> snapshot = health.get();
        checkTarget(target, snapshot);
        if (memory.stored().isPresent() && memory.stored().get().writer().equals(target.name())) {
            decide(); // already recorded: route to it as the election says (it raises a re-created record's epoch first)
            if (published.current() instanceof WriterChoice.Writer w && w.node().equals(target)) {
                return w;
            }
            throw new IllegalStateException(target.name() + " is the recorded writer but this Baton cannot route to it now: "
                    + (published.current() instanceof WriterChoice.NoWriter n ? n.reason() : published.current()));
        }
        long expected = memory.stored().map(StoredWriter::epoch).orElse(0L);
        String why = "switchover to " + target.name() + (reason == null || reason.isBlank() ? "" : ": " + reason);
        WriterElection.Propose propose = new WriterElection.Propose(target, expected, memory.highestEpoch() + 1, why,
                new WriterElection.Refuse(why));
        if (propose(propose, snapshot) != Outcome.WON) {
            throw new IllegalStateException("the writer record changed meanwhile or no node accepted the change; try again");
        }
        WriterChoice.Writer now = new WriterChoice.Writer(target, propose.nextEpoch());
        publish(now, why, requestedBy);
        return now;
    }

    /**
     * Starts a planned switchover to {@code target} for every instance: the recorded writer stays, under a new
     * epoch, with a hand-over to {@code target} until {@code drain} from now, which every instance follows by
     * holding new clients and draining its sessions.
     *
     * @throws IllegalArgumentException for a node not in the config
     * @throws IllegalStateException    with an operator's reason when the hand-over cannot start
     */
    public WriterChoice.Writer beginHandover(Node target, java.time.Duration drain, String requestedBy) {
        List<NodeHealth> snapshot = health.get();
        checkTarget(target, snapshot);
        if (memory.stored().isEmpty() || !(published.current() instanceof WriterChoice.Writer w) || !w.node().name().equals(memory.stored().get().writer())
                || w.epoch() != memory.stored().get().epoch()) {
            throw new IllegalStateException("this Baton does not route to the recorded writer now ("
                    + (published.current() instanceof WriterChoice.NoWriter n ? n.reason() : "it follows epoch "
                    + ((WriterChoice.Writer) published.current()).epoch() + ", the record is at " + memory.stored().map(StoredWriter::epoch).orElse(0L))
                    + "); try again");
        }
        StoredWriter now = memory.stored().get();
        if (now.writer().equals(target.name())) {
            throw new IllegalStateException(target.name() + " is already the writer");
        }
        if (now.handingOver()) {
            throw new IllegalStateException("a switchover to " + now.handoverTo() + " started by " + now.changedBy()
                    + " is already draining");
        }
        String why = "switchover to " + target.name() + " requested by " + requestedBy + ": draining " + now.writer()
                + " for up to " + drain.toMillis() + " ms";
        StoredWriter next = new StoredWriter(now.writer(), memory.highestEpoch() + 1, instanceName, why, target.name(),
                clock.instant().plus(drain));
        if (write(now.epoch(), next, snapshot) != Outcome.WON) {
            throw new IllegalStateException("the writer record changed meanwhile or no node accepted the change; try again");
        }
        WriterChoice.Writer handingOver = new WriterChoice.Writer(w.node(), next.epoch(),
                new WriterChoice.Handover(target, next.handoverUntil(), instanceName));
        publish(handingOver, why, requestedBy);
        return handingOver;
    }

    /**
     * Ends the hand-over recorded under {@code epoch}: its target becomes the writer, or, if it is no longer
     * healthy or is in maintenance, the old writer stays and the hand-over is cleared (and this throws).
     */
    public WriterChoice.Writer completeHandover(long epoch, String requestedBy) {
        List<NodeHealth> snapshot = health.get();
        if (!read(snapshot)) {
            throw new IllegalStateException("cannot read the writer record (" + memory.lastError().orElse("") + "); try again");
        }
        if (memory.stored().isEmpty() || memory.stored().get().epoch() != epoch || !memory.stored().get().handingOver()) {
            throw new IllegalStateException("the switchover's hand-over (epoch " + epoch + ") is no longer in the writer "
                    + "record: " + memory.stored().map(s -> "writer " + s.writer() + " at epoch " + s.epoch() + " (" + s.reason()
                    + ", by " + s.changedBy() + ")").orElse("no record"));
        }
        StoredWriter now = memory.stored().get();
        Optional<NodeHealth> target = snapshot.stream().filter(x -> x.node().name().equals(now.handoverTo())).findFirst();
        Optional<NodeHealth> old = snapshot.stream().filter(x -> x.node().name().equals(now.writer())).findFirst();
        boolean fit = target.isPresent() && target.get().state().electable() && !maintenance.contains(now.handoverTo());
        if (!fit && old.isEmpty()) {
            throw new IllegalStateException("switchover to " + now.handoverTo() + " cannot complete and the old writer "
                    + now.writer() + " is not a configured node");
        }
        Node next = fit ? target.get().node() : old.get().node();
        String why = fit ? "switchover to " + now.handoverTo() + " requested by " + requestedBy
                : "switchover to " + now.handoverTo() + " cancelled: " + target.map(t -> maintenance.contains(t.node().name())
                ? "it is in maintenance" : "it is not healthy: " + t.state().describe()).orElse("it is not a configured node");
        StoredWriter value = new StoredWriter(next.name(), memory.highestEpoch() + 1, instanceName, why);
        if (write(now.epoch(), value, snapshot) != Outcome.WON) {
            throw new IllegalStateException("the writer record changed meanwhile or no node accepted the change; try again");
        }
        if (!fit) {
            // The old writer stays in the record, but whether it may be routed to is the election's call, as always.
            decide();
            throw new IllegalStateException(why + "; " + next.name() + " stays the recorded writer");
        }
        WriterChoice.Writer result = new WriterChoice.Writer(next, value.epoch());
        publish(result, why, requestedBy);
        return result;
    }

    /** Takes {@code node} out of (or back into) the election for every instance, then decides again. */
    public void setMaintenance(Node node, boolean on, String requestedBy) {
        String failure = "no healthy node";
        for (NodeHealth h : byPreference(health.get())) {
            try {
                try {
                    store.setMaintenance(h.node(), node.name(), on, requestedBy);
                } catch (RecordStoreException e) {
                    if (!e.missing()) {
                        throw e;
                    }
                    store.ensure(h.node());
                    store.setMaintenance(h.node(), node.name(), on, requestedBy);
                }
                events.node(node, "node " + node.name() + (on ? " is in maintenance" : " is out of maintenance")
                        + " (requested by " + requestedBy + ")", requestedBy);
                decide();
                return;
            } catch (RecordStoreException e) {
                failure = h.node().name() + ": " + e.getMessage();
                log.debug("cannot record maintenance on {}", failure);
            }
        }
        throw new IllegalStateException("no healthy node accepted the maintenance change (" + failure + ")");
    }
}
