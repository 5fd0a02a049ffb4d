package dev.baton.routing.galera;

import dev.baton.routing.ClusterEvent;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.ClusterTopology;
import dev.baton.routing.DrainReport;
import dev.baton.routing.Node;
import dev.baton.routing.NodeReport;
import dev.baton.routing.WriterChange;
import dev.baton.routing.WriterChoice;
import dev.baton.routing.core.ClusterEvents;
import dev.baton.routing.core.HealthCheckHousekeeper;
import dev.baton.routing.core.NodeHealth;
import dev.baton.routing.core.RecordStoreException;
import dev.baton.routing.core.Scheduler;
import dev.baton.routing.core.WriterElection;
import dev.baton.routing.core.WriterKeeper;
import dev.baton.routing.record.SqlWriterRecordStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A Galera / Percona XtraDB cluster with one elected writer that every Baton instance agrees on. Wiring only:
 * Galera's probe ({@link GaleraProbe}), view check ({@link GaleraViewCheck}) and record table
 * ({@link SqlWriterRecordStore}) plugged into the topology-neutral core ({@link HealthCheckHousekeeper},
 * {@link WriterKeeper}), on real threads: one per node for checks, one timer, one decision thread.
 */
public final class GaleraTopology implements ClusterTopology {
    private static final Logger log = LoggerFactory.getLogger(GaleraTopology.class);

