package dev.baton.routing;

import dev.baton.routing.core.ClusterEvents;
import dev.baton.routing.core.HealthCheckHousekeeper;
import dev.baton.routing.core.MonitorThreads;
import dev.baton.routing.core.NodeHealth;
import dev.baton.routing.core.NodeProbe;
import dev.baton.routing.core.Scheduler;
import dev.baton.routing.single.SingleNodeProbe;
import dev.baton.routing.single.SingleNodeState;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * One server and nothing to elect: every session goes to it, whatever its health, since there is nowhere else.
 * With a monitor user it is checked like a node of the other kinds ({@link HealthCheckHousekeeper}, on
 * {@link MonitorThreads}), so that status, metrics, {@code baton check} and the max_connections warning show it
 * up or down with the reason; without one, nothing is checked and the node reports as not monitored.
 */
public final class SingleNodeTopology implements ClusterTopology {
    private static final Logger log = LoggerFactory.getLogger(SingleNodeTopology.class);

    private final Node node;
    private final WriterChoice.Writer writer;
    private final ClusterSpec.MonitorSettings settings;
    private final ClusterEvents events;
    private final HealthCheckHousekeeper housekeeper;
    private final MonitorThreads threads;
    private final List<Runnable> checkListeners = new CopyOnWriteArrayList<>();

    public SingleNodeTopology(ClusterSpec spec) {
        this(spec, Clock.systemUTC());
    }

    public SingleNodeTopology(List<Node> nodes) {
        this(ClusterSpec.ofNodes(nodes));
    }

    private SingleNodeTopology(ClusterSpec spec, Clock clock) {
        this(spec, clock, spec.monitor() == null ? null : new MonitorThreads(oneNode(spec.nodes())));
    }

    private SingleNodeTopology(ClusterSpec spec, Clock clock, MonitorThreads threads) {
        this(spec, spec.monitor() == null ? null : new SingleNodeProbe(spec, clock),
                threads == null ? null : threads::checker, threads == null ? null : threads.scheduler(),
                threads == null ? null : threads.decider(), clock, threads);
    }

    /** A topology that checks its node with {@code probe} on the given executors and timer (tests drive them). */
    public SingleNodeTopology(ClusterSpec spec, NodeProbe probe, Function<Node, Executor> checker, Scheduler scheduler,
                              Executor decider, Clock clock) {
        this(spec, probe, checker, scheduler, decider, clock, null);
    }

    private SingleNodeTopology(ClusterSpec spec, NodeProbe probe, Function<Node, Executor> checker, Scheduler scheduler,
                               Executor decider, Clock clock, MonitorThreads threads) {
        this.node = oneNode(spec.nodes()).get(0);
        this.writer = new WriterChoice.Writer(node, 1);
        this.settings = spec.monitor();
        this.threads = threads;
        this.events = new ClusterEvents(clock);
        this.housekeeper = settings == null ? null : new HealthCheckHousekeeper(List.of(node), probe, checker, scheduler,
                decider, settings, events, (before, after) -> tellCheckListeners(), () -> { });
    }

    /** {@code nodes} if it holds exactly one node; else the operator's reason. */
    private static List<Node> oneNode(List<Node> nodes) {
        if (nodes.size() != 1) {
            throw new IllegalArgumentException("cluster type 'single' takes exactly one node, got " + nodes.size());
        }
        return nodes;
    }

    private void tellCheckListeners() {
        for (Runnable listener : checkListeners) {
            try {
                listener.run();
            } catch (RuntimeException e) {
                log.warn("node check listener failed; telling the others", e);
            }
        }
    }

    @Override
    public String type() {
        return "single";
    }

    @Override
    public List<Node> nodes() {
        return List.of(node);
    }

    /** Whether the node is checked (a monitor user is configured). */
    public boolean monitored() {
        return housekeeper != null;
    }

    @Override
    public void start() {
        if (housekeeper != null) {
            housekeeper.start();
        }
    }

    /** Always the node: a down server is reported, but new clients still go to it and get its connect error. */
    @Override
    public WriterChoice currentWriter() {
        return writer;
    }

    @Override
    public void onNodeChecked(Runnable listener) {
        checkListeners.add(listener);
    }

    @Override
    public List<NodeReport> nodeReports() {
        if (housekeeper == null) {
            return List.of();
        }
        NodeHealth h = housekeeper.snapshot().get(0);
        SingleNodeState last = h.last() instanceof SingleNodeState s ? s : null;
        boolean up = h.state().electable();
        return List.of(new NodeReport(node.name(), up, up ? null : h.state().describe(), 0, 0,
                last == null ? 0 : last.maxConnections(), last == null ? Map.of() : last.settings(),
                last == null ? null : last.checkedAt()));
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
        if (housekeeper != null) {
            housekeeper.stop();
        }
        if (threads != null) {
            threads.close(() -> { }, settings.timeout());
        }
    }
}
