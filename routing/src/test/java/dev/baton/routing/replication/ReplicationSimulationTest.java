package dev.baton.routing.replication;

import dev.baton.routing.ClusterSpec;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.WriterChoice;
import dev.baton.routing.core.ClusterEvents;
import dev.baton.routing.core.HealthCheckHousekeeper;
import dev.baton.routing.core.SimScheduler;
import dev.baton.routing.core.StoredWriter;
import dev.baton.routing.replication.ReplicationNodeState.Role;
import dev.baton.routing.replication.ReplicationNodeState.ThreadState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

/**
 * Three MariaDB nodes (a {@link ModelCluster}: GTID histories, relay logs, semi-sync) and two or three Baton
 * instances, each with its own housekeeper (hysteresis by {@code NodeHealth.after}), {@link ReplicationKeeper} and
 * links to the nodes, under random, seeded schedules of faults: kill -9 and restart of a node (an old primary comes
 * back writable, as MariaDB does without {@code read_only} in its config), SIGSTOP and SIGCONT, an instance's link
 * to a node cut, replication between two nodes cut, a slow SQL thread, a kill in the middle of whatever an instance
 * does next to a node, and operators' switchovers; clients write through every instance all along. After every
 * instant of simulated time it checks:
 * <ol>
 *   <li>Fitness: an instance routes to a node only if its latest answer from that node showed it the primary
 *       (writable, replicating from nobody) and the record it read from a majority names it; during a hand-over,
 *       which holds new clients, only the latter.</li>
 *   <li>One writer: two nodes are writable and each routed to by some instance for at most {@link #SPLIT_WINDOW}:
 *       an instance cut off from a majority keeps following the record it read last for
 *       {@code record-max-age} (docs/configuration.md), and notices a newer record at its next check of a node
 *       that holds it, one check cycle later.</li>
 *   <li>Epochs: no two record writes apply the same epoch with different primaries (two instances never promote
 *       different nodes under one epoch); the epochs an instance publishes never go down.</li>
 * </ol>
 * After healing every fault and settling, every instance routes to the same node, every other node replicates
 * from it or is left out (with a reason) by every instance, and every write acknowledged while semi-sync was
 * active on its primary is in the primary's history, unless the only replica that had received it was killed before
 * applying it (its relay log is discarded on restart): semi-sync with one acknowledgement survives one fault, not two;
 * or unless its primary acknowledged it after the record had replaced it (a commit in flight when it froze,
 * acknowledged on resuming by a replica still attached to it).
 *
 * <p>Actions are instantaneous (no other instance runs in the middle of one), so interleavings within a promotion
 * come only from faults planted for its next action. A failing seed prints its seed and schedule; keep it in
 * {@link #regressionSeeds}. A longer campaign: {@code bin/baton-simulate 20000 1 ReplicationSimulationTest}.
 */
class ReplicationSimulationTest {
    private static final ClusterSpec.MonitorSettings SETTINGS = new ClusterSpec.MonitorSettings("sim", "",
            Duration.ofMillis(500), Duration.ofMillis(1000), 3, 2);
    static final Duration SPLIT_WINDOW = SETTINGS.recordMaxAge().plus(SETTINGS.checkCycle().multipliedBy(2));
    private static final Duration TICK = Duration.ofMillis(50);
    private static final Duration SETTLE = Duration.ofSeconds(40);
    private static final int STEPS = 80;
    private static final Instant START = Instant.parse("2026-11-01T00:00:00Z");

    @Test
    void everyRandomScheduleKeepsTheInvariants() {
        long seeds = Long.getLong("baton.sim.seeds", 1000);
        long first = Long.getLong("baton.sim.first-seed", 1);
        List<String> failed = new ArrayList<>();
        for (long seed = first; seed < first + seeds; seed++) {
            try {
                new Simulation(seed).run();
            } catch (AssertionError e) {
                if (failed.isEmpty()) {
                    System.err.println(e.getMessage());
                }
                String line = e.getMessage().lines().filter(l -> !l.isBlank()).findFirst().orElse("");
                failed.add(line.startsWith("seed ") ? line : "seed " + seed + ": " + line); // thrown by the model
            }
        }
        if (!failed.isEmpty()) {
            throw new AssertionError(failed.size() + " of " + seeds + " seeds broke an invariant (the first one's schedule "
                    + "is printed above):\n  " + String.join("\n  ", failed));
        }
    }

