package dev.baton.routing.replication;

import dev.baton.routing.Node;
import dev.baton.routing.core.HealthState;
import dev.baton.routing.core.NodeHealth;
import dev.baton.routing.core.RecordKnowledge;
import dev.baton.routing.core.StoredWriter;
import dev.baton.routing.core.WriterElection;
import dev.baton.routing.replication.ReplicationNodeState.Role;
import dev.baton.routing.replication.ReplicationNodeState.Source;
import dev.baton.routing.replication.ReplicationNodeState.ThreadState;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The rules of a primary/replica cluster, pure like {@link WriterElection}: from the writer record as a majority of
 * nodes hold it, this instance's checks and the time, whether to follow the recorded primary, record one, promote
 * a replica, or refuse clients; and, while following, which other nodes to fence or bring back as replicas.
 *
 * <ul>
 *   <li>Found, not guessed: with no record, the primary is the one node that is writable and replicates from
 *       nobody, and every replica that answers replicates from it; anything else is refused with its reason.</li>
 *   <li>Confirmed: a primary is replaced only when this instance cannot reach it <em>and</em> no replica that
 *       answers still hears from it <em>and</em> a majority of all nodes are replicas that lost it (their IO thread
 *       keeps reconnecting and reports an error), in checks newer than this instance's read of the record; or when
 *       it answers read-only for {@code fall} checks. With two nodes the one replica is never a majority: no
 *       automatic failover.</li>
 *   <li>Most advanced: the candidate is the replica whose received position ({@code Gtid_IO_Pos}) contains every
 *       other replica's; ties go by priority, then {@code server_id}; a replica behind another is never chosen,
 *       and replicas with diverged positions are refused.</li>
 *   <li>Fresh: the record must come from a majority of nodes within {@code recordMaxAge}; its epoch never goes
 *       back.</li>
 * </ul>
 * Acting on a decision (promoting, fencing, rejoining) is the keeper's, under a lock held on a majority of nodes.
 */
public final class ReplicationElection {

    /** What to do now. */
    public sealed interface Decision {
    }

    /** Route to the recorded primary; {@code repairs} are the other nodes to put right (under the majority lock). */
    public record Follow(Node writer, long epoch, String reason, String recordedBy, List<Repair> repairs)
            implements Decision {
        public Follow {
            repairs = List.copyOf(repairs);
        }
    }

    /** Route nowhere; refused clients read {@code reason}. */
    public record Refuse(String reason) implements Decision {
    }

    /**
     * Record {@code primary}, which already takes writes, as the writer under {@code nextEpoch} (with no record yet,
     * or to end a hand-over that passed its deadline), by compare-and-set from {@code expectedEpoch}.
     */
    public record Record(Node primary, long expectedEpoch, long nextEpoch, String reason) implements Decision {
    }

    /**
     * Promote {@code candidate} in place of {@code lost}: it must first apply everything up to {@code catchUpTo},
     * then it becomes the primary under {@code nextEpoch} and the other replicas follow it.
     */
    public record Promote(Node candidate, Node lost, long expectedEpoch, long nextEpoch, GtidPosition catchUpTo,
                          String reason) implements Decision {
    }

    /** Something to put right on a node that is not the primary. */
    public sealed interface Repair {
        Node node();

        String reason();
    }

    /** The node is writable but is not the primary: make it read-only and end its sessions, at once. */
    public record Fence(Node node, String reason) implements Repair {
    }

    /** The node replicates from nobody (or another node) and holds nothing the primary lacks: make it a replica. */
    public record Rejoin(Node node, String reason) implements Repair {
    }

    /** The node stays out of the cluster for the reason given (shown in status and events); nothing is done. */
    public record LeaveOut(Node node, String reason) implements Repair {
    }

    /** The settings the rules read. */
    public record Rules(boolean failoverAuto, boolean rejoinAuto, Duration recordMaxAge) {
    }

