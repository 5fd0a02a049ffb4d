package dev.baton.routing.replication;

import dev.baton.routing.Node;
import dev.baton.routing.core.RecordStoreException;
import dev.baton.routing.core.StoredWriter;
import dev.baton.routing.replication.GtidPosition.Gtid;
import dev.baton.routing.replication.ReplicationNodeState.SemiSync;
import dev.baton.routing.replication.ReplicationNodeState.Source;
import dev.baton.routing.replication.ReplicationNodeState.ThreadState;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * A small model of a MariaDB GTID primary/replica cluster in one domain, for the keeper's tests and the simulation:
 * each server has a history of transactions (its binary log, {@code log_slave_updates} on), {@code read_only}, at
 * most one source with IO and SQL threads and a relay log, semi-synchronous replication with a fall-back to
 * asynchronous after a timeout, and Baton's books as transactions in that history, so they replicate like any row.
 * The rules it follows are MariaDB's as documented: a replica asks its source for the transactions after its last
 * GTID and gets error 1236 if the source's binary log does not hold that GTID ({@code gtid_strict_mode});
 * {@code CHANGE MASTER} and {@code RESET SLAVE ALL} discard the relay log; a killed server restarts with
 * {@code read_only} OFF (not in its config) and its replication connection, threads started.
 *
 * <p>Time is the caller's: {@link #step()} moves replication on by one tick; actions are instantaneous.
 */
final class ModelCluster {
    /** How long a replica's IO thread takes to notice a source that stopped answering (heartbeat, slave_net_timeout). */
    static final Duration NET_TIMEOUT = Duration.ofMillis(1000);
    /**
     * How long an IO thread started afresh ({@code CHANGE MASTER}, {@code START SLAVE}, a restart) stays "Connecting"
     * without an error before it receives, though its source answers: connect, authenticate, register, ask for GTIDs.
     */
    static final Duration CONNECT_TIME = Duration.ofMillis(150);
    /** How many relay log transactions an SQL thread applies per tick. */
    static final int APPLY_PER_TICK = 3;

    /** One transaction: a client write (its id), or a change of Baton's books (what they hold after it). */
    record Txn(Gtid gtid, long write, NodeRecord books) {
    }

    /** A client write waiting for its acknowledgement. */
    record Pending(Server on, Txn txn, Instant committedAt) {
    }

    final class Server {
        final Node node;
        final long serverId;
        boolean up = true;
        boolean paused;
        boolean readOnly;
        final List<Txn> history = new ArrayList<>();
        final List<Txn> relay = new ArrayList<>();
        Server source;
        ThreadState io = ThreadState.STOPPED;
        ThreadState sql = ThreadState.STOPPED;
        String ioError = "";
        String sqlError = "";
        Gtid ioPos;
        /** Since when the IO thread has heard nothing from its source, null while it hears from it. */
        Instant silentSince;
        /** The IO thread connected to its source since it was set or the server started. */
        boolean connectedOnce;
        /** When the IO thread was started afresh, null once it received from its source. */
        Instant connectingSince;
        boolean semiSyncSourceConfigured;
        boolean semiSyncSourceEnabled;
        boolean semiSyncSourceActive;
        String lockHolder;
        /** The highest epoch claimed here ({@code epoch_claim}, not replicated, kept across restarts). */
        long claimedEpoch;
        /** The SQL thread runs but applies nothing in regular ticks (a long transaction); a wait for it still ends. */
        boolean slowApply;

        Server(Node node, long serverId) {
            this.node = node;
            this.serverId = serverId;
        }

        boolean answers() {
            return up && !paused;
        }

        Gtid last() {
            return history.isEmpty() ? null : history.get(history.size() - 1).gtid();
        }

        /** The last transaction received (relay log) or held. */
        Gtid lastReceived() {
            return relay.isEmpty() ? last() : relay.get(relay.size() - 1).gtid();
        }

        GtidPosition position() {
            Gtid g = last();
            return g == null ? GtidPosition.EMPTY : GtidPosition.of(g);
        }

        boolean holds(Gtid g) {
            return history.stream().anyMatch(t -> t.gtid().equals(g));
        }