    /**
     * Seeds that once broke an invariant: 12 (an instance routed to a replica another instance had just promoted, on
     * the strength of its health as a replica), 104 (a stale check after the instance's own promotion set its known
     * record back), 451 (a promotion whose record reached only the new primary: another instance, reading the old
     * record from a majority, promoted another node under the same epoch), 363 and 896 (a record written on one node
     * only, contradicted under the same epoch by another instance recording an expired hand-over on checks older than
     * that record), 15944 and 20016 (a switchover requested through an instance that had not yet seen another's
     * switchover wrote its hand-over on the old primary, by then a replica: an errant transaction), 5510 (an expired
     * hand-over recorded its target, writable after an operator detached it and it restarted, though another replica
     * held acknowledged writes it lacked), 596 (a cancelled switchover's record on the old primary alone, contradicted
     * once that node was down; the promotion now waits for repointed replicas to connect and completes a promotion
     * stopped half-way, and this schedule no longer reaches that state), 10043 (a hand-over and its abandonment
     * recorded on the old primary alone while its replicas were detached or down; with it dead, another instance read
     * epoch 1 from the other two and promoted under epoch 2: every record's epoch is now claimed on the lock's majority
     * first, and a later lock sees the claim), 172 (a switchover whose claim failed half-way left its target writable
     * and unrecorded: the epoch is now claimed before anything changes, and a failed record write makes the candidate
     * read-only again).
     */
    @ParameterizedTest
    @ValueSource(longs = {12, 104, 172, 363, 451, 596, 896, 5510, 10043, 15944, 20016})
    void regressionSeeds(long seed) {
        new Simulation(seed).run();
    }

    /**
     * What an integration test found, as a schedule: baton1 cannot reach the primary db1 and db2 cannot replicate from
     * it (it reports the error), while baton2, which reaches db1, rejoins db3 each time an operator resets it; a replica
     * just pointed at db1 is connecting, without an error, for a moment. db1 is alive: no instance ever promotes.
     */
    @Test
    void anInstanceCutOffFromThePrimaryNeverPromotesWhileTheOtherInstanceRepointsAReplica() {
        Simulation sim = new Simulation(1, 2);
        sim.slower[0] = Duration.ofMillis(100); // baton1 checks db3 just after baton2 acted on the same round's checks
        sim.runFor(Duration.ofSeconds(3));
        sim.model.replicationCut.add("db1>db2");
        sim.actions[0].linkCut.add("db1");
        sim.change("cut replication db1>db2, cut link baton1->db1");
        for (int i = 0; i < 6; i++) {
            sim.model.resetReplica(sim.nodes[2]);
            sim.change("STOP SLAVE; RESET SLAVE ALL on db3");
            sim.runFor(ReplicationKeeper.REJOIN_EVERY.plusSeconds(1));
            org.junit.jupiter.api.Assertions.assertEquals(List.of(), sim.model.recordWrites.stream()
                    .filter(w -> w.next().epoch() > 1).map(Object::toString).toList(), String.join("\n", sim.schedule));
            org.junit.jupiter.api.Assertions.assertSame(sim.model.server(sim.nodes[0]), sim.model.server(sim.nodes[2]).source,
                    "baton2 rejoined db3 to db1");
        }
        sim.healAll();
        sim.runFor(SETTLE);
        sim.checkHealed();
    }

    /** One seeded run. */
    static final class Simulation {
        final long seed;
        final Random rnd;
        final SimScheduler sched = new SimScheduler(START);
        final ModelCluster model = new ModelCluster(sched::now);
        final Node[] nodes = new Node[3];
        final int instances;
        final ModelCluster.Actions[] actions;
        final ReplicationKeeper[] keepers;
        final long[] lastEpoch;
        final List<String> schedule = new ArrayList<>();
        final Map<Long, String> epochWriter = new HashMap<>();
        /** Operators' replication commands, from their own stream so that the other faults of a seed stay as they were. */
        final Random operator;
        final java.util.Set<String> stoppedByHand = new java.util.HashSet<>();
        /** Added to every check of an instance: a scripted schedule's way to set one instance's checks after another's. */
        final Duration[] slower;
        Instant splitSince;
        boolean healed;

