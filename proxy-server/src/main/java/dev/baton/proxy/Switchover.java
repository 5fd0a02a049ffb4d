package dev.baton.proxy;

import dev.baton.admin.api.MaintenanceReport;
import dev.baton.admin.api.SwitchoverReport;
import dev.baton.routing.DrainReport;
import dev.baton.routing.Node;
import dev.baton.routing.WriterChoice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
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
        /** Of the idle and after-transaction sessions, those parked to move to the new writer. */
        final AtomicInteger moving = new AtomicInteger();
        final CountDownLatch remaining;

        Drain(int sessions) {
            remaining = new CountDownLatch(sessions);
        }
    }

    /** How long a switchover's report waits for this instance's sessions to finish moving. */
    private static final Duration MOVES_SETTLE = Duration.ofSeconds(10);

    private static final java.util.concurrent.locks.ReentrantLock ONE_AT_A_TIME = new java.util.concurrent.locks.ReentrantLock();

    private Switchover() {
    }

    /**
     * Puts a node in maintenance (never elected, by any instance) or takes it out. If the node is the writer, a
     * planned switchover to the best other healthy node comes first, so clients see a drain, not a cut.
     */
    static MaintenanceReport maintenance(BatonProxy proxy, String name, boolean on, Duration drainTimeout, String requestedBy) {
        Node node = proxy.topology().nodes().stream().filter(n -> n.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown node '" + name + "' (nodes: "
                        + proxy.topology().nodes().stream().map(Node::name).toList() + ")"));
        SwitchoverReport switchover = null;
        if (on && proxy.topology().currentWriter() instanceof WriterChoice.Writer w && w.node().equals(node)) {
            java.util.Set<String> inMaintenance = proxy.topology().maintenance();
            String target = proxy.topology().nodeReports().stream()
                    .filter(r -> r.up() && !r.node().equals(name) && !inMaintenance.contains(r.node()))
                    .map(r -> proxy.topology().nodes().stream().filter(n -> n.name().equals(r.node())).findFirst().orElseThrow())
                    .min(java.util.Comparator.comparingInt(Node::priority)).map(Node::name)
                    .orElseThrow(() -> new IllegalStateException("node " + name + " is the writer and no other node is "
                            + "healthy to take over; nothing changed"));
            switchover = run(proxy, target, drainTimeout, requestedBy + " (maintenance of " + name + ")");
        }
        proxy.topology().setMaintenance(node, on, requestedBy, Duration.ofSeconds(15));
        return new MaintenanceReport(name, on, switchover);
    }

    /** How long past the drain deadline the switchover waits for other instances' drain reports. */
    private static final Duration REPORT_GRACE = Duration.ofSeconds(3);

    /**
     * Carries out a switchover; returns the report, or throws with a message for the operator. The hand-over is
     * recorded in the cluster first, so every instance (this one included, through its writer-change listener)
     * holds new clients and drains its sessions by the same deadline; then, once every live instance reported
     * its drain or the deadline passed, the new writer is recorded.
     */
    static SwitchoverReport run(BatonProxy proxy, String target, Duration drainTimeout, String requestedBy) {
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
        try {
            if (before instanceof WriterChoice.NoWriter) {
                // Nothing to drain: the writer is lost, and the topology waits for an operator to name the next one.
                WriterChoice.Writer now = proxy.topology().takeOver(node, requestedBy, Duration.ofSeconds(60));
                SwitchoverReport report = new SwitchoverReport(null, now.node().name(), now.epoch(),
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), true, 0, 0, 0, 0, 0, List.of(), List.of(), null);
                log.info("switchover to {} requested by {}: promoted with no writer to drain", target, requestedBy);
                return report;
            }
            long moved = proxy.metrics().sessionsMoved();
            Map<String, Long> notMoved = proxy.metrics().sessionsNotMoved();
            WriterChoice.Writer handover = proxy.topology().beginHandover(node, drainTimeout, requestedBy, Duration.ofSeconds(15));
            log.info("switchover to {} requested by {}: every instance holds new clients and drains {} for up to {} ms",
                    target, requestedBy, handover.node().name(), drainTimeout.toMillis());
            // This instance drains too, registered or not; an instance that starts meanwhile is waited for as well.
            java.util.Set<String> live = new java.util.TreeSet<>(List.of(proxy.config().cluster().instanceName()));
            java.time.Instant giveUp = handover.handover().deadline().plus(REPORT_GRACE);
            while (true) {
                live.addAll(liveInstances(proxy));
                if (reported(reports(proxy, handover.epoch())).containsAll(live) || java.time.Instant.now().isAfter(giveUp)) {
                    break;
                }
                Thread.sleep(100);
            }
            WriterChoice.Writer now = proxy.topology().completeHandover(handover.epoch(), requestedBy, Duration.ofSeconds(15));
            long unavailableMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            List<DrainReport> reports = reports(proxy, handover.epoch());
            java.util.Set<String> notHeard = new java.util.TreeSet<>(live);
            notHeard.removeAll(reported(reports));
            List<SwitchoverReport.InstanceDrain> instances = new java.util.ArrayList<>();
            for (DrainReport r : reports) {
                instances.add(new SwitchoverReport.InstanceDrain(r.instance(), r.idle(), r.afterTransaction(), r.moving(),
                        r.idle() + r.afterTransaction() - r.moving(), r.inTransaction()));
            }
            SwitchoverReport report = new SwitchoverReport(before instanceof WriterChoice.Writer w ? w.node().name() : null,
                    now.node().name(), now.epoch(), unavailableMs, false,
                    instances.stream().mapToLong(SwitchoverReport.InstanceDrain::sessionsIdle).sum(),
                    instances.stream().mapToLong(SwitchoverReport.InstanceDrain::sessionsAfterTransaction).sum(),
                    instances.stream().mapToLong(SwitchoverReport.InstanceDrain::sessionsMoving).sum(),
                    instances.stream().mapToLong(SwitchoverReport.InstanceDrain::sessionsClosedNotMovable).sum(),
                    instances.stream().mapToLong(SwitchoverReport.InstanceDrain::sessionsClosedInTransaction).sum(),
                    instances, List.copyOf(notHeard), proxy.awaitMoves(moved, notMoved, MOVES_SETTLE));
            log.info("switchover to {} done: writes unavailable for {} ms; on {} instance(s): {} session(s) moving to the "
                    + "new writer, {} closed as not movable, {} closed in a transaction at the drain deadline{}", target,
                    unavailableMs, reports.size(), report.sessionsMoving(), report.sessionsClosedNotMovable(),
                    report.sessionsClosedInTransaction(),
                    notHeard.isEmpty() ? "" : "; no drain report from " + String.join(", ", notHeard));
            return report;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        } finally {
            ONE_AT_A_TIME.unlock();
        }
    }

    private static java.util.Set<String> reported(List<DrainReport> reports) {
        return reports.stream().map(DrainReport::instance).collect(java.util.stream.Collectors.toSet());
    }

    private static List<String> liveInstances(BatonProxy proxy) {
        try {
            return proxy.topology().liveInstances();
        } catch (RuntimeException e) {
            log.warn("switchover: cannot tell which instances are running ({}); waiting for the drain deadline", e.getMessage());
            return List.of(proxy.config().cluster().instanceName());
        }
    }

    private static List<DrainReport> reports(BatonProxy proxy, long epoch) {
        try {
            return proxy.topology().drainReports(epoch);
        } catch (RuntimeException e) {
            log.debug("switchover: cannot read drain reports yet: {}", e.getMessage());
            return List.of();
        }
    }

    /**
     * This instance's part of a hand-over, whoever started it: closes idle sessions on the old writer at once,
     * the others right after their transaction ends, and those still in a transaction at the deadline; then
     * records what it did in the cluster. Runs on the proxy's drain thread.
     */
    static void drain(BatonProxy proxy, WriterChoice.Writer handover) {
        Node to = handover.handover().to();
        List<ClientSession> bound = proxy.sessionsNotBoundTo(to);
        Drain books = new Drain(bound.size());
        log.info("switchover to {} (epoch {}): draining {} session(s) until {}", to.name(), handover.epoch(), bound.size(),
                handover.handover().deadline());
        for (ClientSession s : bound) {
            try {
                s.drain(books);
            } catch (RuntimeException e) {
                log.warn("switchover: could not drain a session: {}", e.toString());
                books.remaining.countDown();
            }
        }
        try {
            long waitMs = Math.max(0, Duration.between(java.time.Instant.now(), handover.handover().deadline()).toMillis());
            if (!books.remaining.await(waitMs, TimeUnit.MILLISECONDS)) {
                for (ClientSession s : bound) {
                    try {
                        s.drainTimedOut(books);
                    } catch (RuntimeException e) {
                        log.warn("switchover: could not close a session at the drain deadline: {}", e.toString());
                        books.remaining.countDown();
                    }
                }
                books.remaining.await(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        DrainReport report = new DrainReport(proxy.config().cluster().instanceName(), handover.epoch(), books.idle.get(),
                books.afterTransaction.get(), books.inTransaction.get(), books.moving.get());
        log.info("switchover to {} (epoch {}): drain done here: {} idle, {} after their transaction, {} in a transaction "
                + "at the deadline; {} moving to the new writer", to.name(), handover.epoch(), report.idle(),
                report.afterTransaction(), report.inTransaction(), report.moving());
        try {
            proxy.topology().reportDrain(report);
        } catch (RuntimeException e) {
            log.warn("switchover to {}: cannot record this instance's drain report: {}", to.name(), e.getMessage());
        }
    }
}