    /**
     * The books as a majority of nodes hold them.
     *
     * @param record   the node books with the highest epoch (the writer's own copy on a tie), empty if no node answered
     * @param answered how many nodes' books were read at their last check
     * @param needed   how many make a majority of the configured nodes
     */
    public record Books(Optional<NodeRecord> record, int answered, int needed, String why) {
        public boolean majority() {
            return answered >= needed;
        }
    }

    private ReplicationElection() {
    }

    /** Reads the books every node's last check carried, and which of them to believe. */
    public static Books books(List<NodeHealth> health) {
        int needed = health.size() / 2 + 1;
        List<String> failures = new ArrayList<>();
        NodeRecord best = null;
        String bestFrom = null;
        int answered = 0;
        for (NodeHealth h : health) {
            ReplicationNodeState s = state(h);
            if (s == null || !s.reachable()) {
                failures.add(h.node().name() + ": " + (s == null ? "not checked yet" : s.error()));
                continue;
            }
            if (!s.record().readable()) {
                failures.add(h.node().name() + ": " + s.record().error());
                continue;
            }
            answered++;
            NodeRecord r = s.record();
            boolean own = r.writer().map(w -> w.writer().equals(h.node().name())).orElse(false);
            if (best == null || r.epoch() > best.epoch() || r.epoch() == best.epoch() && own && !h.node().name().equals(bestFrom)) {
                best = r;
                bestFrom = h.node().name();
            }
        }
        String why = answered >= needed ? "" : "the writer record was read from " + answered + " of " + health.size()
                + " nodes, a majority needs " + needed + " (" + String.join("; ", failures) + ")";
        if (best != null && best.writer().isPresent()) {
            NodeRecord top = best;
            java.util.Map<String, NodeRecord> rivals = new java.util.TreeMap<>();
            for (NodeHealth h : health) {
                ReplicationNodeState s = state(h);
                if (s != null && s.reachable() && s.record().readable() && s.record().epoch() == top.epoch()) {
                    NodeRecord r = s.record();
                    String named = r.writer().orElseThrow().writer();
                    boolean own = named.equals(h.node().name());
                    rivals.merge(named, r, (kept, other) -> own ? other : kept);
                }
            }
            if (rivals.size() > 1) {
                // Two records under one epoch (one of them written where no majority replicates it): believe the one
                // naming the node the cluster follows, and nothing if that is not clear.
                String chosen = null;
                long most = -1;
                boolean tie = false;
                for (String named : rivals.keySet()) {
                    NodeHealth w = health.stream().filter(h -> h.node().name().equals(named)).findFirst().orElse(null);
                    long followers = w == null ? 0 : health.stream().filter(h -> h != w && follows(h, w)).count();
                    if (followers > most) {
                        most = followers;
                        chosen = named;
                        tie = false;
                    } else if (followers == most) {
                        tie = true;
                    }
                }
                if (tie) {
                    return new Books(Optional.empty(), 0, needed, "the nodes hold different writer records under epoch "
                            + top.epoch() + " (" + String.join(", ", rivals.keySet()) + ") and the replicas do not settle which "
                            + "one the cluster follows");
                }
                best = rivals.get(chosen);
            }
        }
        return new Books(Optional.ofNullable(best), answered, needed, why);
    }

