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
import dev.baton.routing.core.MonitorThreads;
import dev.baton.routing.core.NodeHealth;
import dev.baton.routing.core.RecordStoreException;
import dev.baton.routing.core.WriterElection;
import dev.baton.routing.core.WriterKeeper;
import dev.baton.routing.record.SqlWriterRecordStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * A Galera / Percona XtraDB cluster with one elected writer that every Baton instance agrees on. Wiring only:
 * Galera's probe ({@link GaleraProbe}), view check ({@link GaleraViewCheck}) and record table
 * ({@link SqlWriterRecordStore}) plugged into the topology-neutral core ({@link HealthCheckHousekeeper},
 * {@link WriterKeeper}), on the threads every monitored topology has ({@link MonitorThreads}).
 */
public final class GaleraTopology implements ClusterTopology {
    private static final Logger log = LoggerFactory.getLogger(GaleraTopology.class);

    private final ClusterSpec spec;
    private final ClusterEvents events;
    private final HealthCheckHousekeeper housekeeper;
    private final WriterKeeper keeper;
    private final MonitorThreads threads;
    private final Set<String> warnedView = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final SqlWriterRecordStore store;
    /** How long a mark of an instance alive counts. */
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
        GaleraProbe probe = new GaleraProbe(dev.baton.routing.core.MonitorConnector.of(spec), clock);
        this.threads = new MonitorThreads(spec.nodes());
        this.events = new ClusterEvents(clock);
        this.store = new SqlWriterRecordStore(spec.schema(), probe::connect, settings.timeout());
        WriterKeeper[] keeperRef = new WriterKeeper[1];
        this.housekeeper = new HealthCheckHousekeeper(spec.nodes(), probe, threads::checker, threads.scheduler(),
                threads.decider(), settings, events, this::warnIfViewUnusable, () -> keeperRef[0].decide());
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
        threads.startHeartbeats(events, () -> onAnyNode("mark this instance alive", via -> {
            store.heartbeat(via, spec.instanceName());
            return null;
        }));
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

    private <T> T onDecisionThread(String what, Duration timeout, Callable<T> change) {
        return threads.onDecisionThread(what, timeout, change);
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
    public void sessionsEvent(String writer, String description) {
        events.sessions(writer, description);
    }

    @Override
    public void close() {
        housekeeper.stop();
        // A stopping instance takes itself off the list, so a switchover does not wait for its drain report.
        threads.close(() -> onAnyNode("leave the list of running instances", via -> {
            store.forget(via, spec.instanceName());
            return null;
        }), spec.monitor().timeout());
    }
}