    private final ClusterSpec spec;
    private final ClusterEvents events;
    private final HealthCheckHousekeeper housekeeper;
    private final WriterKeeper keeper;
    private final Map<String, ExecutorService> checkers = new LinkedHashMap<>();
    private final ScheduledExecutorService timer;
    private final ExecutorService decider;
    /**
     * Heartbeats and leaving the list of instances: writes that may wait on a hung node for seconds, so never on
     * the decision thread, which must keep reading the record and following the writer meanwhile.
     */
    private final ExecutorService bookkeeper;
    private final Set<String> warnedView = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final SqlWriterRecordStore store;
    /** How often this instance marks itself alive in the cluster, and how long a mark counts. */
    private static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(5);
    private static final int ALIVE_SECONDS = 30;

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
        ClusterSpec.MonitorSettings settings = spec.monitor();
        GaleraProbe probe = new GaleraProbe(settings, clock);
        for (Node node : spec.nodes()) {
            checkers.put(node.name(), Executors.newSingleThreadExecutor(named("baton-check-" + node.name())));
        }
        this.timer = Executors.newSingleThreadScheduledExecutor(named("baton-check-timer"));
        this.decider = Executors.newSingleThreadExecutor(named("baton-election"));
        this.bookkeeper = Executors.newSingleThreadExecutor(named("baton-bookkeeping"));
        this.events = new ClusterEvents(clock);
        this.store = new SqlWriterRecordStore(spec.schema(), probe::connect, settings.timeout());
        WriterKeeper[] keeperRef = new WriterKeeper[1];
        this.housekeeper = new HealthCheckHousekeeper(spec.nodes(), probe, node -> checkers.get(node.name()),
                Scheduler.of(timer), decider, settings, events, this::warnIfViewUnusable, () -> keeperRef[0].decide());
        this.keeper = new WriterKeeper(store, housekeeper::snapshot,
                new WriterElection.Rules(spec.failback(), settings.recordMaxAge(), new GaleraViewCheck()),
                events, clock, spec.instanceName());
        keeperRef[0] = keeper;
    }

    private void warnIfViewUnusable(NodeHealth before, NodeHealth after) {
        if (after.last() instanceof GaleraNodeState state && state.reachable()
                && !GaleraViewCheck.comparable(after.node(), state) && warnedView.add(after.node().name())) {
            log.warn("node {} shows no usable membership view (mysql.wsrep_cluster_members unreadable: grant "
                    + "SELECT on it to the monitor user; wsrep_incoming_addresses {} lacks its configured address "
                    + "{}): Baton cannot confirm a lost writer through the cluster's view, and will refuse clients "
                    + "rather than fail over when a writer is unreachable", after.node().name(), state.incomingAddresses(),
                    after.node().address());
        }
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + (n.incrementAndGet() == 1 ? "" : "-" + n.get()));
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
        housekeeper.start();
        // Tried every second until it succeeds (as soon as a node answers), then every HEARTBEAT_EVERY; and at
        // once when this instance first finds a writer, before it routes any client to it.
        events.onWriterChange(change -> {
            if (lastHeartbeat == Long.MIN_VALUE && change.current() instanceof WriterChoice.Writer) {
                bookkeeper.execute(this::heartbeat);
            }
        });
        timer.scheduleWithFixedDelay(() -> bookkeeper.execute(this::heartbeat), 0, 1, TimeUnit.SECONDS);
    }

    private volatile long lastHeartbeat = Long.MIN_VALUE; // System.nanoTime() of the last good one; written by the bookkeeper

    /** Marks this instance alive in the cluster, so a switchover started elsewhere knows to wait for its drain. */
    private void heartbeat() {
        if (lastHeartbeat != Long.MIN_VALUE && System.nanoTime() - lastHeartbeat < HEARTBEAT_EVERY.toNanos()) {
            return;
        }
        try {
            onAnyNode("mark this instance alive", via -> {
                store.heartbeat(via, spec.instanceName());
                return null;
            });
            lastHeartbeat = System.nanoTime();
        } catch (RuntimeException e) {
            log.debug("{}", e.getMessage());
        }
    }

    @Override
    public WriterChoice currentWriter() {
        return keeper.current();
    }

    @Override
    public void onWriterChange(Consumer<WriterChange> listener) {
        events.onWriterChange(listener);
    }

    @Override
    public WriterChoice.Writer beginHandover(Node target, Duration drain, String requestedBy, Duration timeout) {
        return onDecisionThread("the start of the switchover", timeout, () -> keeper.beginHandover(target, drain, requestedBy));
    }

    @Override
    public WriterChoice.Writer completeHandover(long handoverEpoch, String requestedBy, Duration timeout) {
        return onDecisionThread("the end of the switchover", timeout, () -> keeper.completeHandover(handoverEpoch, requestedBy));
    }

    @Override
    public void reportDrain(DrainReport report) {
        onAnyNode("record this instance's drain report", via -> {
            store.reportDrain(via, report);
            return null;
        });
    }

    @Override
    public List<DrainReport> drainReports(long epoch) {
        return onAnyNode("read the drain reports", via -> store.drainReports(via, epoch));
    }

    @Override
    public List<String> liveInstances() {
        return onAnyNode("read which instances are running", via -> store.liveInstances(via, ALIVE_SECONDS));
    }

    @FunctionalInterface
    private interface StoreWork<T> {
        T run(Node via) throws RecordStoreException;
    }

    /** Runs {@code work} through the first node that answers, in the order the record is read ({@link WriterKeeper#byPreference}). */
    private <T> T onAnyNode(String what, StoreWork<T> work) {
        List<NodeHealth> nodes = keeper.byPreference(housekeeper.snapshot());
        String failure = "no healthy node";
        for (NodeHealth h : nodes) {
            try {
                try {
                    return work.run(h.node());
                } catch (RecordStoreException e) {
                    if (!e.missing()) {
                        throw e;
                    }
                    store.ensure(h.node()); // the tables of an older Baton, or dropped: create them and try once more
                    return work.run(h.node());
                }
            } catch (RecordStoreException e) {
                failure = h.node().name() + ": " + e.getMessage();
            }
        }
        throw new IllegalStateException("cannot " + what + " (" + failure + ")");
    }

    @Override
    public void setMaintenance(Node node, boolean on, String requestedBy, Duration timeout) {
        onDecisionThread("the maintenance change", timeout, () -> {
            keeper.setMaintenance(node, on, requestedBy);
            return null;
        });
    }

    /**
     * Runs an operator's change on the decision thread, so it never races the automatic decisions, and waits for
     * it; its failure comes back as the exception it threw.
     */
    private <T> T onDecisionThread(String what, Duration timeout, Callable<T> change) {
        Future<T> done = decider.submit(change);
        try {
            return done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            done.cancel(true);
            throw new IllegalStateException(what + " did not complete within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    @Override
    public Set<String> maintenance() {
        return keeper.maintenance();
    }

    @Override
    public List<NodeReport> nodeReports() {
        List<NodeReport> reports = new ArrayList<>();
        for (NodeHealth h : housekeeper.snapshot()) {
            GaleraNodeState last = h.last() instanceof GaleraNodeState g ? g : null;
            reports.add(new NodeReport(h.node().name(), h.state().electable(),
                    h.state().electable() ? null : h.state().describe(),
                    last == null ? 0 : last.flowControlPaused(), last == null ? 0 : last.localRecvQueue(),
                    last == null ? 0 : last.maxConnections(), last == null ? Map.of() : last.settings(),
                    last == null ? null : last.checkedAt()));
        }
        return reports;
    }

    /** Health of every node as last seen, in config order. */
    public List<NodeHealth> health() {
        return housekeeper.snapshot();
    }

    @Override
    public List<ClusterEvent> events() {
        return events.events();
    }

    @Override
    public void close() {
        housekeeper.stop();
        try {
            // A stopping instance takes itself off the list, so a switchover does not wait for its drain report.
            bookkeeper.submit(() -> onAnyNode("leave the list of running instances", via -> {
                store.forget(via, spec.instanceName());
                return null;
            })).get(2, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            log.debug("could not leave the list of running instances: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.debug("{}", e.getMessage());
        }
        timer.shutdownNow();
        decider.shutdownNow();
        bookkeeper.shutdownNow();
        checkers.values().forEach(ExecutorService::shutdownNow);
        for (ExecutorService checker : checkers.values()) {
            try {
                checker.awaitTermination(spec.monitor().timeout().toMillis() * 2 + 1000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
