package dev.baton.routing.replication;

import dev.baton.routing.ClusterSpec;
import dev.baton.routing.Node;
import dev.baton.routing.core.MonitorConnector;
import dev.baton.routing.core.RecordStoreException;
import dev.baton.routing.core.StoredWriter;
import dev.baton.routing.record.SqlWriterRecordStore;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@link ReplicationActions} on MariaDB 10.11 over the monitor user's connections ({@link MonitorConnector}): each
 * action opens a fresh connection to its node, runs its statements and closes it, except the cluster lock, whose
 * connections stay open while it is held. The books go through {@link SqlWriterRecordStore}, shared with Galera.
 *
 * <p>A replica is pointed at a primary with {@code MASTER_USE_GTID=slave_pos} after
 * {@code SET GLOBAL gtid_slave_pos = @@gtid_current_pos}: a replica resumes from what it applied, and a former
 * primary, which never replicated, from what it wrote itself, so a node holding transactions the new primary lacks
 * (an errant transaction) is refused by the new primary (error 1236) instead of being silently overwritten.
 * The heartbeat is the server's default for a new source, half of {@code slave_net_timeout}.
 */
public final class SqlReplicationActions implements ReplicationActions {
    private static final int ER_NO_SUCH_THREAD = 1094;
    private static final int ER_BAD_SLAVE = 1200;
    /** Statements that change a server's state may wait behind commits or a stopping SQL thread. */
    private static final Duration CHANGE_TIMEOUT = Duration.ofSeconds(10);
    /** Threads that are not client sessions, by {@code information_schema.processlist.user}. */
    private static final Set<String> SYSTEM_USERS = Set.of("system user", "event_scheduler");
    /** Threads that are not client sessions, by {@code command}: replication on both sides, and daemons. */
    private static final Set<String> SERVER_COMMANDS = Set.of("Binlog Dump", "Binlog Dump GTID", "Slave_IO", "Slave_SQL",
            "Slave_worker", "Daemon");

    /** True if the current user holds {@code PROCESS} globally (directly, not through a role). */
    private static final String SEES_EVERY_SESSION = "SELECT EXISTS (SELECT 1 FROM information_schema.user_privileges"
            + " WHERE privilege_type = 'PROCESS' AND grantee = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1),"
            + " '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), ''''))";

    private final ClusterSpec spec;
    private final MonitorConnector connector;
    private final ReplicationProbe probe;
    private final SqlWriterRecordStore store;
    private final String lockName;
    /**
     * The connection ids of the lock connections this object holds open, by node name: {@link #endClientSessions}
     * spares them, so fencing a node never drops this instance's own share of the lock.
     */
    private final Map<String, Set<Long>> ownLockConnections = new ConcurrentHashMap<>();

    public SqlReplicationActions(ClusterSpec spec, Clock clock) {
        if (spec.monitor() == null || spec.replication() == null) {
            throw new IllegalArgumentException("a primary/replica cluster needs monitor and replication settings");
        }
        this.spec = spec;
        this.connector = MonitorConnector.of(spec);
        this.probe = new ReplicationProbe(connector, spec.monitor(), spec.schema(), clock);
        this.store = new SqlWriterRecordStore(spec.schema(), connector::connect, spec.monitor().timeout());
        String name = spec.schema() + ".cluster";
        this.lockName = name.length() <= 64 ? name : spec.schema().substring(0, 56) + ".cluster"; // GET_LOCK's limit
    }