    public static Decision decide(RecordKnowledge record, Optional<NodeRecord.Promotion> promotion, List<NodeHealth> health,
                                  Set<String> maintenance, Instant now, Rules rules) {
        Duration unread = record.unreadFor(now);
        if (unread.compareTo(rules.recordMaxAge()) > 0) {
            return new Refuse("writer record not read from a majority of nodes for "
                    + Math.round(unread.toMillis() / 100.0) / 10.0 + " s: " + record.lastError().orElse(""));
        }
        List<String> unchecked = health.stream().filter(h -> !h.checked()).map(h -> h.node().name()).toList();
        if (!unchecked.isEmpty()) {
            return new Refuse("Baton is starting: waiting for the first check of " + String.join(", ", unchecked));
        }
        long next = record.highestEpoch() + 1;
        if (record.stored().isEmpty()) {
            return bootstrap(health, next);
        }
        StoredWriter stored = record.stored().get();
        if (stored.epoch() < record.highestEpoch()) {
            return new Refuse("the writer record a majority holds (epoch " + stored.epoch() + ") is older than epoch "
                    + record.highestEpoch() + " seen before; waiting for the nodes that hold the newer one");
        }
        Optional<NodeHealth> found = byName(health, stored.writer());
        if (found.isEmpty()) {
            return new Refuse("recorded primary '" + stored.writer() + "' is not in this Baton's config");
        }
        NodeHealth writer = found.get();
        ReplicationNodeState w = state(writer);
        String name = writer.node().name();
        Follow follow = new Follow(writer.node(), stored.epoch(), stored.reason(), stored.changedBy(), List.of());

        if (stored.handingOver()) {
            return handingOver(stored, writer, health, now, next, follow);
        }
        if (w.reachable() && w.role() == Role.PRIMARY) {
            return new Follow(writer.node(), stored.epoch(), stored.reason(), stored.changedBy(),
                    repairs(writer, promotion, health, maintenance, rules));
        }
        HealthState state = writer.state();
        if (w.reachable()) {
            // It answers, but cannot take writes: read-only, or replicating from someone.
            String why = w.whyNotWritable();
            if (!(state instanceof HealthState.DownUnfit) || w.role() == Role.REPLICA
                    || !writer.last().checkedAt().isAfter(record.seenSince())) {
                return new Refuse("primary " + name + " answers but cannot take writes: " + why
                        + (w.role() == Role.REPLICA ? "; Baton does not fail over a node that replicates" : "; not routing to it"));
            }
            if (!rules.failoverAuto()) {
                return new Refuse("primary " + name + " is read-only (" + why + "); failover is manual: "
                        + "run 'baton switchover NODE'");
            }
            // Read-only and replicating from nobody for `fall` checks: it answers, so nothing it wrote is lost if the
            // candidate first applies everything in its binary log.
            return promote(writer, health, maintenance, stored, next, w.gtidBinlogPos(),
                    "primary " + name + " is read-only (" + why + ")");
        }
        if (state.followable()) {
            // A check or two failed: not lost yet, if it was the primary when it last answered. Its health may be "up"
            // as a fit replica, before another instance promoted it: that says nothing about taking writes.
            if (writer.lastAnswer() instanceof ReplicationNodeState last && last.role() != Role.PRIMARY) {
                return new Refuse("primary " + name + " does not answer this Baton (" + w.error() + ") and its last answer "
                        + "showed it not taking writes (" + last.whyNotWritable() + "); not routing to it");
            }
            return follow;
        }
        String lost = "primary " + name + " is unreachable from this Baton (" + state.describe() + ")";
        List<NodeHealth> replicas = health.stream().filter(h -> h != writer && reachable(h)
                && follows(h, writer)).toList();
        Optional<Decision> resumed = interruptedPromotion(writer, health, maintenance, stored, next, rules, lost);
        if (resumed.isPresent()) {
            return resumed.get();
        }
        if (replicas.isEmpty()) {
            return new Refuse(lost + " and no replica of it answers to confirm the loss; not routing anywhere");
        }
        List<String> stillHear = replicas.stream().filter(h -> state(h).defaultSource().orElseThrow().ioThread() == ThreadState.RUNNING
                || !h.last().checkedAt().isAfter(record.seenSince())).map(h -> h.node().name()).toList();
        if (!stillHear.isEmpty()) {
            return new Refuse(lost + " but " + String.join(", ", stillHear) + " still replicate" + (stillHear.size() == 1 ? "s" : "")
                    + " from it; not failing over");
        }
        // The cluster itself must say the primary is gone: a majority of all nodes, each a replica of it whose IO
        // thread tried to reach it and failed. An IO thread stopped by hand, or reconnecting after being pointed
        // elsewhere, says nothing about the primary.
        List<NodeHealth> confirming = replicas.stream().filter(h -> lostItsSource(state(h))).toList();
        int needed = health.size() / 2 + 1;
        if (health.size() - 1 < needed) {
            return new Refuse(lost + "; in a cluster of " + health.size() + " nodes a lost primary is never failed over "
                    + "automatically: its replica alone is not a majority of the nodes, and cannot tell a lost primary "
                    + "from a cut link; not failing over");
        }
        if (confirming.size() < needed) {
            String others = replicas.stream().filter(h -> !confirming.contains(h)).map(h -> {
                Source src = state(h).defaultSource().orElseThrow();
                return h.node().name() + " (IO thread " + src.ioThread().name().toLowerCase()
                        + (src.lastIoError().isEmpty() ? ", no IO error)" : ", not reconnecting)");
            }).collect(Collectors.joining(", "));
            return new Refuse(lost + "; " + confirming.size() + " of its replicas report losing it"
                    + (confirming.isEmpty() ? "" : " (" + names(confirming) + ")") + ", a majority of the " + health.size()
                    + " nodes (" + needed + ") must" + (others.isEmpty() ? "" : "; not confirming: " + others)
                    + "; not failing over");
        }
        String confirmed = lost + " and its replicas lost it too (" + names(confirming) + ")";
        if (!rules.failoverAuto()) {
            return new Refuse(confirmed + "; failover is manual: run 'baton switchover NODE'");
        }
        return promote(writer, health, maintenance, stored, next, GtidPosition.EMPTY, confirmed);
    }

