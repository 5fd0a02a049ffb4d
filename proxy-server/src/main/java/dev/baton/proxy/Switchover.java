package dev.baton.proxy;

import dev.baton.routing.Node;
import dev.baton.routing.WriterChoice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A planned switchover: hold new clients, let sessions on the old writer finish their transactions (closing
 * idle ones at once and the rest at the drain timeout), record the new writer in the cluster so every instance
 * follows, then let the held clients through to it. Runs on a thread of its own, never on an event loop.
 */
final class Switchover {
    private static final Logger log = LoggerFactory.getLogger(Switchover.class);

    /** The books of one drain; sessions report here from their event loops. */
    static final class Drain {
        final AtomicInteger idle = new AtomicInteger();
        final AtomicInteger afterTransaction = new AtomicInteger();
        final AtomicInteger inTransaction = new AtomicInteger();
        final CountDownLatch remaining;

        Drain(int sessions) {
            remaining = new CountDownLatch(sessions);
        }
    }

    private static final java.util.concurrent.locks.ReentrantLock ONE_AT_A_TIME = new java.util.concurrent.locks.ReentrantLock();

    private Switchover() {
    }

    /**
     * Puts a node in maintenance (never elected, by any instance) or takes it out. If the node is the writer, a
     * planned switchover to the best other healthy node comes first, so clients see a drain, not a cut.
     */
    static Map<String, Object> maintenance(BatonProxy proxy, String name, boolean on, Duration drainTimeout, String requestedBy) {
        Node node = proxy.topology().nodes().stream().filter(n -> n.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown node '" + name + "' (nodes: "
                        + proxy.topology().nodes().stream().map(Node::name).toList() + ")"));
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("node", name);
        report.put("maintenance", on);
        report.put("switchover", null);
        if (on && proxy.topology().currentWriter() instanceof WriterChoice.Writer w && w.node().equals(node)) {
            java.util.Set<String> inMaintenance = proxy.topology().maintenance();
            String target = proxy.topology().nodeReports().stream()
                    .filter(r -> r.up() && !r.node().equals(name) && !inMaintenance.contains(r.node()))
                    .map(r -> proxy.topology().nodes().stream().filter(n -> n.name().equals(r.node())).findFirst().orElseThrow())
                    .min(java.util.Comparator.comparingInt(Node::priority)).map(Node::name)
                    .orElseThrow(() -> new IllegalStateException("node " + name + " is the writer and no other node is "
                            + "healthy to take over; nothing changed"));
            report.put("switchover", run(proxy, target, drainTimeout, requestedBy + " (maintenance of " + name + ")"));
        }
        proxy.topology().setMaintenance(node, on, requestedBy, Duration.ofSeconds(15));
        return report;
    }

    /** Carries out a switchover; returns the report, or throws with a message for the operator. */
    static Map<String, Object> run(BatonProxy proxy, String target, Duration drainTimeout, String requestedBy) {
        Node node = proxy.topology().nodes().stream().filter(n -> n.name().equals(target)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown node '" + target + "' (nodes: "
                        + proxy.topology().nodes().stream().map(Node::name).toList() + ")"));
        proxy.topology().nodeReports().stream().filter(r -> r.node().equals(target) && !r.up()).findFirst().ifPresent(r -> {
            throw new IllegalStateException("node " + target + " is not healthy: " + r.reason());
        });
        if (proxy.topology().maintenance().contains(target)) {
            throw new IllegalStateException("node " + target + " is in maintenance; take it out first");
        }
        WriterChoice before = proxy.topology().currentWriter();
        if (before instanceof WriterChoice.Writer w && w.node().equals(node)) {
            throw new IllegalStateException(target + " is already the writer");
        }
        if (!ONE_AT_A_TIME.tryLock()) {
            throw new IllegalStateException("a switchover is already running");
        }
        long start = System.nanoTime();
        proxy.hold(true);
        try {
            List<ClientSession> bound = proxy.sessionsNotBoundTo(node);
            Drain drain = new Drain(bound.size());
            log.info("switchover to {} requested by {}: holding new clients, draining {} session(s) for up to {} ms",
                    target, requestedBy, bound.size(), drainTimeout.toMillis());
            for (ClientSession s : bound) {
                try {
                    s.drain(drain);
                } catch (RuntimeException e) { // one session must not stop the drain of the others
                    log.warn("switchover to {}: cannot drain a session, not waiting for it: {}", target, e.toString(), e);
                    drain.remaining.countDown();
                }
            }
            boolean drained = drain.remaining.await(drainTimeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!drained) {
                for (ClientSession s : bound) {
                    try {
                        s.drainTimedOut(drain);
                    } catch (RuntimeException e) {
                        log.warn("switchover to {}: cannot close a session at the drain timeout: {}", target, e.toString(), e);
                    }
                }
                drain.remaining.await(2, TimeUnit.SECONDS);
            }
            WriterChoice.Writer now = proxy.topology().switchTo(node, "requested by " + requestedBy, requestedBy,
                    Duration.ofSeconds(15));
            long unavailableMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("from", before instanceof WriterChoice.Writer w ? w.node().name() : null);
            report.put("to", now.node().name());
            report.put("epoch", now.epoch());
            report.put("writes_unavailable_ms", unavailableMs);
            report.put("sessions_closed_idle", drain.idle.get());
            report.put("sessions_closed_after_transaction", drain.afterTransaction.get());
            report.put("sessions_closed_in_transaction", drain.inTransaction.get());
            log.info("switchover to {} done: writes unavailable for {} ms; sessions closed: {} idle, {} after their "
                    + "transaction, {} in a transaction at the drain timeout", target, unavailableMs, drain.idle.get(),
                    drain.afterTransaction.get(), drain.inTransaction.get());
            return report;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        } finally {
            proxy.hold(false);
            ONE_AT_A_TIME.unlock();
        }
    }
}
