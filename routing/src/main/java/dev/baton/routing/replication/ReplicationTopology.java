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
import dev.baton.routing.core.MonitorThreads;
import dev.baton.routing.core.NodeHealth;
import dev.baton.routing.core.RecordStoreException;
import dev.baton.routing.record.SqlWriterRecordStore;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * A MariaDB primary with GTID replicas, one of which Baton routes every client to: wiring only. The nodes'
 * checks ({@link ReplicationActions#check}, which also read the books each node holds) feed the topology-neutral
 * {@link HealthCheckHousekeeper}; {@link ReplicationKeeper} decides by {@link ReplicationElection} and acts through
 * {@link ReplicationActions}; planned switchovers keep their books ({@link DrainBook}) on the primary. Threads: one
 * per node for checks, one timer, one decision thread, one for the books.
 */
public final class ReplicationTopology implements ClusterTopology {
    private static final int ALIVE_SECONDS = 30;

    private final ClusterSpec spec;
    private final ClusterEvents events;
    private final HealthCheckHousekeeper housekeeper;
    private final ReplicationKeeper keeper;
    private final DrainBook book;
    private final MonitorThreads threads;

    public ReplicationTopology(ClusterSpec spec) {
        this(spec, Clock.systemUTC());
    }

    public ReplicationTopology(ClusterSpec spec, Clock clock) {
        this(require(spec), clock, new SqlReplicationActions(spec, clock), new SqlWriterRecordStore(spec.schema(),
                dev.baton.routing.core.MonitorConnector.of(spec)::connect, spec.monitor().timeout()));
    }

    ReplicationTopology(ClusterSpec spec, Clock clock, ReplicationActions actions, DrainBook book) {
        require(spec);
        this.spec = spec;
        this.book = book;
        ClusterSpec.MonitorSettings settings = spec.monitor();
        this.threads = new MonitorThreads(spec.nodes());
        this.events = new ClusterEvents(clock);
        ReplicationKeeper[] keeperRef = new ReplicationKeeper[1];
        this.housekeeper = new HealthCheckHousekeeper(spec.nodes(), actions::check, threads::checker, threads.scheduler(),
                threads.decider(), settings, events, (before, after) -> { }, () -> keeperRef[0].decide());
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
        // The books are written on the primary only, and only while this instance routes to it: a write sent to a
        // primary that froze would land when it resumes, after another node took over, as a transaction the new
        // primary lacks.
        threads.startHeartbeats(events, () -> {
            if (!(keeper.current() instanceof WriterChoice.Writer w)) {
                throw new IllegalStateException("no primary to mark this instance alive on");
            }
            try {
                book.heartbeat(w.node(), spec.instanceName());
            } catch (RecordStoreException e) {
                throw new IllegalStateException("cannot mark this instance alive on " + w.node().name() + ": " + e.getMessage());
            }
        });
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
        return threads.onDecisionThread(what, timeout, change);
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
    public void sessionsEvent(String writer, String description) {
        events.sessions(writer, description);
    }

    @Override
    public void close() {
        housekeeper.stop();
        threads.close(() -> onPrimary("leave the list of running instances", via -> {
            book.forget(via, spec.instanceName());
            return null;
        }), spec.monitor().timeout());
    }
}