        boolean holdsWrite(long write) {
            return history.stream().anyMatch(t -> t.write() == write);
        }

        NodeRecord books() {
            for (int i = history.size() - 1; i >= 0; i--) {
                if (history.get(i).books() != null) {
                    return history.get(i).books();
                }
            }
            return NodeRecord.NONE;
        }

        /** Commits a transaction written here (a client's or Baton's books) under the next sequence number. */
        Txn commit(long write, NodeRecord books) {
            long seq = last() == null ? 1 : last().sequence() + 1;
            Txn t = new Txn(new Gtid(0, serverId, seq), write, books);
            history.add(t);
            return t;
        }

        @Override
        public String toString() {
            return node.name() + (up ? paused ? " paused" : "" : " down") + (readOnly ? " ro" : " rw")
                    + (source == null ? "" : " <-" + source.node.name() + " io=" + io + " sql=" + sql
                    + (ioError.isEmpty() ? "" : ioError.contains("1236") ? " (1236)" : " (IO error)")) + " at " + position() + (relay.isEmpty() ? "" : " relay " + relay.size());
        }
    }

    private final Supplier<Instant> clock;
    final Map<String, Server> servers = new LinkedHashMap<>();
    /** Replication links cut: "source>replica". */
    final Set<String> replicationCut = new HashSet<>();
    final List<Pending> pending = new ArrayList<>();
    /** Writes acknowledged while semi-synchronous replication was active on their primary. */
    final Set<Long> ackedSemiSync = new TreeSet<>();
    final Set<Long> ackedAsync = new TreeSet<>();
    /**
     * Writes acknowledged under semi-sync whose only copy beside their primary was in the relay log of a replica that
     * was then killed (relay_log_recovery discards it) or reset by an operator ({@code RESET SLAVE ALL} deletes it):
     * two faults, where semi-sync with one acknowledgement guards against one.
     */
    final Set<Long> lostToTwoFaults = new TreeSet<>();
    /**
     * Writes acknowledged under semi-sync by a primary that the record had already replaced: a commit in flight when
     * it froze, acknowledged when it resumed by a replica that still replicated from it (one that was down while
     * another node was promoted). No one can keep those: the old primary is fenced once an instance reaches it.
     */
    final Set<Long> ackedByReplaced = new TreeSet<>();
    Duration semiSyncTimeout = Duration.ofMillis(1500);
    boolean semiSyncFallback = true;
    private long writes;

    ModelCluster(Supplier<Instant> clock) {
        this.clock = clock;
    }

    /** A server; the first one added is the primary with semi-sync on, the others read-only replicas of it. */
    Server add(Node node, long serverId) {
        Server s = new Server(node, serverId);
        if (servers.isEmpty()) {
            s.semiSyncSourceConfigured = true;
            s.semiSyncSourceEnabled = true;
            s.semiSyncSourceActive = true;
        } else {
            Server primary = servers.values().iterator().next();
            s.readOnly = true;
            point(s, primary);
        }
        servers.put(node.name(), s);
        return s;
    }

    Server server(Node node) {
        return servers.get(node.name());
    }

    // ---------------------------------------------------------------- the world moves

    /** One tick of replication, semi-sync acknowledgements included. */
    void step() {
        Instant now = clock.get();
        for (Server r : servers.values()) {
            replicate(r, now, r.slowApply ? 0 : APPLY_PER_TICK);
        }
        acknowledge(now);
    }