    private static Decision handingOver(StoredWriter stored, NodeHealth writer, List<NodeHealth> health, Instant now,
                                        long next, Follow follow) {
        if (!now.isAfter(stored.handoverUntil().plus(WriterElection.HANDOVER_GRACE))) {
            return follow; // new clients are held; the instance that started the switchover completes it
        }
        String late = "switchover to " + stored.handoverTo() + " by " + stored.changedBy() + " passed its deadline "
                + Duration.between(stored.handoverUntil(), now).toMillis() + " ms ago without being completed";
        ReplicationNodeState w = state(writer);
        Optional<NodeHealth> target = byName(health, stored.handoverTo());
        if (target.isPresent() && reachable(target.get()) && state(target.get()).role() == Role.PRIMARY
                && !(w.reachable() && w.role() == Role.PRIMARY)) {
            // The switchover promoted its target and stopped before recording it: then the target had caught up with
            // the old primary, so it holds everything the old primary held and any node received. One that lacks some
            // of it was made writable some other way (a node an operator detached, restarted writable).
            ReplicationNodeState t = state(target.get());
            GtidPosition holds = t.gtidBinlogPos().union(t.gtidCurrentPos());
            List<String> lacks = new ArrayList<>();
            if (writer.lastAnswer() instanceof ReplicationNodeState last && !holds.contains(last.gtidBinlogPos())) {
                lacks.add(writer.node().name() + " held " + last.gtidBinlogPos() + " at its last answer");
            }
            health.stream().filter(h -> h != target.get() && h != writer && reachable(h) && !holds.contains(received(h)))
                    .forEach(h -> lacks.add(h.node().name() + " received " + received(h)));
            if (!lacks.isEmpty()) {
                return new Refuse(late + "; " + stored.handoverTo() + " takes writes but holds only " + holds + " ("
                        + String.join(", ", lacks) + "), so the switchover did not promote it: an operator must decide");
            }
            return new Record(target.get().node(), stored.epoch(), next, late + "; " + stored.handoverTo()
                    + " already takes writes and " + writer.node().name() + " does not: recorded " + stored.handoverTo());
        }
        if (w.reachable() && w.role() == Role.PRIMARY) {
            return new Record(writer.node(), stored.epoch(), next, late + "; " + writer.node().name() + " stays the primary");
        }
        return new Refuse(late + "; " + writer.node().name() + " cannot take writes ("
                + (w.reachable() ? w.whyNotWritable() : w.error()) + ") and " + stored.handoverTo()
                + " was not promoted: an operator must decide");
    }

