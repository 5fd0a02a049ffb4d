package dev.baton.routing.replication;

import dev.baton.routing.ClusterEvent;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.ClusterTopology;
import dev.baton.routing.DrainReport;
import dev.baton.routing.Node;
import dev.baton.routing.NodeReport;
import dev.baton.routing.WriterChange;
import dev.baton.routing.WriterChoice;
import dev.baton.routing.core.ClusterEvents;
import dev.baton.routing.core.DrainBook;
import dev.baton.routing.core.HealthCheckHousekeeper;
import dev.baton.routing.core.NodeHealth;
import dev.baton.routing.core.RecordStoreException;
import dev.baton.routing.core.Scheduler;
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
 * A MariaDB primary with GTID replicas, one of which Baton routes every client to: wiring only. The nodes'
 * checks ({@link ReplicationActions#check}, which also read the books each node holds) feed the topology-neutral
 * {@link HealthCheckHousekeeper}; {@link ReplicationKeeper} decides by {@link ReplicationElection} and acts through
 * {@link ReplicationActions}; planned switchovers keep their books ({@link DrainBook}) on the primary. Threads: one
 * per node for checks, one timer, one decision thread, one for the books.
 */
public final class ReplicationTopology implements ClusterTopology {
    private static final Logger log = LoggerFactory.getLogger(ReplicationTopology.class);
    private static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(5);
    private static final int ALIVE_SECONDS = 30;

    private final ClusterSpec spec;
    private final ClusterEvents events;
    private final HealthCheckHousekeeper housekeeper;
    private final ReplicationKeeper keeper;
    private final DrainBook book;
    private final Map<String, ExecutorService> checkers = new LinkedHashMap<>();
    private final ScheduledExecutorService timer;
    private final ExecutorService decider;
    private final ExecutorService bookkeeper;
    private volatile long lastHeartbeat = Long.MIN_VALUE;

    public ReplicationTopology(ClusterSpec spec) {
        this(spec, Clock.systemUTC());
    }

    public ReplicationTopology(ClusterSpec spec, Clock clock) {
        this(require(spec), clock, new SqlReplicationActions(spec, clock), new SqlWriterRecordStore(spec.schema(),
                new dev.baton.routing.core.MonitorConnector(spec.monitor())::connect, spec.monitor().timeout()));
    }

    ReplicationTopology(ClusterSpec spec, Clock clock, ReplicationActions actions, DrainBook book) {
        require(spec);
        this.spec = spec;
        this.book = book;
        ClusterSpec.MonitorSettings settings = spec.monitor();
        for (Node node : spec.nodes()) {
            checkers.put(node.name(), Executors.newSingleThreadExecutor(named("baton-check-" + node.name())));
        }
        this.timer = Executors.newSingleThreadScheduledExecutor(named("baton-check-timer"));
        this.decider = Executors.newSingleThreadExecutor(named("baton-election"));
        this.bookkeeper = Executors.newSingleThreadExecutor(named("baton-bookkeeping"));
        this.events = new ClusterEvents(clock);
        ReplicationKeeper[] keeperRef = new ReplicationKeeper[1];
        this.housekeeper = new HealthCheckHousekeeper(spec.nodes(), actions::check, node -> checkers.get(node.name()),
                Scheduler.of(timer), decider, settings, events, (before, after) -> { }, () -> keeperRef[0].decide());
        ClusterSpec.ReplicationSettings repl = spec.replication();
        this.keeper = new ReplicationKeeper(spec.nodes(), actions, housekeeper::snapshot,
                new ReplicationElection.Rules(repl.failoverAuto(), repl.rejoinAuto(), settings.recordMaxAge()),
                events, clock, spec.instanceName());
        keeperRef[0] = keeper;
    }

    private static ClusterSpec require(ClusterSpec spec) {
        if (spec.monitor() == null) {
            throw new IllegalArgumentException("cluster type 'primary-replica' needs a monitor section (user, password)");
        }
        if (spec.replication() == null) {
            throw new IllegalArgumentException("cluster type 'primary-replica' needs a replication section (user, password)");
        }
        if (spec.nodes().size() < 2) {
            throw new IllegalArgumentException("cluster type 'primary-replica' needs at least two nodes");
        }
        return spec;
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
        return "primary-replica";
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
        events.onWriterChange(change -> {
            if (lastHeartbeat == Long.MIN_VALUE && change.current() instanceof WriterChoice.Writer) {
                bookkeeper.execute(this::heartbeat);
            }
        });
        timer.scheduleWithFixedDelay(() -> bookkeeper.execute(this::heartbeat), 0, 1, TimeUnit.SECONDS);
    }

    /** Marks this instance alive on the primary, so a switchover started elsewhere knows to wait for its drain. */
    private void heartbeat() {
        if (lastHeartbeat != Long.MIN_VALUE && System.nanoTime() - lastHeartbeat < HEARTBEAT_EVERY.toNanos()) {
            return;
        }
        if (!(keeper.current() instanceof WriterChoice.Writer)) {
            return; // the books are written on the primary only, and there is none to route to now
        }
        try {
            onPrimary("mark this instance alive", via -> {
                book.heartbeat(via, spec.instanceName());
                return null;
            });
            lastHeartbeat = System.nanoTime();
        } catch (RuntimeException e) {
            log.debug("{}", e.getMessage());
        }
    }

    @FunctionalInterface
    private interface BookWork<T> {
        T run(Node via) throws RecordStoreException;
    }

    /** Runs {@code work} on the recorded primary, the only node Baton writes to. */
    private <T> T onPrimary(String what, BookWork<T> work) {
        Node primary = keeper.recordedPrimary()
                .orElseThrow(() -> new IllegalStateException("cannot " + what + ": no primary is recorded yet"));
        try {
            return work.run(primary);
        } catch (RecordStoreException e) {
            throw new IllegalStateException("cannot " + what + " on " + primary.name() + ": " + e.getMessage());
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
        // The target's catch-up may take most of the time given; the rest is for the steps around it.
        Duration catchUp = timeout.minus(spec.monitor().timeout().multipliedBy(4));
        return onDecisionThread("the end of the switchover", timeout,
                () -> keeper.completeHandover(handoverEpoch, requestedBy, catchUp.isNegative() ? Duration.ofSeconds(1) : catchUp));
    }

    @Override
    public WriterChoice.Writer takeOver(Node node, String requestedBy, Duration timeout) {
        return onDecisionThread("the promotion", timeout, () -> keeper.takeOver(node, requestedBy));
    }

    @Override
    public void reportDrain(DrainReport report) {
        onPrimary("record this instance's drain report", via -> {
            book.reportDrain(via, report);
            return null;
        });
    }

    @Override
    public List<DrainReport> drainReports(long epoch) {
        return onPrimary("read the drain reports", via -> book.drainReports(via, epoch));
    }

    @Override
    public List<String> liveInstances() {
        return onPrimary("read which instances are running", via -> book.liveInstances(via, ALIVE_SECONDS));
    }

    @Override
    public void setMaintenance(Node node, boolean on, String requestedBy, Duration timeout) {
        onDecisionThread("the maintenance change", timeout, () -> {
            keeper.setMaintenance(node, on, requestedBy);
            return null;
        });
    }

    @Override
    public Set<String> maintenance() {
        return keeper.maintenance();
    }

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
    public List<NodeReport> nodeReports() {
        Map<String, String> leftOut = keeper.leftOut();
        List<NodeReport> reports = new ArrayList<>();
        for (NodeHealth h : housekeeper.snapshot()) {
            ReplicationNodeState last = h.last() instanceof ReplicationNodeState s ? s : null;
            String out = leftOut.get(h.node().name());
            boolean up = h.state().electable() && out == null;
            String reason = out != null ? "left out: " + out : h.state().electable() ? null : h.state().describe();
            reports.add(NodeReport.ofReplication(h.node().name(), up, reason, last, out));
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
            bookkeeper.submit(() -> onPrimary("leave the list of running instances", via -> {
                book.forget(via, spec.instanceName());
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