    /** One tick of {@code r}'s IO thread (receive what its source has) and SQL thread (apply up to {@code applyMax}). */
    private void replicate(Server r, Instant now, int applyMax) {
        if (!r.answers() || r.source == null) {
            return;
        }
        Server s = r.source;
        boolean link = s.answers() && !replicationCut.contains(s.node.name() + ">" + r.node.name());
        if (r.io != ThreadState.STOPPED) {
            if (!link) {
                // Heard nothing: a killed source resets the connection at once and refuses the reconnect; a frozen one
                // or a cut link is noticed after slave_net_timeout (heartbeats), and so is a first connect that hangs.
                // Either way the IO thread keeps reconnecting ("Connecting") and reports why it cannot.
                r.silentSince = r.silentSince == null ? now : r.silentSince;
                if (!s.up) {
                    r.io = ThreadState.CONNECTING;
                    r.ioError = ioError(r, s, "(111 \"Connection refused\")");
                } else if (!now.isBefore(r.silentSince.plus(NET_TIMEOUT))) {
                    r.io = ThreadState.CONNECTING;
                    r.ioError = ioError(r, s, "(110 \"Connection timed out\")");
                }
            } else if (r.io == ThreadState.CONNECTING && r.connectingSince != null
                    && now.isBefore(r.connectingSince.plus(CONNECT_TIME))) {
                r.silentSince = null; // the source answers; the IO thread is still setting up
            } else {
                r.silentSince = null;
                r.connectingSince = null;
                Gtid from = r.lastReceived();
                if (from != null && !s.holds(from)) {
                    r.io = ThreadState.STOPPED;
                    r.ioError = "Got fatal error 1236 from master when reading data from binary log: 'Error: "
                            + "connecting slave requested to start from GTID " + from + ", which is not in the master's binlog'";
                } else {
                    r.io = ThreadState.RUNNING;
                    r.ioError = ""; // a connection that succeeds clears the reconnect error
                    r.connectedOnce = true;
                    int at = from == null ? 0 : indexOf(s, from) + 1;
                    for (int i = at; i < s.history.size(); i++) {
                        r.relay.add(s.history.get(i));
                        r.ioPos = s.history.get(i).gtid();
                    }
                }
            }
        }
        if (r.sql == ThreadState.RUNNING) {
            apply(r, applyMax);
        }
    }

    /** {@code Last_IO_Error} as MariaDB words it when the IO thread cannot reach its source (errno 2003). */
    private static String ioError(Server r, Server s, String why) {
        return "error " + (r.connectedOnce ? "reconnecting" : "connecting") + " to master 'repl@" + s.node.address().host()
                + ":" + s.node.address().port() + "' - retry-time: 1  maximum-retries: 86400  message: Can't connect to "
                + "server on '" + s.node.address().host() + "' " + why;
    }

    private static int indexOf(Server s, Gtid g) {
        for (int i = 0; i < s.history.size(); i++) {
            if (s.history.get(i).gtid().equals(g)) {
                return i;
            }
        }
        throw new IllegalStateException(g + " not in " + s.node.name());
    }

    private static void apply(Server r, int max) {
        for (int n = 0; n < max && !r.relay.isEmpty() && r.sql == ThreadState.RUNNING; n++) {
            Txn t = r.relay.remove(0);
            if (r.last() != null && t.gtid().sequence() <= r.last().sequence()) {
                r.sql = ThreadState.STOPPED;
                r.sqlError = "An attempt was made to binlog GTID " + t.gtid() + " which would create an out-of-order "
                        + "sequence number with existing GTID " + r.last() + ", and gtid strict mode is enabled";
                return;
            }
            r.history.add(t);
        }
    }

    private void acknowledge(Instant now) {
        for (Server p : servers.values()) {
            if (!p.answers() || !p.semiSyncSourceEnabled || p.semiSyncSourceActive) {
                continue;
            }
            if (semiSyncReplicas(p).stream().anyMatch(r -> r.io == ThreadState.RUNNING && p.last() != null
                    && p.last().equals(r.lastReceived()))) {
                p.semiSyncSourceActive = true; // a semi-sync replica caught up: MariaDB switches back on
            }
        }
        pending.removeIf(w -> {
            Server p = w.on();
            if (!p.up) {
                return true; // the client saw its connection drop: never acknowledged
            }
            if (p.paused) {
                return false;
            }
            boolean received = semiSyncReplicas(p).stream().anyMatch(r -> r.io == ThreadState.RUNNING
                    && (r.holds(w.txn().gtid()) || r.relay.contains(w.txn())));
            if (received && p.semiSyncSourceActive) {
                ackedSemiSync.add(w.txn().write());
                if (recordWrites.stream().max(java.util.Comparator.comparingLong(r -> r.next().epoch()))
                        .filter(r -> !r.next().writer().equals(p.node.name())).isPresent()) {
                    ackedByReplaced.add(w.txn().write());
                }
                return true;
            }
            if (!p.semiSyncSourceActive || semiSyncFallback && !now.isBefore(w.committedAt().plus(semiSyncTimeout))) {
                p.semiSyncSourceActive = false;
                ackedAsync.add(w.txn().write());
                return true;
            }
            return false;
        });
    }