        Simulation(long seed) {
            this(seed, 0);
        }

        /** A run with {@code fixedInstances} Baton instances (0: two or three, as the seed draws). */
        Simulation(long seed, int fixedInstances) {
            this.seed = seed;
            this.rnd = new Random(seed);
            this.operator = new Random(~seed);
            int drawn = 2 + rnd.nextInt(2);
            this.instances = fixedInstances > 0 ? fixedInstances : drawn;
            this.actions = new ModelCluster.Actions[instances];
            this.keepers = new ReplicationKeeper[instances];
            this.lastEpoch = new long[instances];
            this.slower = new Duration[instances];
            java.util.Arrays.fill(slower, Duration.ZERO);
            model.semiSyncFallback = rnd.nextBoolean();
            for (int n = 0; n < 3; n++) {
                nodes[n] = new Node("db" + (n + 1), new HostPort("127.0.0.1", 3311 + n), 1 + rnd.nextInt(2));
                model.add(nodes[n], n + 1);
            }
            schedule.add(instances + " instances, priorities " + nodes[0].priority() + "/" + nodes[1].priority() + "/"
                    + nodes[2].priority() + ", semi-sync " + (model.semiSyncFallback ? "falls back to async after "
                    + model.semiSyncTimeout.toMillis() + " ms" : "never falls back"));
            for (int i = 0; i < instances; i++) {
                startInstance(i);
            }
            sched.schedule(Duration.ZERO, this::tick);
        }

        private void startInstance(int i) {
            actions[i] = model.actions("baton" + (i + 1));
            ClusterEvents events = new ClusterEvents(sched.clock());
            ReplicationKeeper[] ref = new ReplicationKeeper[1];
            HealthCheckHousekeeper housekeeper = new HealthCheckHousekeeper(List.of(nodes), node -> actions[i].check(node),
                    node -> task -> sched.schedule(latency(i, node), task), sched, sched, SETTINGS, events,
                    (before, after) -> { }, () -> {
                        try {
                            ref[0].decide();
                        } catch (RuntimeException e) {
                            throw new AssertionError("a decision threw", e);
                        }
                    });
            keepers[i] = new ReplicationKeeper(List.of(nodes), actions[i], housekeeper::snapshot,
                    new ReplicationElection.Rules(true, true, SETTINGS.recordMaxAge()), events, sched.clock(), "baton" + (i + 1));
            ref[0] = keepers[i];
            events.onWriterChange(change -> {
                schedule.add("    " + secs(sched.now()) + " s baton" + (i + 1) + ": " + (change.current() instanceof WriterChoice.Writer w
                        ? w.node().name() + "@" + w.epoch() + (w.handingOver() ? " handing over" : "") : "no writer") + ": " + change.reason());
                checkEpochs(i, change.current());
            });
            housekeeper.start();
        }

        Duration latency(int i, Node node) {
            return model.server(node).paused && !actions[i].linkCut.contains(node.name())
                    ? SETTINGS.timeout() : Duration.ofMillis(2 + rnd.nextInt(20)).plus(slower[i]);
        }

        /** Replication moves on, and a client writes through a random instance. */
        private void tick() {
            model.step();
            int i = rnd.nextInt(instances);
            if (keepers[i].current() instanceof WriterChoice.Writer w && !w.handingOver() && actions[i].reaches(w.node())) {
                model.write(w.node());
            }
            sched.schedule(TICK, this::tick);
        }

        // ---- the invariants ----

        void checkEpochs(int i, WriterChoice now) {
            if (now instanceof WriterChoice.Writer w) {
                if (w.epoch() < lastEpoch[i]) {
                    fail("baton" + (i + 1) + " published epoch " + w.epoch() + " after " + lastEpoch[i]);
                }
                lastEpoch[i] = w.epoch();
            }
        }

