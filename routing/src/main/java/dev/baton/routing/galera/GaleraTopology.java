package dev.baton.routing.galera;

import dev.baton.routing.ClusterEvent;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.ClusterTopology;
import dev.baton.routing.Node;
import dev.baton.routing.WriterChange;
import dev.baton.routing.WriterChoice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A Galera / Percona XtraDB cluster with one elected writer that every Baton instance agrees on. Each node is
 * checked by its own thread (a hung node delays nobody else; checks never overlap); after every check, one
 * decision thread reads the shared {@link WriterRecord}, applies {@link WriterElection}, proposes a change by
 * compare-and-set when the rules say so, and publishes the result to {@link #currentWriter()}.
 */
public final class GaleraTopology implements ClusterTopology {
    private static final Logger log = LoggerFactory.getLogger(GaleraTopology.class);
    private static final int EVENTS_KEPT = 200;
    /** Long enough to ride out a view change, during which Galera holds writes. */
    private static final Duration RECORD_WRITE_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(5);

    private final ClusterSpec spec;
    private final ClusterSpec.MonitorSettings settings;
    private final Clock clock;
    private final GaleraProbe probe;
    private final WriterRecord record;
    private final Map<String, NodeHealth> health = new ConcurrentHashMap<>();
    private final List<Consumer<WriterChange>> listeners = new CopyOnWriteArrayList<>();
    private final Deque<ClusterEvent> events = new ArrayDeque<>();
    private final AtomicBoolean decisionPending = new AtomicBoolean();
    private final java.util.Set<String> warnedAddress = ConcurrentHashMap.newKeySet();
    private final ExecutorService checkers;
    private final ExecutorService decider;
    private volatile boolean running;
    private volatile WriterChoice current = new WriterChoice.NoWriter("Baton is starting: first health checks not done yet");
    private WriterRecord.Stored lastStored;
    private volatile boolean tableReady;
    private volatile java.util.Set<String> maintenance = java.util.Set.of();
    private boolean proposalLost;
    private String lastProposalFailure;

    public GaleraTopology(ClusterSpec spec) {
        this(spec, Clock.systemUTC());
    }

    public GaleraTopology(ClusterSpec spec, Clock clock) {
        if (spec.monitor() == null) {
            throw new IllegalArgumentException("cluster type 'galera' needs a monitor section (user, password)");
        }
        if (spec.nodes().isEmpty()) {
            throw new IllegalArgumentException("cluster type 'galera' needs at least one node");
        }
        this.spec = spec;
        this.settings = spec.monitor();
        this.clock = clock;
        this.probe = new GaleraProbe(settings, clock);
        this.record = new WriterRecord(spec.schema());
        for (Node node : spec.nodes()) {
            health.put(node.name(), NodeHealth.initial(node));
        }
        this.checkers = Executors.newFixedThreadPool(spec.nodes().size(), named("baton-check"));
        this.decider = Executors.newSingleThreadExecutor(named("baton-election"));
    }

    private static java.util.concurrent.ThreadFactory named(String prefix) {
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public String type() {
        return "galera";
    }

    @Override
    public List<Node> nodes() {
        return spec.nodes();
    }

    @Override
    public Duration connectWait() {
        return spec.connectWait();
    }

    @Override
    public void start() {
        running = true;
        for (Node node : spec.nodes()) {
            checkers.execute(() -> checkLoop(node));
        }
    }

    /** One node's checks, one after the other, forever; a check that throws is logged and the loop goes on. */
    private void checkLoop(Node node) {
        while (running) {
            try {
                GaleraNodeState state = probe.check(node);
                NodeHealth next = health.get(node.name()).after(state, settings.fall(), settings.rise());
                health.put(node.name(), next);
                if (state.reachable() && !WriterElection.comparable(next) && warnedAddress.add(node.name())) {
                    log.warn("node {} shows no usable membership view (mysql.wsrep_cluster_members unreadable: grant "
                            + "SELECT on it to the monitor user; wsrep_incoming_addresses {} lacks its configured address "
                            + "{}): Baton cannot confirm a lost writer through the cluster's view, and will refuse clients "
                            + "rather than fail over when a writer is unreachable", node.name(), state.incomingAddresses(),
                            node.address());
                }
                if (next.changed()) {
                    String what = "node " + node.name() + " is " + (next.up() ? "up (Synced, Primary, writable)" : "down: " + next.reason());
                    log.info(what);
                    record(new ClusterEvent(clock.instant(), "node", node.name(), what, "monitor"));
                }
                requestDecision();
            } catch (RuntimeException e) {
                log.warn("health check of {} failed unexpectedly; checking on", node.name(), e);
            }
            sleep(settings.interval());
        }
    }

    private void requestDecision() {
        if (decisionPending.compareAndSet(false, true)) {
            try {
                decider.execute(() -> {
                    decisionPending.set(false);
                    try {
                        decide();
                    } catch (RuntimeException e) {
                        log.warn("writer decision failed; trying again after the next check", e);
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                decisionPending.set(false); // closing
            }
        }
    }

    /** Runs on the decision thread only. */
    private void decide() {
        decide(true);
    }

    private void decide(boolean mayRetry) {
        List<NodeHealth> snapshot = snapshot();
        WriterRecord.Stored stored = readStored(snapshot);
        WriterElection.Decision decision = WriterElection.decide(stored, snapshot, spec.failback(), maintenance);
        heartbeat();
        if (decision instanceof WriterElection.Follow follow) {
            publish(new WriterChoice.Writer(follow.writer(), follow.epoch(), handoverOf(stored)),
                    stored.reason() + " (recorded by " + stored.changedBy() + ")", stored.changedBy());
        } else if (decision instanceof WriterElection.Propose propose) {
            if (propose(propose, snapshot)) {
                long epoch = propose.expectedEpoch() + 1;
                lastStored = new WriterRecord.Stored(propose.candidate().name(), epoch, spec.instanceName(), propose.reason());
                publish(new WriterChoice.Writer(propose.candidate(), epoch), propose.reason(), spec.instanceName());
            } else if (mayRetry && proposalLost) {
                decide(false); // another instance's change won: read it now and follow it, without a gap
            } else if (stored == null || snapshot.stream().noneMatch(h -> h.up() && h.node().name().equals(stored.writer()))) {
                // The recorded writer is gone and this proposal did not take: hold clients until the record settles.
                publish(new WriterChoice.NoWriter(propose.reason() + "; election in progress"), propose.reason(), "monitor");
            }
        } else {
            publish(new WriterChoice.NoWriter(((WriterElection.Refuse) decision).reason()),
                    ((WriterElection.Refuse) decision).reason(), "monitor");
        }
    }

    /** The hand-over a record carries, with its deadline on this instance's clock; null if none. */
    private WriterChoice.Handover handoverOf(WriterRecord.Stored stored) {
        if (stored == null || stored.handoverTo() == null) {
            return null;
        }
        Node to = spec.nodes().stream().filter(n -> n.name().equals(stored.handoverTo())).findFirst().orElse(null);
        if (to == null) {
            return null; // a node this instance does not know: the election replaces such a record
        }
        return new WriterChoice.Handover(to, clock.instant().plusMillis(stored.handoverRemainingMs()), stored.changedBy());
    }

    private java.time.Instant lastHeartbeat = java.time.Instant.EPOCH;

    /** Tells the cluster this instance is alive, every few seconds, so a switchover knows whose drain to wait for. */
    private void heartbeat() {
        java.time.Instant now = clock.instant();
        if (Duration.between(lastHeartbeat, now).compareTo(HEARTBEAT_EVERY) < 0) {
            return;
        }
        for (NodeHealth h : byPreference(snapshot())) {
            try (Connection c = probe.connect(h.node())) {
                ensureTable(c);
                record.heartbeat(c, spec.instanceName());
                lastHeartbeat = now;
                return;
            } catch (SQLException e) {
                log.debug("cannot record this instance's heartbeat on {}: {}", h.node().name(), e.getMessage());
            }
        }
    }

    private List<NodeHealth> snapshot() {
        List<NodeHealth> list = new ArrayList<>();
        for (Node node : spec.nodes()) {
            list.add(health.get(node.name()));
        }
        return list;
    }

    /** Reads the record from a healthy node (the writer first); keeps the last value when none answers. */
    private WriterRecord.Stored readStored(List<NodeHealth> snapshot) {
        for (NodeHealth h : byPreference(snapshot)) {
            try (Connection c = probe.connect(h.node())) {
                ensureTable(c);
                lastStored = record.read(c);
                maintenance = record.maintenance(c);
                return lastStored;
            } catch (SQLException e) {
                log.debug("cannot read the writer record from {}: {}", h.node().name(), e.getMessage());
            }
        }
        return lastStored;
    }

    private boolean propose(WriterElection.Propose propose, List<NodeHealth> snapshot) {
        return propose(propose, snapshot, null);
    }

    private boolean propose(WriterElection.Propose propose, List<NodeHealth> snapshot, WriterRecord.PendingHandover handover) {
        proposalLost = false;
        for (NodeHealth h : byPreference(snapshot)) {
            try (Connection c = probe.connect(h.node(), RECORD_WRITE_TIMEOUT)) {
                boolean won = record.compareAndSet(c, propose.expectedEpoch(), propose.candidate().name(),
                        spec.instanceName(), propose.reason(), handover);
                if (!won) {
                    proposalLost = true;
                    log.info("proposal of {} as writer did not apply: the record changed since it was read; following the record",
                            propose.candidate().name());
                }
                return won;
            } catch (SQLException e) {
                String failure = "cannot propose " + propose.candidate().name() + " on " + h.node().name() + ": " + e.getMessage();
                if (!failure.equals(lastProposalFailure)) {
                    log.info("{}; trying again after the next check", failure);
                    lastProposalFailure = failure;
                }
            }
        }
        return false;
    }

    private List<NodeHealth> byPreference(List<NodeHealth> snapshot) {
        String writer = current instanceof WriterChoice.Writer w ? w.node().name() : null;
        return snapshot.stream().filter(NodeHealth::up)
                .sorted(Comparator.comparing((NodeHealth h) -> !h.node().name().equals(writer))
                        .thenComparingInt(h -> h.node().priority()))
                .toList();
    }

    private void publish(WriterChoice next, String reason, String by) {
        WriterChoice previous = current;
        if (sameRoute(previous, next)) {
            if (next instanceof WriterChoice.NoWriter) {
                current = next; // a fresher reason for refused clients, not a change worth a log line
            }
            return;
        }
        current = next;
        WriterChange change = new WriterChange(clock.instant(), previous, next, reason, by);
        String what = next instanceof WriterChoice.Writer w
                ? "writer is now " + w.node() + " (epoch " + w.epoch() + "): " + reason
                : "no writer: " + ((WriterChoice.NoWriter) next).reason();
        log.info(what);
        record(new ClusterEvent(change.at(), "writer",
                next instanceof WriterChoice.Writer w ? w.node().name() : "none", what, by));
        for (Consumer<WriterChange> listener : listeners) {
            try {
                listener.accept(change);
            } catch (RuntimeException e) {
                log.warn("writer change listener failed", e);
            }
        }
    }

    private static boolean sameRoute(WriterChoice a, WriterChoice b) {
        if (a instanceof WriterChoice.Writer x && b instanceof WriterChoice.Writer y) {
            return x.node().equals(y.node()) && x.epoch() == y.epoch();
        }
        return a instanceof WriterChoice.NoWriter && b instanceof WriterChoice.NoWriter;
    }

    @Override
    public WriterChoice currentWriter() {
        return current;
    }

    @Override
    public void onWriterChange(Consumer<WriterChange> listener) {
        listeners.add(listener);
    }

    @Override
    public WriterChoice.Writer switchTo(Node target, String reason, String requestedBy, Duration timeout) {
        return onDecisionThread("the switchover", timeout, () -> {
            List<NodeHealth> snapshot = snapshot();
            NodeHealth h = snapshot.stream().filter(x -> x.node().equals(target)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown node '" + target.name() + "'"));
            if (!h.up()) {
                throw new IllegalStateException("node " + target.name() + " is not healthy: " + h.reason());
            }
            if (maintenance.contains(target.name())) {
                throw new IllegalStateException("node " + target.name() + " is in maintenance");
            }
            WriterRecord.Stored stored = readStored(snapshot);
            if (stored != null && stored.writer().equals(target.name())) {
                return new WriterChoice.Writer(target, stored.epoch());
            }
            long expected = stored == null ? 0 : stored.epoch();
            String why = "switchover to " + target.name() + (reason == null || reason.isBlank() ? "" : ": " + reason);
            if (!propose(new WriterElection.Propose(target, expected, why), snapshot)) {
                throw new IllegalStateException("the writer record changed meanwhile or no node accepted the change; try again");
            }
            WriterChoice.Writer now = new WriterChoice.Writer(target, expected + 1);
            lastStored = new WriterRecord.Stored(target.name(), expected + 1, spec.instanceName(), why);
            publish(now, why, requestedBy);
            return now;
        });
    }

    @Override
    public WriterChoice.Writer beginHandover(Node target, Duration drain, String requestedBy, Duration timeout) {
        return onDecisionThread("the start of the switchover", timeout, () -> {
            List<NodeHealth> snapshot = snapshot();
            NodeHealth h = snapshot.stream().filter(x -> x.node().equals(target)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown node '" + target.name() + "'"));
            if (!h.up()) {
                throw new IllegalStateException("node " + target.name() + " is not healthy: " + h.reason());
            }
            if (maintenance.contains(target.name())) {
                throw new IllegalStateException("node " + target.name() + " is in maintenance");
            }
            WriterRecord.Stored stored = readStored(snapshot);
            if (stored == null || !(current instanceof WriterChoice.Writer w) || !w.node().name().equals(stored.writer())) {
                throw new IllegalStateException("there is no writer to hand over from: " + describe(current));
            }
            if (stored.writer().equals(target.name())) {
                throw new IllegalStateException(target.name() + " is already the writer");
            }
            if (stored.handoverTo() != null) {
                throw new IllegalStateException("a switchover to " + stored.handoverTo() + " started by "
                        + stored.changedBy() + " is already draining");
            }
            String why = "switchover to " + target.name() + " requested by " + requestedBy + ": draining "
                    + stored.writer() + " for up to " + drain.toMillis() + " ms";
            Node writer = w.node();
            WriterElection.Propose keep = new WriterElection.Propose(writer, stored.epoch(), why);
            if (!propose(keep, snapshot, new WriterRecord.PendingHandover(target.name(), drain.toMillis()))) {
                throw new IllegalStateException("the writer record changed meanwhile or no node accepted the change; try again");
            }
            long epoch = stored.epoch() + 1;
            lastStored = new WriterRecord.Stored(writer.name(), epoch, spec.instanceName(), why, target.name(), drain.toMillis());
            WriterChoice.Writer now = new WriterChoice.Writer(writer, epoch,
                    new WriterChoice.Handover(target, clock.instant().plus(drain), spec.instanceName()));
            publish(now, why, requestedBy);
            return now;
        });
    }

    @Override
    public WriterChoice.Writer completeHandover(long handoverEpoch, String requestedBy, Duration timeout) {
        return onDecisionThread("the end of the switchover", timeout, () -> {
            List<NodeHealth> snapshot = snapshot();
            WriterRecord.Stored stored = readStored(snapshot);
            if (stored == null || stored.epoch() != handoverEpoch || stored.handoverTo() == null) {
                throw new IllegalStateException("the switchover's hand-over (epoch " + handoverEpoch + ") is no longer "
                        + "in the writer record: " + (stored == null ? "no record" : "writer " + stored.writer()
                        + " at epoch " + stored.epoch() + " (" + stored.reason() + ", by " + stored.changedBy() + ")"));
            }
            Node target = spec.nodes().stream().filter(n -> n.name().equals(stored.handoverTo())).findFirst().orElseThrow();
            NodeHealth h = snapshot.stream().filter(x -> x.node().equals(target)).findFirst().orElseThrow();
            boolean fit = h.up() && !maintenance.contains(target.name());
            Node next = fit ? target : spec.nodes().stream().filter(n -> n.name().equals(stored.writer())).findFirst().orElseThrow();
            String why = fit ? "switchover to " + target.name() + " requested by " + requestedBy
                    : "switchover to " + target.name() + " cancelled: " + (h.up() ? "it is in maintenance" : "it is not healthy: " + h.reason());
            if (!propose(new WriterElection.Propose(next, stored.epoch(), why), snapshot)) {
                throw new IllegalStateException("the writer record changed meanwhile or no node accepted the change; try again");
            }
            WriterChoice.Writer now = new WriterChoice.Writer(next, stored.epoch() + 1);
            lastStored = new WriterRecord.Stored(next.name(), stored.epoch() + 1, spec.instanceName(), why);
            publish(now, why, requestedBy);
            if (!fit) {
                throw new IllegalStateException(why + "; " + next.name() + " stays the writer");
            }
            return now;
        });
    }

    @Override
    public void reportDrain(dev.baton.routing.DrainReport report) {
        withAnyHealthyNode("record the drain report", c -> {
            record.reportDrain(c, report);
            return null;
        });
    }

    @Override
    public List<dev.baton.routing.DrainReport> drainReports(long epoch) {
        return withAnyHealthyNode("read the drain reports", c -> record.drainReports(c, epoch));
    }

    @Override
    public List<String> liveInstances() {
        return withAnyHealthyNode("read the live instances", record::liveInstances);
    }

    private interface SqlWork<T> {
        T run(Connection c) throws SQLException;
    }

    /** Runs {@code work} on the first healthy node that accepts it (the writer first); off the decision thread. */
    private <T> T withAnyHealthyNode(String what, SqlWork<T> work) {
        SQLException last = null;
        for (NodeHealth h : byPreference(snapshot())) {
            try (Connection c = probe.connect(h.node(), RECORD_WRITE_TIMEOUT)) {
                ensureTable(c);
                return work.run(c);
            } catch (SQLException e) {
                last = e;
            }
        }
        throw new IllegalStateException("cannot " + what + ": " + (last == null ? "no healthy node" : last.getMessage()));
    }

    private static String describe(WriterChoice choice) {
        return choice instanceof WriterChoice.NoWriter n ? n.reason() : choice.toString();
    }

    @Override
    public void setMaintenance(Node node, boolean on, String requestedBy, Duration timeout) {
        onDecisionThread("the maintenance change", timeout, () -> {
            for (NodeHealth h : byPreference(snapshot())) {
                try (Connection c = probe.connect(h.node(), RECORD_WRITE_TIMEOUT)) {
                    ensureTable(c);
                    record.setMaintenance(c, node.name(), on, requestedBy);
                    maintenance = record.maintenance(c);
                    String what = "node " + node.name() + (on ? " is in maintenance" : " is out of maintenance");
                    log.info("{} (requested by {})", what, requestedBy);
                    record(new ClusterEvent(clock.instant(), "node", node.name(), what, requestedBy));
                    return null;
                } catch (SQLException e) {
                    log.debug("cannot record maintenance on {}: {}", h.node().name(), e.getMessage());
                }
            }
            throw new IllegalStateException("no healthy node accepted the maintenance change");
        });
        requestDecision();
    }

    /**
     * Runs an operator's change on the decision thread, so it never races the automatic decisions, and waits for
     * it; its failure comes back as the exception it threw.
     */
    private <T> T onDecisionThread(String what, Duration timeout, java.util.concurrent.Callable<T> change) {
        java.util.concurrent.Future<T> done = decider.submit(change);
        try {
            return done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            done.cancel(true);
            throw new IllegalStateException(what + " did not complete within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    /** Creates Baton's tables once per start; runs on the decision thread only. */
    private void ensureTable(Connection c) throws SQLException {
        if (!tableReady) {
            record.ensureTable(c);
            tableReady = true;
        }
    }

    @Override
    public java.util.Set<String> maintenance() {
        return maintenance;
    }

    @Override
    public List<dev.baton.routing.NodeReport> nodeReports() {
        return snapshot().stream().map(h -> new dev.baton.routing.NodeReport(h.node().name(), h.up(), h.reason(),
                h.last() == null ? 0 : h.last().flowControlPaused(), h.last() == null ? 0 : h.last().localRecvQueue(),
                h.last() == null ? 0 : h.last().maxConnections(),
                h.last() == null ? java.util.Map.<String, String>of() : h.last().settings(),
                h.last() == null ? null : h.last().checkedAt())).toList();
    }

    /** Health of every node as last seen, in config order. */
    public List<NodeHealth> health() {
        return snapshot();
    }

    private void record(ClusterEvent event) {
        synchronized (events) {
            events.addLast(event);
            while (events.size() > EVENTS_KEPT) {
                events.removeFirst();
            }
        }
    }

    @Override
    public List<ClusterEvent> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    private void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    @Override
    public void close() {
        running = false;
        checkers.shutdownNow();
        decider.shutdownNow();
        try {
            checkers.awaitTermination(settings.timeout().toMillis() * 2 + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