    private List<Server> semiSyncReplicas(Server p) {
        return servers.values().stream().filter(r -> r.answers() && r.source == p
                && !replicationCut.contains(p.node.name() + ">" + r.node.name())).toList();
    }

    /** A client writes through a connection to {@code node}; returns the write's id, or 0 if the server refused it. */
    long write(Node node) {
        Server s = server(node);
        if (!s.answers() || s.readOnly) {
            return 0;
        }
        Txn t = s.commit(++writes, null);
        if (s.semiSyncSourceEnabled && s.semiSyncSourceActive) {
            pending.add(new Pending(s, t, clock.get()));
        } else {
            ackedAsync.add(t.write());
        }
        return t.write();
    }

    /** {@code s}'s relay log is about to be discarded by a fault: the acknowledged writes only it had received. */
    private void relayLost(Server s) {
        for (long w : ackedSemiSync) {
            if (!s.holdsWrite(w) && s.relay.stream().anyMatch(t -> t.write() == w)
                    && servers.values().stream().filter(o -> o != s).filter(o -> o.holdsWrite(w)
                    || o.relay.stream().anyMatch(t -> t.write() == w)).count() <= 1) {
                lostToTwoFaults.add(w);
            }
        }
    }

    void kill(Node node) {
        Server s = server(node);
        relayLost(s);
        s.up = false;
        s.paused = false;
        s.lockHolder = null;
    }

    /** Restarts as MariaDB does without {@code read_only} in its config: writable, replication threads started. */
    void restart(Node node) {
        Server s = server(node);
        s.up = true;
        s.readOnly = false;
        s.relay.clear(); // relay_log_recovery
        s.ioPos = s.last();
        s.semiSyncSourceEnabled = s.semiSyncSourceConfigured;
        s.semiSyncSourceActive = s.semiSyncSourceEnabled;
        if (s.source != null) {
            s.io = ThreadState.CONNECTING;
            s.sql = ThreadState.RUNNING;
            s.ioError = "";
            s.sqlError = "";
            s.silentSince = null;
            s.connectedOnce = false;
            s.connectingSince = clock.get();
        }
    }

    private void point(Server r, Server s) {
        r.source = s;
        r.relay.clear();
        r.io = ThreadState.CONNECTING;
        r.sql = ThreadState.RUNNING;
        r.ioError = "";
        r.sqlError = "";
        r.ioPos = r.last();
        r.silentSince = null;
        r.connectedOnce = false;
        r.connectingSince = clock.get();
    }

    /** An operator's {@code STOP SLAVE IO_THREAD}: "No", and the error it had, if any, stays until it starts again. */
    void stopIoThread(Node node) {
        Server s = server(node);
        if (s.answers() && s.source != null) {
            s.io = ThreadState.STOPPED;
            s.silentSince = null;
        }
    }

    /** An operator's {@code STOP SLAVE; RESET SLAVE ALL}: a read-only node that replicates from nobody. */
    void resetReplica(Node node) {
        Server s = server(node);
        if (s.answers() && s.source != null) {
            relayLost(s);
            s.source = null;
            s.io = ThreadState.STOPPED;
            s.sql = ThreadState.STOPPED;
            s.relay.clear();
            s.ioError = "";
            s.sqlError = "";
            s.silentSince = null;
        }
    }

    /** An operator's {@code START SLAVE}: both threads start, the errors are cleared, the IO thread connects afresh. */
    void startReplica(Node node) {
        Server s = server(node);
        if (s.answers() && s.source != null) {
            s.io = ThreadState.CONNECTING;
            s.sql = ThreadState.RUNNING;
            s.ioError = "";
            s.sqlError = "";
            s.silentSince = null;
            s.connectingSince = clock.get();
        }
    }

    // ---------------------------------------------------------------- what one instance sees and does

    /** The actions of one Baton instance, through its own links (cut with {@code linkCut}). */
    Actions actions(String instance) {
        return new Actions(instance);
    }