        void checkInstant() {
            for (ModelCluster.RecordWriteSeen w : model.recordWrites) {
                String before = epochWriter.putIfAbsent(w.next().epoch(), w.next().writer());
                if (before != null && !before.equals(w.next().writer())) {
                    fail("epoch " + w.next().epoch() + " was written naming " + before + " and " + w.next().writer());
                }
            }
            TreeSet<String> splitNodes = new TreeSet<>();
            for (int i = 0; i < instances; i++) {
                if (!(keepers[i].current() instanceof WriterChoice.Writer w)) {
                    continue;
                }
                String name = w.node().name();
                ReplicationNodeState last = actions[i].lastAnswer.get(name);
                if (!w.handingOver() && (last == null || last.role() != Role.PRIMARY)) { // a hand-over holds new clients
                    fail("baton" + (i + 1) + " routes to " + name + " though its latest answer from it "
                            + (last == null ? "does not exist" : "was " + last.role() + " (" + last.whyNotWritable() + ")"));
                }
                String recorded = keepers[i].knowledge().stored().map(StoredWriter::writer).orElse(null);
                if (!name.equals(recorded)) {
                    fail("baton" + (i + 1) + " routes to " + name + " though the record it read names " + recorded);
                }
                ModelCluster.Server s = model.server(w.node());
                if (s.up && !s.readOnly) {
                    splitNodes.add(name);
                }
            }
            if (splitNodes.size() < 2) {
                splitSince = null;
            } else if (splitSince == null) {
                splitSince = sched.now();
            } else if (Duration.between(splitSince, sched.now()).compareTo(SPLIT_WINDOW) > 0) {
                fail("nodes " + splitNodes + " have been writable and routed to at once since "
                        + secs(splitSince) + " s, longer than " + SPLIT_WINDOW.toMillis() + " ms");
            }
        }

        void checkHealed() {
            String primary = null;
            for (int i = 0; i < instances; i++) {
                if (!(keepers[i].current() instanceof WriterChoice.Writer w) || w.handingOver()) {
                    fail("after healing baton" + (i + 1) + " routes nowhere: " + keepers[i].current());
                    return;
                }
                if (primary != null && !primary.equals(w.node().name())) {
                    fail("after healing instances route to " + primary + " and " + w.node().name());
                }
                primary = w.node().name();
            }
            ModelCluster.Server p = model.servers.get(primary);
            for (ModelCluster.Server s : model.servers.values()) {
                if (s == p) {
                    continue;
                }
                boolean replicates = s.source == p && s.io == ThreadState.RUNNING && s.sql == ThreadState.RUNNING && s.readOnly;
                for (int i = 0; i < instances && !replicates; i++) {
                    if (!keepers[i].leftOut().containsKey(s.node.name())) {
                        fail("after healing " + s.node.name() + " neither replicates from " + primary
                                + " nor is left out by baton" + (i + 1) + ": " + s);
                    }
                }
            }
            List<Long> lost = model.ackedSemiSync.stream().filter(w -> !p.holdsWrite(w) && !model.lostToTwoFaults.contains(w)
                    && !model.ackedByReplaced.contains(w))
                    .toList();
            if (!lost.isEmpty()) {
                fail("writes acknowledged under semi-sync are missing from the primary " + primary + ": " + lost);
            }
        }

        void fail(String what) {
            StringBuilder world = new StringBuilder();
            model.servers.values().forEach(s -> world.append("\n  ").append(s));
            for (int i = 0; i < instances; i++) {
                world.append("\n  baton").append(i + 1).append(": ").append(keepers[i].current())
                        .append(" left out ").append(keepers[i].leftOut());
            }
            throw new AssertionError("seed " + seed + " at " + secs(sched.now()) + " s: " + what
                    + "\nschedule:\n  " + String.join("\n  ", schedule)
                    + "\nrecord writes:\n  " + String.join("\n  ", model.recordWrites.stream().map(Object::toString).toList())
                    + "\nworld:" + world);
        }

        static String secs(Instant at) {
            return Duration.between(START, at).toMillis() / 1000.0 + "";
        }

        void runFor(Duration d) {
            sched.runUntil(sched.now().plus(d), this::checkInstant);
        }

        void change(String what) {
            schedule.add(secs(sched.now()) + " s: " + what);
        }

        // ---- the schedule ----

        void run() {
            try {
                schedule();
            } catch (AssertionError e) {
                if (e.getMessage() == null || !e.getMessage().startsWith("seed ")) {
                    fail("the model refused an action: " + e.getMessage()); // an errant write, say: with the schedule
                }
                throw e;
            }
        }

        private void schedule() {
            runFor(Duration.ofSeconds(3));
            int calmFrom = STEPS * 3 / 4;
            for (int step = 0; step < calmFrom; step++) {
                runFor(Duration.ofMillis(50 + rnd.nextInt(1000)));
                fault();
            }
            healAll();
            runFor(SETTLE);
            checkHealed();
        }

