package dev.baton.routing.replication;

import dev.baton.routing.Node;
import dev.baton.routing.WriterChoice;
import dev.baton.routing.core.ClusterEvents;
import dev.baton.routing.core.NodeHealth;
import dev.baton.routing.core.PublishedWriter;
import dev.baton.routing.core.RecordMemory;
import dev.baton.routing.core.RecordKnowledge;
import dev.baton.routing.core.RecordStoreException;
import dev.baton.routing.core.StoredWriter;
import dev.baton.routing.replication.ReplicationActions.ActionException;
import dev.baton.routing.replication.ReplicationActions.ClusterLock;
import dev.baton.routing.replication.ReplicationActions.RecordWrite;
import dev.baton.routing.replication.ReplicationElection.Decision;
import dev.baton.routing.replication.ReplicationNodeState.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Keeps this instance's writer in step with a primary/replica cluster: reads the record as a majority of nodes hold
 * it, applies {@link ReplicationElection}, and carries out what it decides (recording the primary, promoting a
 * replica, fencing and rejoining nodes) through {@link ReplicationActions}, always while holding the lock on a
 * majority of nodes, so no two instances ever act on the cluster at once. Runs operators' switchovers the same way.
 * Not thread-safe by design: every method but {@link #current()}, {@link #maintenance()} and {@link #leftOut()}
 * runs on the one decision executor.
 */
public final class ReplicationKeeper {
    private static final Logger log = LoggerFactory.getLogger(ReplicationKeeper.class);

    /** How long a promoted replica may take to apply its relay log before the promotion is given up. */
    static final Duration FAILOVER_CATCH_UP = Duration.ofSeconds(30);
    /** How long a new record may take to reach a majority before the change is published anyway (and logged). */
    static final Duration RECORD_SPREAD = Duration.ofSeconds(5);
    /** A node is rejoined at most this often (a failed rejoin is not retried in a tight loop). */
    static final Duration REJOIN_EVERY = Duration.ofSeconds(10);

    private final List<Node> nodes;
    private final ReplicationActions actions;
    private final Supplier<List<NodeHealth>> health;
    private final ReplicationElection.Rules rules;
    private final ClusterEvents events;
    private final Clock clock;
    private final String instanceName;

    private final PublishedWriter published;
    private final RecordMemory memory;
    private volatile Set<String> maintenance = Set.of();
    private final Map<String, String> leftOut = new ConcurrentHashMap<>();
    private final Map<String, Instant> lastRejoin = new HashMap<>();
    private final Map<String, String> lastRepairFailure = new HashMap<>();
    private Optional<NodeRecord.Promotion> promotion = Optional.empty();
    private String lastActionFailure;
    /** When this instance last changed the record itself: books its regular checks read before that are stale. */
    private Instant wroteAt;
    /** Its own latest check of each node (under the lock, or after acting on it), newer than a regular check may be. */
    private final Map<String, ReplicationNodeState> ownChecks = new HashMap<>();

    public ReplicationKeeper(List<Node> nodes, ReplicationActions actions, Supplier<List<NodeHealth>> health,
                             ReplicationElection.Rules rules, ClusterEvents events, Clock clock, String instanceName) {
        this.nodes = List.copyOf(nodes);
        this.actions = actions;
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

    /** Nodes kept out of the cluster, with the reason, as last decided. Safe from any thread. */
    public Map<String, String> leftOut() {
        return Map.copyOf(leftOut);
    }

    /** What this instance knows of the record now, as the election reads it. */
    public RecordKnowledge knowledge() {
        return memory.knowledge();
    }

    /** The recorded writer's node, if a record is known. */
    public Optional<Node> recordedPrimary() {
        return memory.stored().flatMap(s -> nodes.stream().filter(n -> n.name().equals(s.writer())).findFirst());
    }

    /** One round: read the books from the last checks, decide, act, publish. */
    public void decide() {
        decide(snapshot(), true);
    }

    /**
     * The regular checks, with this instance's own later checks in place of older ones: after it promoted a replica
     * or switched over, its regular checks still show the world before, until they run again.
     */
    private List<NodeHealth> snapshot() {
        List<NodeHealth> out = new ArrayList<>();
        for (NodeHealth h : health.get()) {
            ReplicationNodeState own = ownChecks.get(h.node().name());
            if (own != null && h.last() != null && !own.checkedAt().isBefore(h.last().checkedAt())) {
                out.add(new NodeHealth(h.node(), h.state(), own, own.reachable() ? own : h.lastAnswer()));
            } else {
                out.add(h);
            }
        }
        return out;
    }

    private ReplicationNodeState check(Node node) {
        ReplicationNodeState s = actions.check(node);
        ownChecks.put(node.name(), s);
        return s;
    }

    private void decide(List<NodeHealth> snapshot, boolean mayRetry) {
        if (read(snapshot) && recheckRecordedPrimary(snapshot)) {
            snapshot = snapshot();
        }
        Decision decision = ReplicationElection.decide(knowledge(), promotion, snapshot, maintenance, clock.instant(), rules);
        if (decision instanceof ReplicationElection.Follow follow) {
            publish(new WriterChoice.Writer(follow.writer(), follow.epoch(), memory.handoverOf(follow.epoch(), nodes)),
                    follow.reason() + " (recorded by " + follow.recordedBy() + ")", follow.recordedBy());
            repair(follow, snapshot);
        } else if (decision instanceof ReplicationElection.Refuse refuse) {
            publish(new WriterChoice.NoWriter(refuse.reason()), refuse.reason(), "monitor");
        } else if (decision instanceof ReplicationElection.Record record) {
            if (!record(record) && mayRetry) {
                decide(snapshot, false);
            }
        } else if (decision instanceof ReplicationElection.Promote promote) {
            publish(new WriterChoice.NoWriter(promote.reason() + "; promotion in progress"), promote.reason(), "monitor");
            promote(promote, rules);
        }
    }

    /** Learns the record a majority of nodes hold, from the books their last checks read. */
    private boolean read(List<NodeHealth> snapshot) {
        List<NodeHealth> current = snapshot;
        if (wroteAt != null) {
            // Books read before this instance's own change describe the record before it, not a newer majority's.
            current = snapshot.stream().map(h -> h.last() == null || h.last().checkedAt().isAfter(wroteAt) ? h
                    : new NodeHealth(h.node(), h.state(), ReplicationNodeState.unreachable(h.last().checkedAt(),
                    "checked before this Baton changed the writer record"), h.lastAnswer())).toList();
        }
        ReplicationElection.Books books = ReplicationElection.books(current);
        if (!books.majority()) {
            memory.readFailed(books.why());
            return false;
        }
        NodeRecord record = books.record().orElse(NodeRecord.NONE);
        long known = memory.stored().map(StoredWriter::epoch).orElse(0L);
        if (record.epoch() < known) {
            // Checks that began before a change this instance made or learned: wait for newer ones rather than go
            // back (a record that reached a majority stays there, so this passes within a check cycle).
            memory.readFailed("the books a majority of nodes held at their last checks are at epoch " + record.epoch()
                    + ", older than epoch " + known + " known here");
            return false;
        }
        memory.learn(record.writer());
        maintenance = record.maintenance();
        promotion = record.promotion();
        memory.readOk();
        return true;
    }

    /**
     * Checks the recorded primary now if this instance's latest check of it predates the record naming it and did not
     * show it taking writes (another instance promoted it or switched over to it since): the election then decides
     * on an answer newer than the record, rather than route to a node last seen a replica or refuse its new primary
     * for a check that predates the change. True if it checked.
     */
    private boolean recheckRecordedPrimary(List<NodeHealth> snapshot) {
        Optional<Node> primary = recordedPrimary();
        if (primary.isEmpty() || memory.stored().get().handingOver()) {
            return false;
        }
        NodeHealth h = snapshot.stream().filter(x -> x.node().equals(primary.get())).findFirst().orElse(null);
        if (h == null || !(h.last() instanceof ReplicationNodeState last) || !last.checkedAt().isBefore(memory.seenSince())
                || last.reachable() && last.role() == Role.PRIMARY) {
            return false;
        }
        check(primary.get());
        return true;
    }

    /** This instance changed the record to {@code next} (a compare-and-set on the primary, spread to a majority). */
    private void wrote(StoredWriter next) {
        memory.learn(Optional.of(next));
        wroteAt = clock.instant();
        memory.readOk();
    }

    // ---------------------------------------------------------------- recording and promoting

    /** Records a node that already takes writes as the writer; true if done (or nothing left to do). */
    private boolean record(ReplicationElection.Record record) {
        try (ClusterLock lock = actions.lock(nodes)) {
            // Decide again on fresh checks, under the lock: another instance may have recorded a writer since the last
            // round, on a node this one's compare-and-set does not go through.
            List<NodeHealth> fresh = freshChecks();
            read(fresh);
            Decision again = ReplicationElection.decide(knowledge(), promotion, fresh, maintenance, clock.instant(), rules);
            if (!(again instanceof ReplicationElection.Record confirmed) || !confirmed.primary().equals(record.primary())
                    || confirmed.expectedEpoch() != record.expectedEpoch()) {
                log.info("recording {} as primary called off: on fresh checks under the lock the decision is {}",
                        record.primary().name(), describe(again));
                return true;
            }
            StoredWriter next = new StoredWriter(record.primary().name(), claim(lock, record.nextEpoch()), instanceName,
                    record.reason());
            RecordWrite write = actions.writeRecord(record.primary(), record.expectedEpoch(), next, null);
            if (!write.applied()) {
                log.info("recording {} as primary did not apply: the record changed since it was read; reading it again",
                        record.primary().name());
                return false;
            }
            spread(record.primary(), write.after());
            wrote(next);
            lastActionFailure = null;
            publish(new WriterChoice.Writer(record.primary(), next.epoch()), record.reason(), instanceName);
            return true;
        } catch (ActionException | RecordStoreException e) {
            actionFailed("cannot record " + record.primary().name() + " as primary: " + e.getMessage());
            publish(new WriterChoice.NoWriter(record.reason() + "; recording it failed: " + e.getMessage()), record.reason(), "monitor");
            return true;
        }
    }

    private void promote(ReplicationElection.Promote promote, ReplicationElection.Rules rules) {
        try (ClusterLock lock = actions.lock(nodes)) {
            // Decide again on fresh checks, under the lock: another instance may have acted since the last round.
            List<NodeHealth> fresh = freshChecks();
            read(fresh);
            Decision again = ReplicationElection.decide(knowledge(), promotion, fresh, maintenance, clock.instant(), rules);
            if (!(again instanceof ReplicationElection.Promote confirmed) || !confirmed.candidate().equals(promote.candidate())) {
                log.info("promotion of {} called off: on fresh checks under the lock the decision is {}",
                        promote.candidate().name(), describe(again));
                return;
            }
            Node candidate = confirmed.candidate();
            log.info("promoting {}: {}; applying its relay log up to {}", candidate.name(), confirmed.reason(), confirmed.catchUpTo());
            actions.awaitApplied(candidate, confirmed.catchUpTo(), FAILOVER_CATCH_UP);
            // Nothing can arrive any more (the old primary is gone or read-only): no other replica may now be ahead.
            List<NodeHealth> settled = freshChecks();
            NodeHealth mine = byName(settled, candidate);
            if (!(mine.last() instanceof ReplicationNodeState m) || !m.reachable()) {
                throw new ActionException(candidate.name() + " stopped answering while it applied its relay log");
            }
            GtidPosition holds = ReplicationElection.received(mine);
            for (NodeHealth other : settled) {
                if (other != mine && !other.node().equals(confirmed.lost()) && other.last() instanceof ReplicationNodeState o
                        && o.reachable() && !holds.contains(ReplicationElection.received(other))) {
                    throw new ActionException("after applying its relay log " + candidate.name() + " (" + holds + ") does not "
                            + "hold everything " + other.node().name() + " received (" + ReplicationElection.received(other)
                            + "); it is not promoted");
                }
            }
            String lostRange = possiblyLost(fresh, confirmed.lost(), state(settled, candidate));
            becomePrimary(candidate, fresh, confirmed.expectedEpoch(), confirmed.nextEpoch(),
                    confirmed.reason() + (lostRange == null ? "" : "; " + lostRange), lock);
            if (lostRange != null) {
                log.warn("{}", lostRange);
            }
        } catch (ActionException | RecordStoreException e) {
            actionFailed("promotion of " + promote.candidate().name() + " failed: " + e.getMessage());
            publish(new WriterChoice.NoWriter(promote.reason() + "; promotion failed: " + e.getMessage()), promote.reason(), "monitor");
        }
    }

    /**
     * With asynchronous replication (semi-sync not active on the lost primary at its last answer), what it may have
     * acknowledged that the new primary never received; null when nothing can have been lost that way.
     */
    private static String possiblyLost(List<NodeHealth> health, Node lost, ReplicationNodeState candidate) {
        NodeHealth h = health.stream().filter(x -> x.node().equals(lost)).findFirst().orElse(null);
        if (h == null || !(h.lastAnswer() instanceof ReplicationNodeState last) || candidate == null) {
            return null;
        }
        if (last.semiSync().sourceActive()) {
            return null;
        }
        GtidPosition had = last.gtidBinlogPos();
        if (candidate.gtidCurrentPos().contains(had)) {
            return null;
        }
        return "semi-synchronous replication was not active on " + lost.name() + " at its last answer (" + last.checkedAt()
                + "): transactions after " + candidate.gtidCurrentPos() + " up to " + had
                + " (its position then; it may have written more) may be lost";
    }

    /**
     * Makes {@code candidate}, which has applied everything it will get, the primary under {@code nextEpoch}: stops
     * its replication, makes it writable, records it with its position, points every other node that answers at
     * it, and publishes once a majority holds the record.
     */
    private void becomePrimary(Node candidate, List<NodeHealth> fresh, long expectedEpoch, long nextEpoch, String reason,
                               ClusterLock lock) throws ActionException, RecordStoreException {
        boolean semiSync = fresh.stream().map(NodeHealth::lastAnswer).anyMatch(c -> c instanceof ReplicationNodeState s
                && s.semiSync().sourceEnabled());
        long epoch = claim(lock, nextEpoch); // before anything changes: a failed claim leaves the cluster as it was
        actions.stopReplication(candidate);
        ReplicationNodeState held = check(candidate);
        if (!held.reachable()) {
            throw new ActionException(candidate.name() + " stopped answering during its promotion: " + held.error());
        }
        // The record is written on the candidate only and reaches the others by replication: unless a majority will
        // hold it, another instance reading the old record from a majority could promote another node under the same
        // epoch. So the others follow the candidate first, and it takes writes only once a majority holds what it holds.
        int needed = nodes.size() / 2 + 1;
        int holding = 1;
        List<String> missing = new ArrayList<>();
        for (Node other : nodes) {
            if (other.equals(candidate)) {
                continue;
            }
            try {
                if (!check(other).reachable()) {
                    missing.add(other.name() + ": does not answer");
                    continue; // it will be fenced and rejoined when it answers
                }
                actions.replicateFrom(other, candidate);
                events.node(other, "node " + other.name() + " now replicates from " + candidate.name(), instanceName);
                if (holding < needed) {
                    actions.awaitApplied(other, held.gtidCurrentPos(), RECORD_SPREAD);
                    ReplicationNodeState o = actions.awaitReceiving(other, RECORD_SPREAD);
                    if (receivesFrom(o, candidate)) {
                        holding++;
                    } else {
                        missing.add(other.name() + ": not receiving from " + candidate.name() + " ("
                                + (o.reachable() ? o.whyNotWritable() : o.error()) + ")");
                    }
                }
            } catch (ActionException e) {
                missing.add(other.name() + ": " + e.getMessage());
            }
        }
        if (holding < needed) {
            throw new ActionException("only " + holding + " of " + nodes.size() + " nodes hold what " + candidate.name()
                    + " holds (" + String.join("; ", missing) + "), a majority needs " + needed + "; " + candidate.name()
                    + " stays read-only");
        }
        if (semiSync) {
            actions.enableSemiSyncSource(candidate);
        }
        actions.setReadOnly(candidate, false);
        ReplicationNodeState now = check(candidate);
        if (!now.reachable()) {
            throw new ActionException(candidate.name() + " stopped answering during its promotion: " + now.error());
        }
        NodeRecord.Promotion promoted = new NodeRecord.Promotion(epoch, candidate.name(), now.gtidCurrentPos());
        StoredWriter next = new StoredWriter(candidate.name(), epoch, instanceName, reason);
        RecordWrite write;
        try {
            write = actions.writeRecord(candidate, expectedEpoch, next, promoted);
        } catch (RecordStoreException e) {
            // Unknown whether it applied: the candidate must not take writes under a record nobody may read.
            try {
                actions.setReadOnly(candidate, true);
            } catch (ActionException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
        if (!write.applied()) {
            actions.setReadOnly(candidate, true);
            throw new ActionException("the writer record on " + candidate.name() + " was not at epoch " + expectedEpoch
                    + " as read; " + candidate.name() + " is read-only again");
        }
        spread(candidate, write.after());
        wrote(next);
        promotion = Optional.of(promoted);
        lastActionFailure = null;
        leftOut.remove(candidate.name());
        publish(new WriterChoice.Writer(candidate, epoch), reason, instanceName);
        if (!lock.intact()) {
            log.warn("the cluster lock was lost on some node during the promotion of {}", candidate.name());
        }
    }

    private static boolean receivesFrom(ReplicationNodeState o, Node source) {
        ReplicationNodeState.Source src = o.defaultSource().orElse(null);
        return o.replicatesFrom(source.address()) && src != null && src.ioThread() == ReplicationNodeState.ThreadState.RUNNING;
    }

    /**
     * The epoch of a record about to be written under {@code lock}: {@code wanted}, or above every epoch claimed on
     * the lock's nodes if that is higher, claimed there first. A record that never reached a majority (its primary
     * cut off from its replicas, then lost) thus never shares its epoch with a later one naming another node.
     */
    private long claim(ClusterLock lock, long wanted) throws ActionException {
        long epoch = Math.max(wanted, lock.claimedEpoch() + 1);
        lock.claim(epoch);
        return epoch;
    }

    /** Waits, up to {@link #RECORD_SPREAD}, until a majority of nodes hold the record written on {@code primary}. */
    private void spread(Node primary, GtidPosition after) {
        int needed = nodes.size() / 2 + 1;
        int holding = 1;
        List<String> missing = new ArrayList<>();
        for (Node n : nodes) {
            if (n.equals(primary) || holding >= needed) {
                continue;
            }
            try {
                actions.awaitApplied(n, after, RECORD_SPREAD);
                holding++;
            } catch (ActionException e) {
                missing.add(n.name() + ": " + e.getMessage());
            }
        }
        if (holding < needed) {
            log.warn("the new writer record reached {} of {} nodes, a majority needs {} ({}); instances that cannot "
                    + "read a majority refuse clients until it does", holding, nodes.size(), needed, String.join("; ", missing));
        }
    }

    // ---------------------------------------------------------------- repairs

    private void repair(ReplicationElection.Follow follow, List<NodeHealth> snapshot) {
        Set<String> named = new java.util.HashSet<>();
        List<ReplicationElection.Repair> todo = new ArrayList<>();
        Instant now = clock.instant();
        for (ReplicationElection.Repair r : follow.repairs()) {
            named.add(r.node().name());
            if (r instanceof ReplicationElection.LeaveOut out) {
                String was = leftOut.put(out.node().name(), out.reason());
                if (!out.reason().equals(was)) {
                    events.node(out.node(), "node " + out.node().name() + " is left out: " + out.reason(), "monitor");
                }
                continue;
            }
            if (r instanceof ReplicationElection.Rejoin rejoin) {
                Instant last = lastRejoin.get(rejoin.node().name());
                if (last != null && Duration.between(last, now).compareTo(REJOIN_EVERY) < 0) {
                    continue;
                }
            }
            todo.add(r);
        }
        leftOut.keySet().removeIf(n -> !named.contains(n));
        if (todo.isEmpty()) {
            return;
        }
        try (ClusterLock lock = actions.lock(nodes)) {
            for (ReplicationElection.Repair r : todo) {
                repairOne(r, follow.writer(), lock);
            }
        } catch (ActionException e) {
            repairFailed("*", "cannot take the cluster lock to repair " + todo.get(0).node().name() + ": " + e.getMessage());
        }
    }

    private void repairOne(ReplicationElection.Repair r, Node primary, ClusterLock lock) {
        Node node = r.node();
        try {
            // Under the lock, look again: another instance may have repaired it, or the record moved on.
            ReplicationNodeState fresh = check(node);
            if (!fresh.reachable()) {
                return;
            }
            if (r instanceof ReplicationElection.Fence) {
                if (fresh.readOnly()) {
                    return;
                }
                actions.setReadOnly(node, true);
                int ended = actions.endClientSessions(node);
                events.node(node, "node " + node.name() + " fenced (read_only=ON, " + ended + " session" + (ended == 1 ? "" : "s")
                        + " ended): " + r.reason(), "monitor");
            } else if (r instanceof ReplicationElection.Rejoin) {
                lastRejoin.put(node.name(), clock.instant());
                if (!fresh.readOnly()) {
                    actions.setReadOnly(node, true);
                }
                if (fresh.replicatesFrom(primary.address(), serverIdOf(primary))) {
                    return;
                }
                actions.replicateFrom(node, primary);
                events.node(node, "node " + node.name() + " rejoined as a replica of " + primary.name() + ": " + r.reason(), "monitor");
            }
            lastRepairFailure.remove(node.name());
        } catch (ActionException e) {
            repairFailed(node.name(), "repairing " + node.name() + " failed (" + r.reason() + "): " + e.getMessage());
        }
    }

    private void repairFailed(String key, String message) {
        if (!message.equals(lastRepairFailure.put(key, message))) {
            log.warn("{}; trying again after the next check", message);
        }
    }

    private void actionFailed(String message) {
        if (!message.equals(lastActionFailure)) {
            log.warn("{}; trying again after the next check", message);
            lastActionFailure = message;
        }
    }

    // ---------------------------------------------------------------- operators' changes

    /**
     * An operator's switchover to {@code target} while no primary can be routed to: with {@code failover: manual},
     * the confirmed loss of the primary waits for this. Applies the same rules as an automatic failover (a majority
     * confirms the loss, {@code target} must be the replica that received the most), then promotes it.
     *
     * @throws IllegalStateException with the reason when the rules do not promote {@code target}
     */
    public WriterChoice.Writer takeOver(Node target, String requestedBy) {
        List<NodeHealth> snapshot = health.get();
        read(snapshot);
        ReplicationElection.Rules asAuto = new ReplicationElection.Rules(true, rules.rejoinAuto(), rules.recordMaxAge());
        Decision d = ReplicationElection.decide(knowledge(), promotion, snapshot, maintenance, clock.instant(), asAuto);
        if (d instanceof ReplicationElection.Refuse r) {
            throw new IllegalStateException(r.reason());
        }
        if (d instanceof ReplicationElection.Follow f) {
            throw new IllegalStateException(f.writer().name() + " is the primary and takes writes; a planned switchover "
                    + "needs this Baton to route to it first: try again");
        }
        if (!(d instanceof ReplicationElection.Promote p)) {
            throw new IllegalStateException("the primary is being recorded; try again");
        }
        if (!p.candidate().equals(target)) {
            throw new IllegalStateException(target.name() + " cannot be promoted: the rules choose " + p.candidate().name()
                    + " (" + p.reason() + ")");
        }
        promote(new ReplicationElection.Promote(p.candidate(), p.lost(), p.expectedEpoch(), p.nextEpoch(), p.catchUpTo(),
                "switchover to " + target.name() + " requested by " + requestedBy + ": " + p.reason()), asAuto);
        if (published.current() instanceof WriterChoice.Writer w && w.node().equals(target)) {
            return w;
        }
        throw new IllegalStateException("promotion of " + target.name() + " did not complete: "
                + (published.current() instanceof WriterChoice.NoWriter n ? n.reason() : published.current()));
    }

    /**
     * Starts a planned switchover to {@code target}: the primary stays, under a new epoch, with a hand-over until
     * {@code drain} from now, which every instance follows by holding new clients and draining its sessions.
     */
    public WriterChoice.Writer beginHandover(Node target, Duration drain, String requestedBy) {
        List<NodeHealth> snapshot = snapshot();
        read(snapshot);
        StoredWriter now = requireFollowedRecord();
        NodeHealth t = snapshot.stream().filter(h -> h.node().equals(target)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown node '" + target.name() + "'"));
        if (now.writer().equals(target.name())) {
            throw new IllegalStateException(target.name() + " is already the primary");
        }
        if (now.handingOver()) {
            throw new IllegalStateException("a switchover to " + now.handoverTo() + " started by " + now.changedBy()
                    + " is already draining");
        }
        if (maintenance.contains(target.name())) {
            throw new IllegalStateException("node " + target.name() + " is in maintenance");
        }
        Node primary = recordedPrimary().orElseThrow();
        ReplicationNodeState ts = state(snapshot, target);
        if (ts == null || !ts.reachable()) {
            throw new IllegalStateException("node " + target.name() + " is not reachable: " + (ts == null ? "not checked" : ts.error()));
        }
        if (!t.state().electable() || !ts.replicatesFrom(primary.address(), serverIdOf(primary))) {
            throw new IllegalStateException("node " + target.name() + " is not a healthy replica of " + primary.name() + ": "
                    + (ts.whyUnfit() != null ? ts.whyUnfit() : ts.whyNotWritable()));
        }
        String why = "switchover to " + target.name() + " requested by " + requestedBy + ": draining " + now.writer()
                + " for up to " + drain.toMillis() + " ms";
        StoredWriter next = null;
        String changed = null;
        try (ClusterLock lock = actions.lock(nodes)) {
            // Checked afresh under the lock: another instance may have switched over since this one's last checks, and
            // the compare-and-set must not be attempted on a node that now replicates (an errant transaction).
            ReplicationNodeState p = check(primary);
            if (!p.reachable() || p.role() != Role.PRIMARY || !p.record().readable() || p.record().epoch() != now.epoch()) {
                changed = "the writer record changed meanwhile (" + primary.name() + " now "
                        + (!p.reachable() ? "does not answer: " + p.error() : p.role() != Role.PRIMARY ? "cannot take writes: "
                        + p.whyNotWritable() : "holds the record at epoch " + p.record().epoch()) + "); try again";
            } else {
                next = new StoredWriter(now.writer(), claim(lock, memory.highestEpoch() + 1), instanceName, why, target.name(),
                        clock.instant().plus(drain));
                RecordWrite write = actions.writeRecord(primary, now.epoch(), next, null);
                if (!write.applied()) {
                    throw new IllegalStateException("the writer record changed meanwhile; try again");
                }
                spread(primary, write.after());
            }
        } catch (ActionException | RecordStoreException e) {
            throw new IllegalStateException("cannot start the switchover: " + e.getMessage());
        }
        if (changed != null) {
            decide(); // on what the fresh check showed, rather than go on routing to a node that no longer takes writes
            throw new IllegalStateException(changed);
        }
        wrote(next);
        WriterChoice.Writer handingOver = new WriterChoice.Writer(primary, next.epoch(),
                new WriterChoice.Handover(target, next.handoverUntil(), instanceName));
        publish(handingOver, why, requestedBy);
        return handingOver;
    }

    /**
     * Ends the hand-over recorded under {@code epoch}: makes the old primary read-only and ends its sessions, waits
     * until the target has applied everything it wrote, promotes the target and points the others at it. If the
     * target cannot catch up within {@code catchUp}, the old primary is made writable again and this throws.
     */
    public WriterChoice.Writer completeHandover(long epoch, String requestedBy, Duration catchUp) {
        ClusterLock lock;
        try {
            lock = actions.lock(nodes);
        } catch (ActionException e) {
            throw new IllegalStateException("cannot complete the switchover's hand-over (epoch " + epoch + "): " + e.getMessage());
        }
        try (lock) {
            // The record as the nodes hold it now: the regular checks may not have read the hand-over yet.
            List<NodeHealth> fresh = freshChecks();
            read(fresh);
            return completeHandover(epoch, requestedBy, catchUp, fresh, lock);
        }
    }

    private WriterChoice.Writer completeHandover(long epoch, String requestedBy, Duration catchUp, List<NodeHealth> fresh,
                                                 ClusterLock lock) {
        if (memory.stored().isEmpty() || memory.stored().get().epoch() != epoch || !memory.stored().get().handingOver()) {
            throw new IllegalStateException("the switchover's hand-over (epoch " + epoch + ") is no longer in the writer "
                    + "record: " + memory.stored().map(s -> "primary " + s.writer() + " at epoch " + s.epoch() + " (" + s.reason()
                    + ", by " + s.changedBy() + ")").orElse("no record"));
        }
        StoredWriter now = memory.stored().get();
        Node old = byNameNode(now.writer());
        Node target = byNameNode(now.handoverTo());
        try {
            ReplicationNodeState t = state(fresh, target);
            if (t == null || !t.reachable() || t.whyUnfit() != null || maintenance.contains(target.name())) {
                String why = t == null || !t.reachable() ? "it does not answer" : maintenance.contains(target.name())
                        ? "it is in maintenance" : t.whyUnfit();
                cancel(old, now, "switchover to " + target.name() + " cancelled: " + why, lock);
                throw new IllegalStateException("switchover to " + target.name() + " cancelled: " + why + "; " + old.name()
                        + " stays the primary");
            }
            actions.setReadOnly(old, true);
            int ended = actions.endClientSessions(old);
            ReplicationNodeState o = check(old);
            if (!o.reachable()) {
                throw new ActionException(old.name() + " stopped answering: " + o.error());
            }
            GtidPosition wrote = o.gtidBinlogPos();
            Instant paused = clock.instant();
            try {
                actions.awaitApplied(target, wrote, catchUp);
            } catch (ActionException e) {
                actions.setReadOnly(old, false);
                cancel(old, now, "switchover to " + target.name() + " abandoned: it did not apply " + wrote + " within "
                        + catchUp.toMillis() + " ms (" + e.getMessage() + ")", lock);
                throw new IllegalStateException("switchover to " + target.name() + " abandoned: it could not catch up with "
                        + old.name() + " (" + wrote + ") within " + catchUp.toMillis() + " ms; " + old.name()
                        + " is writable again and stays the primary");
            }
            String why = "switchover to " + target.name() + " requested by " + requestedBy + " (" + old.name()
                    + " read-only, " + ended + " session" + (ended == 1 ? "" : "s") + " ended, " + target.name() + " caught up to "
                    + wrote + " in " + Duration.between(paused, clock.instant()).toMillis() + " ms)";
            try {
                becomePrimary(target, fresh, epoch, memory.highestEpoch() + 1, why, lock);
            } catch (ActionException e) {
                actions.stopReplication(old); // it may have been pointed at the target already
                actions.setReadOnly(old, false);
                cancel(old, now, "switchover to " + target.name() + " abandoned: " + e.getMessage(), lock);
                throw new IllegalStateException("switchover to " + target.name() + " abandoned: " + e.getMessage() + "; "
                        + old.name() + " is writable again and stays the primary");
            }
            return (WriterChoice.Writer) published.current();
        } catch (ActionException | RecordStoreException e) {
            throw new IllegalStateException("switchover to " + target.name() + " failed: " + e.getMessage()
                    + "; the cluster is checked again and the record followed");
        }
    }

    /** Clears a hand-over, keeping {@code old} as the primary. */
    private void cancel(Node old, StoredWriter now, String why, ClusterLock lock) throws RecordStoreException, ActionException {
        StoredWriter next = new StoredWriter(old.name(), claim(lock, memory.highestEpoch() + 1), instanceName, why);
        RecordWrite write = actions.writeRecord(old, now.epoch(), next, null);
        if (write.applied()) {
            wrote(next);
            publish(new WriterChoice.Writer(old, next.epoch()), why, instanceName);
        }
    }

    /** Puts {@code node} in or out of maintenance for every instance, on the primary, then decides again. */
    public void setMaintenance(Node node, boolean on, String requestedBy) {
        Node primary = recordedPrimary().orElseThrow(() -> new IllegalStateException("no primary is recorded yet"));
        try {
            actions.setMaintenance(primary, node.name(), on, requestedBy);
        } catch (RecordStoreException e) {
            throw new IllegalStateException("the primary " + primary.name() + " did not accept the maintenance change: "
                    + e.getMessage());
        }
        events.node(node, "node " + node.name() + (on ? " is in maintenance" : " is out of maintenance")
                + " (requested by " + requestedBy + ")", requestedBy);
    }

    private StoredWriter requireFollowedRecord() {
        if (memory.stored().isEmpty() || !(published.current() instanceof WriterChoice.Writer w) || !w.node().name().equals(memory.stored().get().writer())
                || w.epoch() != memory.stored().get().epoch()) {
            throw new IllegalStateException("this Baton does not route to the recorded primary now ("
                    + (published.current() instanceof WriterChoice.NoWriter n ? n.reason() : "it follows epoch "
                    + ((WriterChoice.Writer) published.current()).epoch() + ", the record is at " + memory.stored().map(StoredWriter::epoch).orElse(0L))
                    + "); try again");
        }
        return memory.stored().get();
    }

    // ---------------------------------------------------------------- helpers

    /** Every node checked again now, with the health state this instance holds for it. */
    private List<NodeHealth> freshChecks() {
        List<NodeHealth> out = new ArrayList<>();
        for (NodeHealth h : health.get()) {
            ReplicationNodeState s = check(h.node());
            out.add(new NodeHealth(h.node(), h.state(), s, s.reachable() ? s : h.lastAnswer()));
        }
        return out;
    }

    private static ReplicationNodeState state(List<NodeHealth> health, Node node) {
        return health.stream().filter(h -> h.node().equals(node)).findFirst()
                .map(h -> h.last() instanceof ReplicationNodeState s ? s : null).orElse(null);
    }

    private static NodeHealth byName(List<NodeHealth> health, Node node) {
        return health.stream().filter(h -> h.node().equals(node)).findFirst().orElseThrow();
    }

    /** The {@code server_id} {@code node} answered with last, 0 if unknown. */
    private long serverIdOf(Node node) {
        return health.get().stream().filter(h -> h.node().equals(node)).findFirst().map(ReplicationElection::serverId).orElse(0L);
    }

    private Node byNameNode(String name) {
        return nodes.stream().filter(n -> n.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalStateException("node '" + name + "' is not in this Baton's config"));
    }

    private static String describe(Decision d) {
        if (d instanceof ReplicationElection.Refuse r) {
            return "refuse: " + r.reason();
        }
        if (d instanceof ReplicationElection.Follow f) {
            return "follow " + f.writer().name();
        }
        if (d instanceof ReplicationElection.Promote p) {
            return "promote " + p.candidate().name();
        }
        return d.toString();
    }

    private void publish(WriterChoice next, String reason, String by) {
        published.publish(next, reason, by);
    }
}