    final class Actions implements ReplicationActions {
        final String instance;
        final Set<String> linkCut = new HashSet<>();
        /** The role each node had at this instance's latest answered check (probe or action). */
        final Map<String, ReplicationNodeState> lastAnswer = new LinkedHashMap<>();
        /** Makes the next action on a node kill it first (kill -9 in the middle of a sequence). */
        final Set<String> killOnNextAction = new HashSet<>();

        Actions(String instance) {
            this.instance = instance;
        }

        private Server reach(Node node) throws ActionException {
            Server s = server(node);
            if (killOnNextAction.remove(node.name())) {
                kill(node);
            }
            if (!s.up || linkCut.contains(node.name())) {
                throw new ActionException("cannot connect to " + node.name() + ": connection refused");
            }
            if (s.paused) {
                throw new ActionException(node.name() + " did not answer within 1000 ms");
            }
            return s;
        }

        boolean reaches(Node node) {
            Server s = server(node);
            return s.answers() && !linkCut.contains(node.name());
        }

        @Override
        public ClusterLock lock(List<Node> nodes) throws ActionException {
            List<Server> held = new ArrayList<>();
            List<String> others = new ArrayList<>();
            for (Node n : nodes) {
                Server s = server(n);
                if (!reaches(n)) {
                    continue;
                }
                if (s.lockHolder == null || s.lockHolder.equals(instance)) {
                    s.lockHolder = instance;
                    held.add(s);
                } else {
                    others.add(s.lockHolder + " on " + n.name());
                }
            }
            if (held.size() < nodes.size() / 2 + 1) {
                held.forEach(s -> s.lockHolder = null);
                throw new ActionException("the cluster lock is held by " + (others.isEmpty() ? "nobody" : String.join(", ", others))
                        + "; " + held.size() + " of " + nodes.size() + " nodes granted it");
            }
            return new ClusterLock() {
                @Override
                public List<Node> heldOn() {
                    return held.stream().map(s -> s.node).toList();
                }

                @Override
                public boolean intact() {
                    return held.stream().allMatch(s -> s.up && instance.equals(s.lockHolder));
                }

                private final long claimed = held.stream().mapToLong(s -> s.claimedEpoch).max().orElse(0);

                @Override
                public long claimedEpoch() {
                    return claimed;
                }

                @Override
                public void claim(long epoch) throws ActionException {
                    for (Server s : held) {
                        if (!s.up || !reaches(s.node) || !instance.equals(s.lockHolder)) {
                            throw new ActionException(s.node.name() + ": claiming epoch " + epoch + " failed: lost the node");
                        }
                        s.claimedEpoch = Math.max(s.claimedEpoch, epoch);
                    }
                }

                @Override
                public void close() {
                    held.stream().filter(s -> instance.equals(s.lockHolder)).forEach(s -> s.lockHolder = null);
                }
            };
        }

        @Override
        public ReplicationNodeState check(Node node) {
            Instant now = clock.get();
            Server s = server(node);
            if (!s.up || linkCut.contains(node.name())) {
                return ReplicationNodeState.unreachable(now, "connection refused");
            }
            if (s.paused) {
                return ReplicationNodeState.unreachable(now, "no answer within 1000 ms");
            }
            List<Source> sources = s.source == null ? List.of() : List.of(new Source("", s.source.node.address().host(),
                    s.source.node.address().port(), s.io, s.sql, s.ioError, s.sqlError, OptionalLong.of(s.relay.size()),
                    s.ioPos == null ? GtidPosition.EMPTY : GtidPosition.of(s.ioPos), "", "", "Slave_Pos"));
            long clients = servers.values().stream().filter(r -> r.answers() && r.source == s && r.io == ThreadState.RUNNING).count();
            SemiSync semi = new SemiSync(s.semiSyncSourceEnabled, s.semiSyncSourceEnabled && s.semiSyncSourceActive, clients,
                    true, s.source != null && s.io == ThreadState.RUNNING);
            ReplicationNodeState state = new ReplicationNodeState(now, null, s.serverId, s.readOnly, s.position(), s.position(),
                    s.position(), sources, semi, 300, Map.of(), s.books());
            lastAnswer.put(node.name(), state);
            return state;
        }

