package dev.baton.it;

import dev.baton.it.fixture.LocalGaleraCluster;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.routing.WriterChoice;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Proves under load that a commit the server acknowledged through Baton survives node crashes, hung nodes and a
 * lost quorum: 16 clients write through two Baton instances in front of a real 3-node Galera cluster while faults
 * hit it one after the other; afterwards every acknowledged row must be on every node, and the acknowledgement
 * log must show one writer at a time outside the failover window (see {@link #writesOutOfTurn}).
 *
 * <p>{@code -Dbaton.chaos.faults=40} runs more faults (10 by default, about 3 minutes); {@code bench/chaos.sh}
 * runs it and prints the figures.
 */
class AcknowledgedWritesSurviveFaultsIT {
    private static final int FAULTS = Integer.getInteger("baton.chaos.faults", 10);
    private static final int CLIENTS_PER_INSTANCE = Integer.getInteger("baton.chaos.clients-per-instance", 8);
    /** Writes flow undisturbed this long between faults (after the cluster is whole again). */
    private static final Duration PAUSE = Duration.ofMillis(Long.getLong("baton.chaos.pause-ms", 4000));
    /** Longer than the monitor's fall time for a hung node: 3 x (500 ms interval + 1 s timeout) = 4.5 s. */
    private static final Duration FREEZE = Duration.ofSeconds(7);
    /** RunningBaton's Galera monitor: interval 500 ms, timeout 1 s, fall 3, rise 2. */
    private static final Duration INTERVAL = Duration.ofMillis(500);
    private static final Duration CHECK_TIMEOUT = Duration.ofSeconds(1);
    /**
     * Slack for the routing timeline: a listener records each instance's switch just after the instance starts
     * routing to the new writer (it runs after the proxy's own listener), so a write may seem to begin up to this
     * long before its instance's recorded switch.
     */
    private static final Duration SWITCH_SLACK = Duration.ofMillis(200);
    private static final Duration WHOLE_WITHIN = Duration.ofSeconds(120);

    /** The faults, applied in this order and then again from the top. */
    private enum FaultKind {
        KILL_WRITER("kill -9 of the writer, restart after failover (state transfer from the non-writer)"),
        FREEZE_OTHER("SIGSTOP of a non-writer for 7 s, then SIGCONT"),
        FREEZE_WRITER("SIGSTOP of the writer for 7 s, then SIGCONT"),
        KILL_OTHER("kill -9 of a non-writer, restart (state transfer from the other non-writer)"),
        LOSE_QUORUM("SIGSTOP of the writer and a non-writer together for 7 s (quorum lost), then SIGCONT");

        final String description;

        FaultKind(String description) {
            this.description = description;
        }
    }

    /** One commit the server acknowledged: the node that ran it and the client's clock around it (nanoTime). */
    record Ack(long id, int client, String via, String node, long start, long ack) {
    }

    /** An instance started routing new sessions to {@code writer} (a wsrep node name, null: refusing) at {@code at}. */
    record Switch(long at, String writer) {
    }

    record Fault(int number, FaultKind kind, String nodes, long at, long whole, String writerBefore, String writerAfter) {
    }

    private static LocalGaleraCluster cluster;
    private static RunningBaton a;
    private static RunningBaton b;
    private static final Map<String, List<Switch>> timelines = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalGaleraCluster.start("chaos", 3, GaleraFailoverIT.EVS);
        cluster.sql(1, "CREATE TABLE baton_test.chaos (id BIGINT PRIMARY KEY, client INT NOT NULL, "
                + "node VARCHAR(32) NOT NULL) ENGINE=InnoDB");
        a = RunningBaton.inFrontOfGalera(cluster, "baton-a");
        b = RunningBaton.inFrontOfGalera(cluster, "baton-b");
        follow(a, "A");
        follow(b, "B");
    }

    @AfterAll
    static void stop() {
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void everyAcknowledgedWriteIsOnEveryNodeAfterKillsFreezesAndLostQuorum() throws Exception {
        a.awaitWriter(Duration.ofSeconds(30));
        b.awaitWriter(Duration.ofSeconds(30));
        long t0 = System.nanoTime();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong acknowledged = new AtomicLong();
        Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        List<List<Ack>> logs = new ArrayList<>();
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < 2 * CLIENTS_PER_INSTANCE; i++) {
            RunningBaton via = i % 2 == 0 ? a : b;
            String viaName = i % 2 == 0 ? "A" : "B";
            List<Ack> log = new ArrayList<>();
            logs.add(log);
            int client = i;
            Thread t = new Thread(() -> writeLoop(client, via, viaName, log, running, acknowledged, errors), "chaos-client-" + i);
            t.start();
            clients.add(t);
        }

        List<Fault> faults = new ArrayList<>();
        try {
            await("first writes through Baton").atMost(Duration.ofSeconds(30)).until(() -> acknowledged.get() >= 100);
            Thread.sleep(PAUSE.toMillis()); // writes on a whole cluster between faults
            for (int i = 0; i < FAULTS; i++) {
                FaultKind kind = FaultKind.values()[i % FaultKind.values().length];
                Fault fault = inject(i + 1, kind);
                faults.add(fault);
                System.out.printf("chaos | fault %d at %.1f s: %s on %s; writer %s -> %s; whole again after %.1f s%n",
                        fault.number(), seconds(fault.at() - t0), kind, fault.nodes(), fault.writerBefore(),
                        fault.writerAfter(), seconds(fault.whole() - fault.at()));
                Thread.sleep(PAUSE.toMillis()); // writes on a whole cluster between faults
            }
            long afterLastFault = acknowledged.get();
            await("writes through Baton after the last fault").atMost(Duration.ofSeconds(60))
                    .until(() -> acknowledged.get() >= afterLastFault + 100);
        } finally {
            running.set(false);
            for (Thread t : clients) {
                t.join(30_000);
            }
        }
        awaitWhole();

        List<Ack> acks = new ArrayList<>();
        logs.forEach(acks::addAll);
        acks.sort(Comparator.comparingLong(Ack::ack));
        Map<Integer, List<Ack>> missing = new LinkedHashMap<>();
        Map<Integer, List<String>> misattributed = new LinkedHashMap<>();
        for (int node = 1; node <= 3; node++) {
            Map<Long, String> rows = rowsOn(node);
            List<Ack> lost = new ArrayList<>();
            List<String> wrongNode = new ArrayList<>();
            for (Ack ack : acks) {
                String stored = rows.get(ack.id());
                if (stored == null) {
                    lost.add(ack);
                } else if (!stored.equals(ack.node())) {
                    wrongNode.add(ack.id() + " acknowledged by " + ack.node() + " but stored as run on " + stored);
                }
            }
            missing.put(node, lost);
            misattributed.put(node, wrongNode);
        }
        Map<String, List<Switch>> routing = new HashMap<>();
        timelines.forEach((name, timeline) -> {
            synchronized (timeline) {
                routing.put(name, List.copyOf(timeline));
            }
        });
        List<String> outOfTurn = writesOutOfTurn(acks, routing);
        Disagreement disagreement = longestDisagreement(routing.get("A"), routing.get("B"));
        report(t0, acks, faults, missing, outOfTurn, disagreement, errors, routing);

        assertEquals(FAULTS, faults.size(), "faults applied");
        assertTrue(acks.stream().anyMatch(ack -> ack.start() > faults.get(faults.size() - 1).whole()),
                "writes were acknowledged after the last fault");
        for (int node = 1; node <= 3; node++) {
            List<Ack> lost = missing.get(node);
            assertEquals(0, lost.size(), "acknowledged rows missing on n" + node + " (first 20, times in s since the start): "
                    + lost.stream().limit(20).map(ack -> describe(ack, t0)).toList());
            assertEquals(List.of(), misattributed.get(node), "rows on n" + node + " name the node that acknowledged them");
        }
        assertEquals(List.of(), outOfTurn.stream().limit(20).toList(),
                "every acknowledged write began while its Baton instance routed to the node that ran it");
        assertTrue(disagreement.nanos() <= (INTERVAL.plus(CHECK_TIMEOUT).plus(SWITCH_SLACK)).toNanos(),
                "A and B routed to different writers for " + disagreement.describe(t0)
                        + ", more than one monitor round (interval + timeout)");
    }

    /**
     * The "one writer at a time" check. Each instance closes every session bound to a node as soon as it stops
     * routing to that node, and opens new ones only to the node it routes to. So every acknowledged write must have
     * begun while the instance it went through routed to the node that ran it (a write begun just before the switch
     * away may still be acknowledged: it was in flight when the writer changed). Returns the writes that began
     * outside that, with the instance's routing at that moment. Two writes on different nodes can then overlap in
     * time only while the two instances disagree, which {@link #longestDisagreement} bounds, plus the time the
     * old writer needs to acknowledge a commit that was in flight.
     */
    static List<String> writesOutOfTurn(List<Ack> acks, Map<String, List<Switch>> timelines) {
        List<String> out = new ArrayList<>();
        for (Ack ack : acks) {
            List<Switch> timeline = timelines.get(ack.via());
            String atStart = routedAt(timeline, ack.start());
            String justAfter = routedAt(timeline, ack.start() + SWITCH_SLACK.toNanos());
            if (!ack.node().equals(atStart) && !ack.node().equals(justAfter)) {
                out.add("write " + ack.id() + " through " + ack.via() + " ran on " + ack.node()
                        + " but began while " + ack.via() + " routed to " + atStart);
            }
        }
        return out;
    }

    private static String routedAt(List<Switch> timeline, long at) {
        String writer = null;
        for (Switch s : timeline) {
            if (s.at() > at) {
                break;
            }
            writer = s.writer();
        }
        return writer;
    }

    record Disagreement(long nanos, long from, String writerA, String writerB) {
        String describe(long t0) {
            return nanos == 0 ? "0 ms" : String.format("%d ms from %.1f s (A: %s, B: %s)",
                    TimeUnit.NANOSECONDS.toMillis(nanos), seconds(from - t0), writerA, writerB);
        }
    }

    /** The longest time during which A and B both routed to a writer, but not the same one. */
    static Disagreement longestDisagreement(List<Switch> aTimeline, List<Switch> bTimeline) {
        List<Long> instants = new ArrayList<>();
        aTimeline.forEach(s -> instants.add(s.at()));
        bTimeline.forEach(s -> instants.add(s.at()));
        instants.sort(null);
        Disagreement longest = new Disagreement(0, 0, null, null);
        long since = -1;
        for (int i = 0; i < instants.size(); i++) {
            long t = instants.get(i);
            String wa = routedAt(aTimeline, t);
            String wb = routedAt(bTimeline, t);
            boolean differ = wa != null && wb != null && !wa.equals(wb);
            if (differ && since < 0) {
                since = t;
            } else if (!differ && since >= 0) {
                if (t - since > longest.nanos()) {
                    longest = new Disagreement(t - since, since, routedAt(aTimeline, since), routedAt(bTimeline, since));
                }
                since = -1;
            }
        }
        return since >= 0 ? new Disagreement(Long.MAX_VALUE, since, routedAt(aTimeline, since), routedAt(bTimeline, since))
                : longest;
    }

    private Fault inject(int number, FaultKind kind) throws Exception {
        String writerName = a.awaitWriter(Duration.ofSeconds(30));
        int writer = nodeOf(writerName);
        List<Integer> others = new ArrayList<>();
        for (int n = 1; n <= 3; n++) {
            if (n != writer) {
                others.add(n);
            }
        }
        int other = others.get(number % 2);
        int third = 6 - writer - other;
        long at = System.nanoTime();
        String nodes;
        try {
            switch (kind) {
                case KILL_WRITER -> {
                    nodes = "n" + writer;
                    cluster.kill9(writer);
                    await("both instances route away from killed writer n" + writer).atMost(Duration.ofSeconds(60))
                            .until(() -> a.writer() != null && !a.writer().equals(writerName)
                                    && b.writer() != null && !b.writer().equals(writerName));
                    // A donor is desynced during a full state transfer: as an operator would, point the joiner at
                    // the node that is not the writer (wsrep_sst_donor).
                    cluster.restart(writer, 6 - writer - nodeOf(a.writer()));
                }
                case KILL_OTHER -> {
                    nodes = "n" + other;
                    cluster.kill9(other);
                    cluster.awaitClusterSize(writer, 2, Duration.ofSeconds(30));
                    cluster.restart(other, third);
                }
                case FREEZE_WRITER -> {
                    nodes = "n" + writer;
                    cluster.stop(writer);
                    Thread.sleep(FREEZE.toMillis()); // how long the node stays frozen
                    cluster.resume(writer);
                }
                case FREEZE_OTHER -> {
                    nodes = "n" + other;
                    cluster.stop(other);
                    Thread.sleep(FREEZE.toMillis()); // how long the node stays frozen
                    cluster.resume(other);
                }
                case LOSE_QUORUM -> {
                    nodes = "n" + writer + "+n" + other;
                    cluster.stop(writer);
                    cluster.stop(other);
                    Thread.sleep(FREEZE.toMillis()); // how long the node stays frozen
                    cluster.resume(writer);
                    cluster.resume(other);
                }
                default -> throw new IllegalStateException(kind.toString());
            }
        } finally {
            for (int n = 1; n <= 3; n++) {
                cluster.resume(n); // a no-op unless a step above failed while a node was frozen
            }
        }
        awaitWhole();
        return new Fault(number, kind, nodes, at, System.nanoTime(), "n" + writer, "n" + nodeOf(a.writer()));
    }

    /** Waits until all three nodes are Synced in one Primary view of three and both instances route to one writer. */
    private static void awaitWhole() {
        await("3 nodes Synced in one Primary view, A and B on the same writer").atMost(WHOLE_WITHIN)
                .pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() -> {
                    for (int n = 1; n <= 3; n++) {
                        if (!cluster.isRunning(n) || !"Synced".equals(cluster.status(n, "wsrep_local_state_comment"))
                                || !"3".equals(cluster.status(n, "wsrep_cluster_size"))
                                || !"Primary".equals(cluster.status(n, "wsrep_cluster_status"))) {
                            return false;
                        }
                    }
                    String writer = a.writer();
                    return writer != null && writer.equals(b.writer());
                });
    }

    /**
     * One client: inserts rows with ids of its own, each in a transaction that also reads the node that ran it,
     * and logs the commits the server acknowledged. On any error (its session closed by a failover, refused while
     * there is no writer, a timeout) the outcome of that commit is unknown, so it is not logged; the client
     * reconnects.
     */
    private static void writeLoop(int client, RunningBaton via, String viaName, List<Ack> log, AtomicBoolean running,
                                  AtomicLong acknowledged, Map<String, LongAdder> errors) {
        long seq = 0;
        while (running.get()) {
            try (Connection c = DriverManager.getConnection(via.mysqlUrl("baton_test",
                    "sslMode=DISABLED&connectTimeout=3000&socketTimeout=6000"), "app", "app")) {
                c.setAutoCommit(false);
                try (PreparedStatement insert = c.prepareStatement(
                        "INSERT INTO chaos (id, client, node) VALUES (?, ?, @@wsrep_node_name)");
                     PreparedStatement node = c.prepareStatement("SELECT @@wsrep_node_name")) {
                    while (running.get()) {
                        long id = client * 1_000_000_000_000L + ++seq;
                        long start = System.nanoTime();
                        insert.setLong(1, id);
                        insert.setInt(2, client);
                        insert.executeUpdate();
                        String ranOn;
                        try (ResultSet rs = node.executeQuery()) {
                            rs.next();
                            ranOn = rs.getString(1);
                        }
                        c.commit();
                        log.add(new Ack(id, client, viaName, ranOn, start, System.nanoTime()));
                        acknowledged.incrementAndGet();
                        Thread.sleep(5); // paces the load
                    }
                }
            } catch (SQLException e) {
                errors.computeIfAbsent(e.getSQLState() + " " + e.getErrorCode(), k -> new LongAdder()).increment();
                sleepQuietly(100); // before reconnecting
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Every row of the table on one node, read straight from it (no Baton) after it has applied all it received. */
    private static Map<Long, String> rowsOn(int node) throws SQLException {
        Map<Long, String> rows = new HashMap<>();
        try (Connection c = DriverManager.getConnection(cluster.jdbcUrl(node, "baton_test") + "?sslMode=DISABLED",
                "app", "app");
             Statement s = c.createStatement()) {
            s.execute("SET SESSION wsrep_sync_wait = 1");
            try (ResultSet rs = s.executeQuery("SELECT id, node FROM chaos")) {
                while (rs.next()) {
                    rows.put(rs.getLong(1), rs.getString(2));
                }
            }
        }
        return rows;
    }

    /** Records when each instance routes to which node, as the instance's own writer changes happen. */
    private static void follow(RunningBaton instance, String name) {
        List<Switch> timeline = java.util.Collections.synchronizedList(new ArrayList<>());
        timelines.put(name, timeline);
        instance.proxy().topology().onWriterChange(change -> timeline.add(new Switch(System.nanoTime(),
                change.current() instanceof WriterChoice.Writer w ? "n" + nodeOf(w.node().name()) : null)));
        String now = instance.writer();
        timeline.add(0, new Switch(System.nanoTime(), now == null ? null : "n" + nodeOf(now)));
    }

    private static void report(long t0, List<Ack> acks, List<Fault> faults, Map<Integer, List<Ack>> missing,
                               List<String> outOfTurn, Disagreement disagreement, Map<String, LongAdder> errors,
                               Map<String, List<Switch>> routing) {
        Map<FaultKind, Integer> byKind = new EnumMap<>(FaultKind.class);
        faults.forEach(f -> byKind.merge(f.kind(), 1, Integer::sum));
        long longestGap = 0;
        long gapFrom = 0;
        for (int i = 1; i < acks.size(); i++) {
            long gap = acks.get(i).ack() - acks.get(i - 1).ack();
            if (gap > longestGap) {
                longestGap = gap;
                gapFrom = acks.get(i - 1).ack();
            }
        }
        Map<String, Long> perNode = new java.util.TreeMap<>();
        acks.forEach(ack -> perNode.merge(ack.node(), 1L, Long::sum));
        Overlap overlap = longestOverlap(acks);
        List<String> handovers = handovers(acks, t0);

        System.out.println("chaos | date: " + Instant.now());
        System.out.println("chaos | Galera evs settings: " + (GaleraFailoverIT.EVS.isEmpty() ? "Galera's defaults" : GaleraFailoverIT.EVS));
        System.out.println("chaos | Baton monitor: interval " + INTERVAL.toMillis() + " ms, timeout " + CHECK_TIMEOUT.toMillis()
                + " ms, fall 3, rise 2; two instances, " + CLIENTS_PER_INSTANCE + " clients each");
        System.out.printf("chaos | run time: %.0f s%n", seconds(System.nanoTime() - t0));
        System.out.println("chaos | faults applied: " + faults.size());
        byKind.forEach((kind, n) -> System.out.println("chaos |   " + n + " x " + kind + ": " + kind.description));
        Map<FaultKind, List<String>> gapsByKind = new EnumMap<>(FaultKind.class);
        for (int i = 0; i < faults.size(); i++) {
            long end = i + 1 < faults.size() ? faults.get(i + 1).at() : Long.MAX_VALUE;
            gapsByKind.computeIfAbsent(faults.get(i).kind(), k -> new ArrayList<>())
                    .add(String.format("%.1f", seconds(longestGap(acks, faults.get(i).at(), end))));
        }
        gapsByKind.forEach((kind, gaps) -> System.out.println("chaos | longest time without an acknowledged write after "
                + kind + " (s, per fault): " + String.join(" ", gaps)));
        System.out.println("chaos | acknowledged writes: " + acks.size() + " " + perNode);
        missing.forEach((node, lost) -> System.out.println("chaos | acknowledged writes missing on n" + node + ": " + lost.size()));
        System.out.printf("chaos | longest time without an acknowledged write: %.2f s (from %.1f s)%n",
                seconds(longestGap), seconds(gapFrom - t0));
        System.out.println("chaos | client errors (SQLSTATE code: count): " + new java.util.TreeMap<>(errors));
        System.out.println("chaos | handovers in the acknowledgement log (by ack time): " + handovers.size());
        handovers.forEach(h -> System.out.println("chaos |   " + h));
        System.out.println("chaos | writes on two nodes overlapping in time: " + overlap.writes()
                + ", longest overlap " + overlap.describe(t0));
        System.out.println("chaos | writes begun while their instance routed elsewhere: " + outOfTurn.size());
        System.out.println("chaos | longest time A and B routed to different writers: " + disagreement.describe(t0));
        System.out.println("chaos | routing of A: " + changes(routing.get("A")));
        System.out.println("chaos | routing of B: " + changes(routing.get("B")));
    }

    /** The longest time from {@code from} or an acknowledgement to the next acknowledgement, among those before {@code to}. */
    private static long longestGap(List<Ack> byAck, long from, long to) {
        long longest = 0;
        long previous = from;
        for (Ack ack : byAck) {
            if (ack.ack() < from) {
                continue;
            }
            if (ack.ack() >= to) {
                break;
            }
            longest = Math.max(longest, ack.ack() - previous);
            previous = ack.ack();
        }
        return longest;
    }

    record Overlap(long writes, long nanos, long at, String nodes) {
        String describe(long t0) {
            return writes == 0 ? "0 ms" : String.format("%.1f ms at %.1f s (%s)", nanos / 1e6, seconds(at - t0), nodes);
        }
    }

    /** Writes whose [start, ack] interval overlaps a write acknowledged by another node, and the longest overlap. */
    static Overlap longestOverlap(List<Ack> acks) {
        List<Ack> byStart = new ArrayList<>(acks);
        byStart.sort(Comparator.comparingLong(Ack::start));
        Map<String, Ack> latestAckPerNode = new HashMap<>();
        long count = 0;
        long longest = 0;
        long at = 0;
        String nodes = "";
        for (Ack w : byStart) {
            boolean overlaps = false;
            for (Map.Entry<String, Ack> e : latestAckPerNode.entrySet()) {
                Ack u = e.getValue();
                if (!e.getKey().equals(w.node()) && u.ack() > w.start()) {
                    overlaps = true;
                    long span = Math.min(u.ack(), w.ack()) - w.start();
                    if (span > longest) {
                        longest = span;
                        at = w.start();
                        nodes = u.node() + " write " + u.id() + " and " + w.node() + " write " + w.id();
                    }
                }
            }
            if (overlaps) {
                count++;
            }
            latestAckPerNode.merge(w.node(), w, (old, now) -> now.ack() > old.ack() ? now : old);
        }
        return new Overlap(count, longest, at, nodes);
    }

    /**
     * The acknowledgement log sorted by ack time and cut into runs of commits on one node: one line per boundary
     * (node X to node Y), with the time from the first start on Y to the last acknowledgement on X (positive: X
     * acknowledged a commit after Y had begun one).
     */
    static List<String> handovers(List<Ack> acks, long t0) {
        List<String> out = new ArrayList<>();
        int runStart = 0;
        for (int i = 1; i <= acks.size(); i++) {
            if (i < acks.size() && acks.get(i).node().equals(acks.get(runStart).node())) {
                continue;
            }
            if (runStart > 0) {
                Ack lastOld = acks.get(runStart - 1);
                long firstStart = Long.MAX_VALUE;
                for (int j = runStart; j < i; j++) {
                    firstStart = Math.min(firstStart, acks.get(j).start());
                }
                out.add(String.format("%.1f s: %s -> %s, last ack on %s minus first start on %s: %+.1f ms",
                        seconds(lastOld.ack() - t0), lastOld.node(), acks.get(runStart).node(), lastOld.node(),
                        acks.get(runStart).node(), (lastOld.ack() - firstStart) / 1e6));
            }
            runStart = i;
        }
        return out;
    }

    private static String changes(List<Switch> timeline) {
        StringBuilder out = new StringBuilder();
        for (Switch s : timeline) {
            out.append(out.length() == 0 ? "" : " -> ").append(s.writer() == null ? "none" : s.writer());
        }
        return out.toString();
    }

    private static String describe(Ack ack, long t0) {
        return String.format("%d via %s on %s [%.3f, %.3f]", ack.id(), ack.via(), ack.node(),
                seconds(ack.start() - t0), seconds(ack.ack() - t0));
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    private static int nodeOf(String batonName) {
        return Integer.parseInt(batonName.substring(2));
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
