package dev.baton.routing.core;

import dev.baton.routing.Node;
import dev.baton.routing.WriterChoice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads of a monitored topology, the same for every kind of cluster: one per node for its checks (a hung node
 * delays nobody else), one timer, one decision thread on which every decision and operator's change runs, and one
 * for the books (heartbeats and leaving the list of instances: writes that may wait on a hung node for seconds, so
 * never on the decision thread, which must keep following the writer meanwhile).
 */
public final class MonitorThreads {
    private static final Logger log = LoggerFactory.getLogger(MonitorThreads.class);
    /** How often an instance marks itself alive in the cluster. */
    private static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(5);

    private final Map<String, ExecutorService> checkers = new LinkedHashMap<>();
    private final ScheduledExecutorService timer;
    private final ExecutorService decider;
    private final ExecutorService bookkeeper;
    private volatile long lastHeartbeat = Long.MIN_VALUE; // System.nanoTime() of the last good one; written by the bookkeeper

    public MonitorThreads(List<Node> nodes) {
        for (Node node : nodes) {
            checkers.put(node.name(), Executors.newSingleThreadExecutor(named("baton-check-" + node.name())));
        }
        this.timer = Executors.newSingleThreadScheduledExecutor(named("baton-check-timer"));
        this.decider = Executors.newSingleThreadExecutor(named("baton-election"));
        this.bookkeeper = Executors.newSingleThreadExecutor(named("baton-bookkeeping"));
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + (n.incrementAndGet() == 1 ? "" : "-" + n.get()));
            t.setDaemon(true);
            return t;
        };
    }

    /** The executor of {@code node}'s checks. */
    public Executor checker(Node node) {
        return checkers.get(node.name());
    }

    public Scheduler scheduler() {
        return Scheduler.of(timer);
    }

    public Executor decider() {
        return decider;
    }

    /**
     * Marks this instance alive with {@code markAlive} (which throws on failure): tried every second until it
     * succeeds, then every five seconds, and at once when this instance first finds a writer, before it routes any
     * client to it.
     */
    public void startHeartbeats(ClusterEvents events, Runnable markAlive) {
        events.onWriterChange(change -> {
            if (lastHeartbeat == Long.MIN_VALUE && change.current() instanceof WriterChoice.Writer) {
                bookkeeper.execute(() -> heartbeat(markAlive));
            }
        });
        timer.scheduleWithFixedDelay(() -> bookkeeper.execute(() -> heartbeat(markAlive)), 0, 1, TimeUnit.SECONDS);
    }

    private void heartbeat(Runnable markAlive) {
        if (lastHeartbeat != Long.MIN_VALUE && System.nanoTime() - lastHeartbeat < HEARTBEAT_EVERY.toNanos()) {
            return;
        }
        try {
            markAlive.run();
            lastHeartbeat = System.nanoTime();
        } catch (RuntimeException e) {
            log.debug("{}", e.getMessage());
        }
    }

    /**
     * Runs an operator's change on the decision thread, so it never races the automatic decisions, and waits for
     * it; its failure comes back as the exception it threw.
     */
    public <T> T onDecisionThread(String what, Duration timeout, Callable<T> change) {
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

    /**
     * Runs {@code leave} (taking this instance off the list of instances, so a switchover does not wait for its
     * drain report) on the books' thread for up to 2 s, then stops every thread, waiting for running checks to end
     * for up to twice {@code checkTimeout}.
     */
    public void close(Runnable leave, Duration checkTimeout) {
        try {
            bookkeeper.submit(leave).get(2, TimeUnit.SECONDS);
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
                checker.awaitTermination(checkTimeout.toMillis() * 2 + 1000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