    /** With no record: the one writable node that replicates from nobody, if every replica that answers follows it. */
    private static Decision bootstrap(List<NodeHealth> health, long next) {
        List<NodeHealth> answering = health.stream().filter(ReplicationElection::reachable).toList();
        int needed = health.size() / 2 + 1;
        if (answering.size() < needed) {
            return new Refuse("no writer recorded yet and only " + answering.size() + " of " + health.size()
                    + " nodes answer; a majority must answer to find the primary");
        }
        List<NodeHealth> writable = answering.stream().filter(h -> !state(h).readOnly()).toList();
        List<NodeHealth> primaries = writable.stream().filter(h -> state(h).role() == Role.PRIMARY).toList();
        for (NodeHealth h : writable) {
            if (state(h).role() == Role.REPLICA) {
                return new Refuse("no writer recorded yet and " + h.node().name() + " is writable but replicates from "
                        + state(h).defaultSource().map(Source::sourceAddress).orElse("another node")
                        + "; set read_only=ON on it (Baton does not guess which node is the primary)");
            }
        }
        if (primaries.isEmpty()) {
            return new Refuse("no writer recorded yet and no node is writable and replicating from nobody");
        }
        if (primaries.size() > 1) {
            return new Refuse("no writer recorded yet and " + names(primaries) + " are all writable and replicate from "
                    + "nobody; Baton does not guess which is the primary: make all but one read-only replicas");
        }
        NodeHealth primary = primaries.get(0);
        for (NodeHealth h : answering) {
            if (h != primary && !follows(h, primary)) {
                return new Refuse("no writer recorded yet and " + h.node().name() + " does not replicate from " + primary.node().name()
                        + " (" + primary.node().address() + "), the only writable node: "
                        + state(h).defaultSource().map(s -> "it replicates from " + s.sourceAddress()).orElse("it replicates from nobody")
                        + "; Baton does not guess which is the primary");
            }
        }
        return new Record(primary.node(), 0, next, primary.node().name() + " is the only writable node, replicates from nobody, "
                + "and every replica that answers replicates from it");
    }

    private static Decision promote(NodeHealth writer, List<NodeHealth> health, Set<String> maintenance, StoredWriter stored,
                                    long next, GtidPosition writerWrote, String why) {
        Candidate choice = candidate(writer, health, maintenance);
        if (choice.refusal() != null) {
            return new Refuse(why + "; " + choice.refusal());
        }
        GtidPosition target = choice.position().union(writerWrote);
        NodeHealth c = choice.node();
        List<String> unanswered = health.stream().filter(h -> h != writer && !reachable(h)).map(h -> h.node().name()).toList();
        return new Promote(c.node(), writer.node(), stored.epoch(), next, target, why + "; promoting " + c.node().name()
                + ", the most advanced replica (received " + choice.position() + ")"
                + (unanswered.isEmpty() ? "" : "; not compared, as they do not answer: " + String.join(", ", unanswered)));
    }