    /** The name of the lock {@link #lock} takes on each node ({@code <schema>.cluster}). */
    public String lockName() {
        return lockName;
    }

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection c) throws SQLException, ActionException;
    }

    /** Runs {@code work} on a fresh connection to {@code node}; any SQL failure names the node and {@code what}. */
    private <T> T on(Node node, Duration readTimeout, String what, Work<T> work) throws ActionException {
        try (Connection c = connector.connect(node, readTimeout)) {
            return work.run(c);
        } catch (SQLException e) {
            throw failed(node, what, e);
        }
    }

    private ActionException failed(Node node, String what, SQLException e) {
        return new ActionException(node.name() + ": " + what + " failed: " + connector.describe(e), e);
    }

    private Duration changeTimeout() {
        return spec.monitor().timeout().compareTo(CHANGE_TIMEOUT) > 0 ? spec.monitor().timeout() : CHANGE_TIMEOUT;
    }

    @Override
    public ClusterLock lock(List<Node> nodes) throws ActionException {
        Map<Node, Connection> held = new LinkedHashMap<>();
        Map<Node, Long> ids = new LinkedHashMap<>();
        List<String> refused = new ArrayList<>();
        for (Node node : nodes) {
            Connection c = null;
            try {
                c = connector.connect(node);
                try (PreparedStatement p = c.prepareStatement("SELECT GET_LOCK(?, 0), CONNECTION_ID()")) {
                    p.setString(1, lockName);
                    try (ResultSet rs = p.executeQuery()) {
                        rs.next();
                        if (rs.getInt(1) == 1) {
                            held.put(node, c);
                            ids.put(node, rs.getLong(2));
                            ownLockConnections.computeIfAbsent(node.name(), n -> ConcurrentHashMap.newKeySet()).add(rs.getLong(2));
                            c = null;
                        } else {
                            refused.add(node.name() + " " + holder(c));
                        }
                    }
                }
            } catch (SQLException e) {
                refused.add(node.name() + " " + connector.describe(e));
            } finally {
                closeQuietly(c);
            }
        }
        HeldLock lock = new HeldLock(held, ids);
        if (held.size() * 2 > nodes.size()) {
            try {
                lock.claimed = claimedOn(held);
            } catch (ActionException e) {
                lock.close();
                throw e;
            }
            return lock;
        }
        lock.close();
        throw new ActionException("cluster lock " + lockName + " taken on " + held.size() + " of " + nodes.size()
                + " nodes, not a majority: " + String.join("; ", refused));
    }

    /** The highest epoch claimed on any of the lock's nodes, 0 where nothing was ever claimed. */
    private long claimedOn(Map<Node, Connection> held) throws ActionException {
        long max = 0;
        for (Map.Entry<Node, Connection> e : held.entrySet()) {
            try (Statement s = e.getValue().createStatement();
                 ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(epoch), 0) FROM `" + spec.schema() + "`.`epoch_claim`")) {
                rs.next();
                max = Math.max(max, rs.getLong(1));
            } catch (SQLException x) {
                if (x.getErrorCode() != 1146 && x.getErrorCode() != 1049) { // no table (or schema) yet: nothing claimed
                    throw new ActionException(e.getKey().name() + ": reading the claimed epochs failed: "
                            + connector.describe(x), x);
                }
            }
        }
        return max;
    }

    /** Who holds the lock on the node {@code c} is connected to, as far as the monitor user may see. */
    private String holder(Connection c) {
        try (PreparedStatement p = c.prepareStatement("SELECT l.id, p.user, p.host FROM (SELECT IS_USED_LOCK(?) AS id) AS l"
                + " LEFT JOIN information_schema.processlist AS p ON p.id = l.id")) {
            p.setString(1, lockName);
            try (ResultSet rs = p.executeQuery()) {
                rs.next();
                long id = rs.getLong(1);
                if (rs.wasNull()) {
                    return "was held by another connection, since released";
                }
                String user = rs.getString(2);
                return "held by connection " + id + (user == null ? "" : " of " + user + "@" + rs.getString(3));
            }
        } catch (SQLException e) {
            return "held by another connection (" + connector.describe(e) + ")";
        }
    }

    private static void closeQuietly(Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (SQLException e) {
            // closing releases the lock on the server whether or not the goodbye arrived
        }
    }

    /** The lock as held: one open connection per node that granted it. */
    private final class HeldLock implements ClusterLock {
        private final Map<Node, Connection> connections;
        private final Map<Node, Long> ids;
        private boolean closed;
        private long claimed;

        @Override
        public long claimedEpoch() {
            return claimed;
        }

        @Override
        public synchronized void claim(long epoch) throws ActionException {
            for (Map.Entry<Node, Connection> e : connections.entrySet()) {
                try (Statement s = e.getValue().createStatement()) {
                    // Each node's own: replicated, a claim written on a replica would be an errant transaction.
                    s.execute("SET SESSION sql_log_bin = 0");
                    try {
                        s.execute("CREATE DATABASE IF NOT EXISTS `" + spec.schema() + "`");
                        s.execute("CREATE TABLE IF NOT EXISTS `" + spec.schema() + "`.`epoch_claim` (epoch BIGINT PRIMARY KEY, "
                                + "instance VARCHAR(128) NOT NULL, claimed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) "
                                + "ENGINE=InnoDB");
                        try (PreparedStatement p = e.getValue().prepareStatement("INSERT IGNORE INTO `" + spec.schema()
                                + "`.`epoch_claim` (epoch, instance) VALUES (?, ?)")) {
                            p.setLong(1, epoch);
                            p.setString(2, spec.instanceName().length() > 128 ? spec.instanceName().substring(0, 128)
                                    : spec.instanceName());
                            p.executeUpdate();
                        }
                    } finally {
                        s.execute("SET SESSION sql_log_bin = 1");
                    }
                } catch (SQLException x) {
                    throw new ActionException(e.getKey().name() + ": claiming epoch " + epoch + " failed: "
                            + connector.describe(x), x);
                }
            }
            claimed = Math.max(claimed, epoch);
        }

        HeldLock(Map<Node, Connection> connections, Map<Node, Long> ids) {
            this.connections = connections;
            this.ids = ids;
        }

        @Override
        public List<Node> heldOn() {
            return List.copyOf(connections.keySet());
        }

        @Override
        public synchronized boolean intact() {
            if (closed) {
                return false;
            }
            for (Connection c : connections.values()) {
                try {
                    if (!c.isValid(1)) {
                        return false;
                    }
                } catch (SQLException e) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            connections.forEach((node, c) -> {
                // Released before the connection closes: a server frees a closed connection's locks only once its
                // thread has noticed, so another instance asking right after would find the lock still taken.
                try (PreparedStatement p = c.prepareStatement("DO RELEASE_LOCK(?)")) {
                    p.setQueryTimeout(2);
                    p.setString(1, lockName);
                    p.execute();
                } catch (SQLException e) {
                    // the connection is gone already, and its lock with it
                }
                closeQuietly(c);
                Set<Long> own = ownLockConnections.get(node.name());
                if (own != null) {
                    own.remove(ids.get(node));
                }
            });
        }

        @Override
        public String toString() {
            return "ClusterLock[" + lockName + " on " + connections.keySet().stream().map(Node::name).toList() + "]";
        }
    }

    @Override
    public ReplicationNodeState check(Node node) {
        return probe.check(node);
    }

    @Override
    public void awaitApplied(Node replica, GtidPosition position, Duration timeout) throws ActionException {
        if (position.isEmpty()) {
            return;
        }
        on(replica, timeout.plus(spec.monitor().timeout()), "waiting to apply up to " + position, c -> {
            try (PreparedStatement p = c.prepareStatement("SELECT MASTER_GTID_WAIT(?, ?), @@global.gtid_slave_pos")) {
                p.setString(1, position.toString());
                p.setBigDecimal(2, BigDecimal.valueOf(timeout.toMillis(), 3));
                try (ResultSet rs = p.executeQuery()) {
                    rs.next();
                    int waited = rs.getInt(1);
                    if (rs.wasNull() || waited != 0) {
                        throw new ActionException(replica.name() + " did not apply up to " + position + " within "
                                + timeout.toMillis() + " ms (gtid_slave_pos now " + currentSlavePos(c) + ")");
                    }
                }
            }
            return null;
        });
    }

    private static String currentSlavePos(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@global.gtid_slave_pos")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * Stops and forgets each replication connection by name ({@code STOP SLAVE 'name'}, {@code RESET SLAVE 'name'
     * ALL}) rather than with {@code STOP ALL SLAVES}, which MariaDB 10.11 lets only users with {@code RELOAD} run.
     */
    @Override
    public void stopReplication(Node node) throws ActionException {
        on(node, changeTimeout(), "stopping replication", c -> {
            List<String> names = new ArrayList<>();
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW ALL SLAVES STATUS")) {
                while (rs.next()) {
                    names.add(rs.getString("Connection_name"));
                }
            }
            for (String name : names) {
                for (String statement : List.of("STOP SLAVE ?", "RESET SLAVE ? ALL")) {
                    step(node, statement.replace("?", "'" + name + "'"), () -> {
                        try (PreparedStatement p = c.prepareStatement(statement)) {
                            p.setString(1, name);
                            p.execute();
                        }
                    });
                }
            }
            return null;
        });
    }

    @Override
    public void setReadOnly(Node node, boolean readOnly) throws ActionException {
        on(node, changeTimeout(), "SET GLOBAL read_only = " + (readOnly ? "ON" : "OFF"), c -> {
            try (Statement s = c.createStatement()) {
                s.execute("SET GLOBAL read_only = " + (readOnly ? "ON" : "OFF"));
            }
            return null;
        });
    }

    /**
     * Ends every connection but replication and server threads, this call's own connection and the lock connections
     * this object holds on {@code node}. Connections of other Baton instances are ended too: their monitor user may
     * write past {@code read_only}, and the caller holds the cluster lock, so another instance's share of it on this
     * node is no majority anyway. A session that ended by itself in between is not counted.
     */
    @Override
    public int endClientSessions(Node node) throws ActionException {
        return on(node, changeTimeout(), "ending client sessions", c -> {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(SEES_EVERY_SESSION)) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    // without PROCESS the process list shows only the monitor's own sessions: ending "all" would end none
                    throw new ActionException(node.name() + ": ending client sessions needs the PROCESS privilege to see"
                            + " them; grant PROCESS to " + spec.monitor().user());
                }
            }
            Set<Long> spared = ownLockConnections.getOrDefault(node.name(), Set.of());
            List<Long> sessions = new ArrayList<>();
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT id, user, command"
                    + " FROM information_schema.processlist WHERE id <> CONNECTION_ID()")) {
                while (rs.next()) {
                    long id = rs.getLong(1);
                    if (!SYSTEM_USERS.contains(rs.getString(2)) && !SERVER_COMMANDS.contains(rs.getString(3))
                            && !spared.contains(id)) {
                        sessions.add(id);
                    }
                }
            }
            int ended = 0;
            SQLException firstFailure = null;
            try (Statement s = c.createStatement()) {
                for (long id : sessions) {
                    try {
                        s.execute("KILL CONNECTION " + id);
                        ended++;
                    } catch (SQLException e) {
                        if (e.getErrorCode() != ER_NO_SUCH_THREAD && firstFailure == null) {
                            firstFailure = e;
                        }
                    }
                }
            }
            if (firstFailure != null) {
                throw failed(node, "ending client sessions (" + ended + " of " + sessions.size() + " ended)", firstFailure);
            }
            return ended;
        });
    }

    @Override
    public void replicateFrom(Node replica, Node primary) throws ActionException {
        if (replica.equals(primary)) {
            throw new IllegalArgumentException(replica.name() + " cannot replicate from itself");
        }
        ClusterSpec.ReplicationSettings settings = spec.replication();
        String to = "replicating from " + primary.name() + ": ";
        on(replica, changeTimeout(), to + "STOP SLAVE", c -> {
            try (Statement s = c.createStatement()) {
                try {
                    s.execute("STOP SLAVE");
                } catch (SQLException e) {
                    if (e.getErrorCode() != ER_BAD_SLAVE) {
                        throw e; // a node that never replicated has nothing to stop
                    }
                }
                step(replica, to + "SET GLOBAL gtid_slave_pos = @@gtid_current_pos", () ->
                        s.execute("SET GLOBAL gtid_slave_pos = @@global.gtid_current_pos"));
                step(replica, to + "CHANGE MASTER TO", () -> {
                    try (PreparedStatement p = c.prepareStatement("CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?,"
                            + " MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos")) {
                        p.setString(1, primary.address().host());
                        p.setInt(2, primary.address().port());
                        p.setString(3, settings.user());
                        p.setString(4, settings.password());
                        p.execute();
                    }
                });
                step(replica, to + "START SLAVE", () -> s.execute("START SLAVE"));
            }
            return null;
        });
    }

    @FunctionalInterface
    private interface Step {
        void run() throws SQLException;
    }

    private void step(Node node, String what, Step step) throws ActionException {
        try {
            step.run();
        } catch (SQLException e) {
            throw failed(node, what, e);
        }
    }

    @Override
    public void enableSemiSyncSource(Node primary) throws ActionException {
        on(primary, changeTimeout(), "SET GLOBAL rpl_semi_sync_master_enabled = ON", c -> {
            try (Statement s = c.createStatement()) {
                s.execute("SET GLOBAL rpl_semi_sync_master_enabled = ON");
            }
            return null;
        });
    }

    @Override
    public RecordWrite writeRecord(Node primary, long expectedEpoch, StoredWriter next, NodeRecord.Promotion promotion)
            throws RecordStoreException {
        SqlWriterRecordStore.PromotionRow row = promotion == null ? null : new SqlWriterRecordStore.PromotionRow(
                promotion.epoch(), promotion.node(), promotion.position().toString(), spec.instanceName());
        SqlWriterRecordStore.Swap swap;
        try {
            swap = store.compareAndSet(primary, expectedEpoch, next, row);
        } catch (RecordStoreException e) {
            throw onNode(primary, e);
        }
        try {
            return new RecordWrite(swap.applied(), GtidPosition.parse(swap.gtidBinlogPos()));
        } catch (IllegalArgumentException e) {
            throw new RecordStoreException(primary.name() + ": unreadable gtid_binlog_pos after the write: "
                    + e.getMessage(), false, e);
        }
    }

    @Override
    public void setMaintenance(Node primary, String node, boolean on, String requestedBy) throws RecordStoreException {
        try {
            store.setMaintenance(primary, node, on, requestedBy);
        } catch (RecordStoreException e) {
            throw onNode(primary, e);
        }
    }

    private static RecordStoreException onNode(Node node, RecordStoreException e) {
        return new RecordStoreException(node.name() + ": " + e.getMessage(), e.missing(), e.getCause());
    }
}
