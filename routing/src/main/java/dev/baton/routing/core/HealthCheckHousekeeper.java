package dev.baton.routing.core;

import dev.baton.routing.ClusterSpec;
import dev.baton.routing.Node;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;

/**
 * Checks every node, forever: each check runs on its node's own executor (a hung node delays nobody else), the
 * next check of a node starts {@code interval} after the previous one ended (checks never overlap), and the
 * result is applied with hysteresis on the decision executor, which then runs {@code afterChecks} once for
 * checks that end together. A run that fails is logged and the schedule goes on: the housekeeper never dies.
 * Timing comes from the injected {@link Scheduler}, so a simulation can drive it.
 */
public final class HealthCheckHousekeeper {
    private static final Logger log = LoggerFactory.getLogger(HealthCheckHousekeeper.class);

    /** Told of every applied check, on the decision executor. */
    @FunctionalInterface
    public interface CheckListener {
        void checked(NodeHealth before, NodeHealth after);
    }

    private final List<Node> nodes;
    private final NodeProbe probe;
    private final Function<Node, Executor> probeExecutor;
    private final Scheduler scheduler;
    private final Executor decider;
    private final ClusterSpec.MonitorSettings settings;
    private final ClusterEvents events;
    private final CheckListener listener;
    private final Runnable afterChecks;
    private final Map<String, NodeHealth> health = new LinkedHashMap<>();
    private volatile List<NodeHealth> published;
    private volatile boolean running;
    private boolean decisionQueued;

    public HealthCheckHousekeeper(List<Node> nodes, NodeProbe probe, Function<Node, Executor> probeExecutor, Scheduler scheduler,
                                  Executor decider, ClusterSpec.MonitorSettings settings, ClusterEvents events,
                                  CheckListener listener, Runnable afterChecks) {
        this.nodes = List.copyOf(nodes);
        this.probe = probe;
        this.probeExecutor = probeExecutor;
        this.scheduler = scheduler;
        this.decider = decider;
        this.settings = settings;
        this.events = events;
        this.listener = listener;
        this.afterChecks = afterChecks;
        for (Node node : nodes) {
            health.put(node.name(), NodeHealth.initial(node));
        }
        this.published = List.copyOf(health.values());
    }

    public void start() {
        running = true;
        for (Node node : nodes) {
            scheduler.schedule(Duration.ZERO, () -> startCheck(node));
        }
    }

    public void stop() {
        running = false;
    }

    private void startCheck(Node node) {
        if (!running) {
            return;
        }
        try {
            probeExecutor.apply(node).execute(() -> runCheck(node));
        } catch (RejectedExecutionException e) {
            log.debug("check of {} not started: closing", node.name());
        }
    }

    private void runCheck(Node node) {
        try {
            NodeCheck check = probe.check(node);
            decider.execute(() -> apply(node, check));
        } catch (RuntimeException e) {
            log.warn("health check of {} failed unexpectedly; checking on", node.name(), e);
        } finally {
            if (running) {
                scheduler.schedule(settings.interval(), () -> startCheck(node));
            }
        }
    }

    /** On the decision executor only. */
    private void apply(Node node, NodeCheck check) {
        try {
            NodeHealth before = health.get(node.name());
            NodeHealth after = before.after(check, settings.fall(), settings.rise());
            health.put(node.name(), after);
            published = List.copyOf(health.values());
            if (after.upChangedFrom(before)) {
                events.node(node, "node " + node.name() + " is " + (after.state().electable() ? check.upDescription() : "down: "
                        + after.state().describe()), "monitor");
            }
            listener.checked(before, after);
        } catch (RuntimeException e) {
            log.warn("applying the check of {} failed; checking on", node.name(), e);
        }
        if (!decisionQueued) {
            decisionQueued = true;
            decider.execute(() -> {
                decisionQueued = false;
                try {
                    afterChecks.run();
                } catch (RuntimeException e) {
                    log.warn("writer decision failed; trying again after the next check", e);
                }
            });
        }
    }

    /** Every node's health as last applied, in config order; safe from any thread. */
    public List<NodeHealth> snapshot() {
        return published;
    }
}