    /**
     * A promotion that stopped half-way (its instance lost the lock, a node, or its process): a node that is read-only
     * and replicates from nobody, followed by enough replicas to make a majority with it, holding everything they
     * received, while the recorded primary does not answer. Only a promotion under the lock leaves a cluster like
     * this, after a majority confirmed the old primary lost; it is completed rather than left without a primary.
     */
    private static Optional<Decision> interruptedPromotion(NodeHealth writer, List<NodeHealth> health, Set<String> maintenance,
                                                           StoredWriter stored, long next, Rules rules, String lost) {
        int needed = health.size() / 2 + 1;
        for (NodeHealth c : health) {
            ReplicationNodeState s = state(c);
            if (c == writer || s == null || !s.reachable() || !s.readOnly() || !s.sources().isEmpty()
                    || maintenance.contains(c.node().name())) {
                continue;
            }
            List<NodeHealth> followers = health.stream().filter(h -> h != c && h != writer && reachable(h) && follows(h, c)).toList();
            if (followers.size() + 1 < needed) {
                continue;
            }
            GtidPosition holds = s.gtidCurrentPos().union(s.gtidBinlogPos());
            boolean ahead = health.stream().filter(h -> h != c && h != writer && reachable(h))
                    .allMatch(h -> holds.contains(state(h).sources().isEmpty() ? state(h).gtidCurrentPos() : received(h)));
            if (!ahead) {
                continue;
            }
            String why = lost + "; a promotion of " + c.node().name() + " stopped half-way (it is read-only, replicates from "
                    + "nobody, and " + names(followers) + " replicate from it)";
            if (!rules.failoverAuto()) {
                return Optional.of(new Refuse(why + "; failover is manual: run 'baton switchover NODE'"));
            }
            return Optional.of(new Promote(c.node(), writer.node(), stored.epoch(), next, holds, why + "; completing it"));
        }
        return Optional.empty();
    }

    /**
     * The replica's IO thread tries to reach its source and fails: it keeps reconnecting ("Connecting") and reports
     * the error. Stopped ("No") says nothing about the source: by hand ({@code STOP SLAVE}, which keeps an earlier
     * error), or by an error the source itself sent (1236), which means it answered.
     */
    static boolean lostItsSource(ReplicationNodeState replica) {
        return replica.defaultSource().map(src -> src.ioThread() == ThreadState.CONNECTING && !src.lastIoError().isEmpty())
                .orElse(false);
    }

    /** A replica to promote, or why there is none. */
    public record Candidate(NodeHealth node, GtidPosition position, String refusal) {
    }

    private static final Comparator<NodeHealth> TIE = Comparator.comparingInt((NodeHealth h) -> h.node().priority())
            .thenComparingLong(h -> state(h).serverId()).thenComparing(h -> h.node().name());

    /**
     * The replica of {@code writer} to promote: among replicas that answer, are fit (applying) and not in maintenance,
     * the one whose received position contains that of every replica that answers (in maintenance or not); ties by
     * priority, then {@code server_id}.
     */
    public static Candidate candidate(NodeHealth writer, List<NodeHealth> health, Set<String> maintenance) {
        List<NodeHealth> replicas = health.stream().filter(h -> h != writer && reachable(h) && !state(h).sources().isEmpty())
                .toList();
        if (replicas.isEmpty()) {
            return new Candidate(null, null, "no replica answers");
        }
        for (NodeHealth r : replicas) {
            Source s = state(r).defaultSource().orElse(null);
            if (s == null) {
                return new Candidate(null, null, r.node().name() + " replicates through a named connection only; Baton "
                        + "promotes among replicas of the default connection");
            }
            if ("No".equalsIgnoreCase(s.usingGtid())) {
                return new Candidate(null, null, r.node().name() + " does not replicate by GTID (Using_Gtid=No); Baton "
                        + "cannot compare positions");
            }
        }
        List<NodeHealth> eligible = replicas.stream().filter(h -> h.state().electable() && !maintenance.contains(h.node().name()))
                .sorted(TIE).toList();
        NodeHealth best = null;
        for (NodeHealth c : eligible) {
            GtidPosition mine = received(c);
            if (replicas.stream().allMatch(o -> mine.contains(received(o)))) {
                best = c;
                break;
            }
        }
        if (best == null) {
            NodeHealth ahead = replicas.stream().filter(o -> replicas.stream().allMatch(x -> received(o).contains(received(x))))
                    .findFirst().orElse(null);
            String positions = replicas.stream().map(h -> h.node().name() + " received " + received(h)
                    + (maintenance.contains(h.node().name()) ? " (in maintenance)" : h.state().electable() ? "" : " (" + h.state().describe() + ")"))
                    .collect(Collectors.joining("; "));
            if (ahead == null) {
                return new Candidate(null, null, "the replicas' positions diverge, so none holds everything the others "
                        + "hold (" + positions + "); an operator must decide");
            }
            return new Candidate(null, null, "the most advanced replica, " + ahead.node().name() + ", cannot be promoted "
                    + "and a replica behind it never is (" + positions + ")");
        }
        return new Candidate(best, received(best), null);
    }