        @Override
        public void awaitApplied(Node replica, GtidPosition position, Duration timeout) throws ActionException {
            Server r = reach(replica);
            if (!timeout.minus(CONNECT_TIME).isNegative()) {
                r.connectingSince = null; // the wait outlasts a fresh IO thread's connect
            }
            replicate(r, clock.get(), Integer.MAX_VALUE); // replication goes on while Baton waits

            if (!r.position().contains(position)) {
                throw new ActionException(replica.name() + " did not apply " + position + " within " + timeout.toMillis()
                        + " ms (it is at " + r.position() + ")");
            }
        }

        @Override
        public ReplicationNodeState awaitReceiving(Node replica, Duration timeout) throws ActionException {
            Server r = reach(replica);
            if (!timeout.minus(CONNECT_TIME).isNegative()) {
                r.connectingSince = null; // the wait outlasts a fresh IO thread's connect
            }
            replicate(r, clock.get(), Integer.MAX_VALUE);
            return check(replica);
        }

        @Override
        public void stopReplication(Node node) throws ActionException {
            Server s = reach(node);
            s.source = null;
            s.io = ThreadState.STOPPED;
            s.sql = ThreadState.STOPPED;
            s.relay.clear();
            s.ioError = "";
            s.sqlError = "";
            check(node);
        }

        @Override
        public void setReadOnly(Node node, boolean readOnly) throws ActionException {
            reach(node).readOnly = readOnly;
            check(node); // the instance knows what it just set
        }

        @Override
        public int endClientSessions(Node node) throws ActionException {
            Server s = reach(node);
            int ended = (int) pending.stream().filter(p -> p.on() == s).count();
            pending.removeIf(p -> p.on() == s); // their clients see the connection end: not acknowledged
            return ended;
        }

        @Override
        public void replicateFrom(Node replica, Node primary) throws ActionException {
            Server r = reach(replica);
            point(r, server(primary));
            check(replica);
        }

        @Override
        public void enableSemiSyncSource(Node primary) throws ActionException {
            Server s = reach(primary);
            s.semiSyncSourceEnabled = true;
            s.semiSyncSourceActive = true;
        }

        @Override
        public RecordWrite writeRecord(Node primary, long expectedEpoch, StoredWriter next, NodeRecord.Promotion promotion)
                throws RecordStoreException {
            Server s;
            try {
                s = reach(primary);
            } catch (ActionException e) {
                throw new RecordStoreException(e.getMessage(), false, e);
            }
            if (s.source != null) {
                throw new AssertionError(instance + " wrote the record on " + primary.name() + ", a replica of "
                        + s.source.node.name() + ": an errant transaction");
            }
            NodeRecord books = s.books();
            if (books.epoch() != expectedEpoch) {
                return new RecordWrite(false, s.position());
            }
            Optional<NodeRecord.Promotion> promoted = promotion == null ? books.promotion() : Optional.of(promotion);
            s.commit(0, new NodeRecord(Optional.of(next), books.maintenance(), promoted, null));
            recordWrites.add(new RecordWriteSeen(clock.get(), instance, primary.name(), expectedEpoch, next));
            return new RecordWrite(true, s.position());
        }

        @Override
        public void setMaintenance(Node primary, String node, boolean on, String requestedBy) throws RecordStoreException {
            Server s;
            try {
                s = reach(primary);
            } catch (ActionException e) {
                throw new RecordStoreException(e.getMessage(), false, e);
            }
            NodeRecord books = s.books();
            Set<String> m = new HashSet<>(books.maintenance());
            if (on) {
                m.add(node);
            } else {
                m.remove(node);
            }
            s.commit(0, new NodeRecord(books.writer(), m, books.promotion(), null));
        }
    }

    /** One applied compare-and-set of the record, on whichever node. */
    record RecordWriteSeen(Instant at, String instance, String on, long expectedEpoch, StoredWriter next) {
        @Override
        public String toString() {
            return at + " " + instance + " on " + on + ": " + expectedEpoch + " -> " + next.writer() + "@" + next.epoch()
                    + " (" + next.reason() + ")";
        }
    }

    final List<RecordWriteSeen> recordWrites = new ArrayList<>();
}