        private void healAll() {
            healed = true;
            for (int i = 0; i < instances; i++) {
                actions[i].linkCut.clear();
                actions[i].killOnNextAction.clear();
            }
            model.replicationCut.clear();
            for (Node n : nodes) {
                ModelCluster.Server s = model.server(n);
                s.paused = false;
                s.slowApply = false;
                if (!s.up) {
                    model.restart(n);
                }
                if (stoppedByHand.contains(n.name()) && s.io == ThreadState.STOPPED) {
                    model.startReplica(n); // Baton leaves an IO thread stopped by hand to whoever stopped it
                }
            }
            change("heal everything");
        }

        private void fault() {
            int i = rnd.nextInt(instances);
            int n = rnd.nextInt(3);
            Node node = nodes[n];
            ModelCluster.Server s = model.server(node);
            String inst = "baton" + (i + 1);
            switch (rnd.nextInt(12)) {
                case 0 -> {
                    if (s.up) {
                        model.kill(node);
                        change("kill -9 " + node.name());
                    }
                }
                case 1 -> {
                    if (!s.up) {
                        model.restart(node);
                        change("restart " + node.name() + " (writable)");
                    }
                }
                case 2 -> {
                    if (s.up) {
                        s.paused = !s.paused;
                        change((s.paused ? "SIGSTOP " : "SIGCONT ") + node.name());
                    }
                }
                case 3 -> {
                    boolean cut = actions[i].linkCut.add(node.name()) || !actions[i].linkCut.remove(node.name());
                    change((cut ? "cut link " : "restore link ") + inst + "->" + node.name());
                }
                case 4 -> {
                    int m = (n + 1 + rnd.nextInt(2)) % 3;
                    String link = node.name() + ">" + nodes[m].name();
                    boolean cut = model.replicationCut.add(link) || !model.replicationCut.remove(link);
                    change((cut ? "cut replication " : "restore replication ") + link);
                }
                case 5 -> handover(i, n);
                case 6 -> {
                    actions[i].killOnNextAction.add(node.name());
                    change("kill -9 " + node.name() + " at " + inst + "'s next action on it");
                }
                case 7 -> {
                    s.slowApply = !s.slowApply;
                    change((s.slowApply ? "slow SQL thread on " : "normal SQL thread on ") + node.name());
                }
                default -> operatorCommand(); // or time passes
            }
        }

        /** Now and then an operator stops or starts a replica's IO thread, or makes it a stand-alone node. */
        private void operatorCommand() {
            if (operator.nextInt(4) != 0) {
                return;
            }
            Node node = nodes[operator.nextInt(3)];
            ModelCluster.Server s = model.server(node);
            if (!s.answers() || s.source == null) {
                return;
            }
            if (operator.nextInt(4) == 0) {
                model.resetReplica(node);
                stoppedByHand.remove(node.name());
                change("STOP SLAVE; RESET SLAVE ALL on " + node.name());
            } else if (s.io == ThreadState.STOPPED) {
                model.startReplica(node);
                stoppedByHand.remove(node.name());
                change("START SLAVE on " + node.name());
            } else {
                model.stopIoThread(node);
                stoppedByHand.add(node.name());
                change("STOP SLAVE IO_THREAD on " + node.name());
            }
        }

        private void handover(int i, int n) {
            String inst = "baton" + (i + 1);
            Duration drain = Duration.ofMillis(200 + rnd.nextInt(2000));
            change("switchover to " + nodes[n].name() + " through " + inst + " draining " + drain.toMillis() + " ms");
            WriterChoice.Writer begun;
            try {
                begun = keepers[i].beginHandover(nodes[n], drain, "operator");
            } catch (IllegalStateException | IllegalArgumentException e) {
                schedule.add("    refused: " + e.getMessage());
                return;
            }
            sched.schedule(drain, () -> {
                change("complete the hand-over of epoch " + begun.epoch() + " through " + inst);
                try {
                    keepers[i].completeHandover(begun.epoch(), "operator", Duration.ofSeconds(1));
                } catch (IllegalStateException e) {
                    schedule.add("    failed: " + e.getMessage());
                }
            });
        }
    }
}