    /** Everything a replica holds or has received: its applied position and its relay log. */
    static GtidPosition received(NodeHealth h) {
        ReplicationNodeState s = state(h);
        GtidPosition io = s.defaultSource().map(Source::gtidIoPos).orElse(GtidPosition.EMPTY);
        return io.union(s.gtidCurrentPos());
    }

    /** What to put right on the nodes other than a primary that is being followed. */
    private static List<Repair> repairs(NodeHealth writer, Optional<NodeRecord.Promotion> promotion, List<NodeHealth> health,
                                        Set<String> maintenance, Rules rules) {
        List<Repair> out = new ArrayList<>();
        ReplicationNodeState w = state(writer);
        for (NodeHealth h : health) {
            if (h == writer || !reachable(h)) {
                continue;
            }
            ReplicationNodeState s = state(h);
            String name = h.node().name();
            if (!s.readOnly()) {
                out.add(new Fence(h.node(), name + " is writable but " + writer.node().name() + " is the primary"));
                continue;
            }
            if (follows(h, writer)) {
                Source src = s.defaultSource().orElseThrow();
                if (src.lastIoError().contains("1236")) {
                    out.add(new LeaveOut(h.node(), name + " cannot replicate from " + writer.node().name() + ": " + src.lastIoError()));
                }
                continue;
            }
            if (maintenance.contains(name)) {
                out.add(new LeaveOut(h.node(), name + " is in maintenance and does not replicate from " + writer.node().name()));
                continue;
            }
            String where = s.defaultSource().map(x -> "replicates from " + x.sourceAddress()).orElse("replicates from nobody");
            String errant = Divergence.errant(s.gtidBinlogPos().union(s.gtidCurrentPos()), writer.node().name(), w,
                    promotion.orElse(null));
            if (errant != null) {
                out.add(new LeaveOut(h.node(), name + " " + where + " and holds transactions the primary "
                        + writer.node().name() + " lacks (" + errant + "); left out: rebuild it from a backup of the primary"));
            } else if (!rules.rejoinAuto()) {
                out.add(new LeaveOut(h.node(), name + " " + where + "; rejoin is off"));
            } else {
                out.add(new Rejoin(h.node(), name + " " + where + " and holds nothing the primary lacks; making it a replica of "
                        + writer.node().name()));
            }
        }
        return out;
    }

    /**
     * True if {@code replica} replicates from {@code source}: by the address in Baton's config, or by the
     * {@code server_id} the source answered with last.
     */
    public static boolean follows(NodeHealth replica, NodeHealth source) {
        ReplicationNodeState r = state(replica);
        return r != null && r.replicatesFrom(source.node().address(), serverId(source));
    }

    /** The {@code server_id} a node answered with last, 0 if it never answered. */
    public static long serverId(NodeHealth h) {
        return h.lastAnswer() instanceof ReplicationNodeState s ? s.serverId() : 0;
    }

    private static String names(List<NodeHealth> nodes) {
        return nodes.stream().map(h -> h.node().name()).collect(Collectors.joining(", "));
    }

    private static Optional<NodeHealth> byName(List<NodeHealth> health, String name) {
        return health.stream().filter(h -> h.node().name().equals(name)).findFirst();
    }

    static ReplicationNodeState state(NodeHealth h) {
        return h.last() instanceof ReplicationNodeState s ? s : null;
    }

    private static boolean reachable(NodeHealth h) {
        ReplicationNodeState s = state(h);
        return s != null && s.reachable();
    }
}
