package dev.baton.routing.record;

import dev.baton.routing.Node;
import dev.baton.routing.DrainReport;
import dev.baton.routing.core.DrainBook;
import dev.baton.routing.core.RecordRead;
import dev.baton.routing.core.RecordStoreException;
import dev.baton.routing.core.StoredWriter;
import dev.baton.routing.core.WriterRecordStore;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The writer record stored in the cluster itself (Galera, or a primary and its replicas): one row of a small InnoDB table holding the writer's name and
 * an epoch, beside a table of nodes in maintenance. The row changes only by compare-and-set on the epoch, so when
 * two instances propose at once, InnoDB's row lock (same node) or Galera's certification (different nodes) lets
 * exactly one win. Reads are causal ({@code wsrep_sync_wait = 1}).
 */
public final class SqlWriterRecordStore implements WriterRecordStore, DrainBook {
    /** Long enough to ride out a view change, during which Galera holds writes. */
    public static final Duration WRITE_TIMEOUT = Duration.ofSeconds(5);
    private static final int ER_NO_SUCH_TABLE = 1146;
    private static final int ER_BAD_DB_ERROR = 1049;
    private static final int ER_LOCK_DEADLOCK = 1213;
    private static final int ER_UNKNOWN_SYSTEM_VARIABLE = 1193;
    /** The writer row's columns in the order {@link #storedWriter} reads them. */
    private static final String WRITER_COLUMNS = "writer, epoch, changed_by, reason, handover_to, handover_until";

    /** Opens a monitor connection to a node whose reads may take the given time. */
    @FunctionalInterface
    public interface Connections {
        Connection open(Node node, Duration readTimeout) throws SQLException;
    }

    private final String schema;
    private final Connections connections;
    private final Duration readTimeout;

    public SqlWriterRecordStore(String schema, Connections connections, Duration readTimeout) {
        if (!schema.matches("[A-Za-z0-9_]{1,64}")) {
            throw new IllegalArgumentException("schema name '" + schema + "' may only use letters, digits and '_'");
        }
        this.schema = schema;
        this.connections = connections;
        this.readTimeout = readTimeout;
    }

    private String table() {
        return "`" + schema + "`.`writer`";
    }

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private <T> T on(Node via, Duration timeout, String what, Work<T> work) throws RecordStoreException {
        try (Connection c = connections.open(via, timeout)) {
            return work.run(c);
        } catch (SQLException e) {
            boolean missing = missingBooks(e);
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
            throw new RecordStoreException(what + " failed: " + message, missing, e);
        }
    }

    @Override
    public void ensure(Node via) throws RecordStoreException {
        on(via, WRITE_TIMEOUT, "creating " + schema + ".writer", c -> {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE DATABASE IF NOT EXISTS `" + schema + "`");
                s.execute("CREATE TABLE IF NOT EXISTS " + table() + " (id TINYINT PRIMARY KEY, writer VARCHAR(64) NOT NULL, "
                        + "epoch BIGINT NOT NULL, changed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), "
                        + "changed_by VARCHAR(128) NOT NULL, reason VARCHAR(512) NOT NULL) ENGINE=InnoDB");
                s.execute("CREATE TABLE IF NOT EXISTS `" + schema + "`.`maintenance` (node VARCHAR(64) PRIMARY KEY, "
                        + "since TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), requested_by VARCHAR(128) NOT NULL) ENGINE=InnoDB");
                // A planned switchover's hand-over travels with the record (added to tables of older versions).
                s.execute("ALTER TABLE " + table() + " ADD COLUMN IF NOT EXISTS handover_to VARCHAR(64) NULL DEFAULT NULL, "
                        + "ADD COLUMN IF NOT EXISTS handover_until DECIMAL(16,3) NULL DEFAULT NULL");
                s.execute("CREATE TABLE IF NOT EXISTS `" + schema + "`.`drain_report` (epoch BIGINT NOT NULL, "
                        + "instance VARCHAR(128) NOT NULL, idle INT NOT NULL, after_transaction INT NOT NULL, "
                        + "in_transaction INT NOT NULL, reported_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), "
                        + "PRIMARY KEY (epoch, instance)) ENGINE=InnoDB");
                // Sessions moved to the new writer rather than closed (added to tables of older versions).
                s.execute("ALTER TABLE `" + schema + "`.`drain_report` ADD COLUMN IF NOT EXISTS moving INT NOT NULL DEFAULT 0");
                s.execute("CREATE TABLE IF NOT EXISTS `" + schema + "`.`instance` (name VARCHAR(128) PRIMARY KEY, "
                        + "last_seen TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB");
                s.execute("CREATE TABLE IF NOT EXISTS `" + schema + "`.`promotion` (epoch BIGINT PRIMARY KEY, "
                        + "node VARCHAR(64) NOT NULL, position VARCHAR(4096) NOT NULL, promoted_by VARCHAR(128) NOT NULL, "
                        + "promoted_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB");
            }
            return null;
        });
    }

    @Override
    public RecordRead read(Node via) throws RecordStoreException {
        return on(via, readTimeout, "reading " + schema + ".writer", c -> {
            try (Statement s = c.createStatement()) {
                causalReads(s);
                Optional<StoredWriter> writer;
                try (ResultSet rs = s.executeQuery("SELECT " + WRITER_COLUMNS + " FROM " + table() + " WHERE id = 1")) {
                    writer = rs.next() ? Optional.of(storedWriter(rs, 1)) : Optional.empty();
                }
                Set<String> nodes = new TreeSet<>();
                try (ResultSet rs = s.executeQuery("SELECT node FROM `" + schema + "`.`maintenance`")) {
                    while (rs.next()) {
                        nodes.add(rs.getString(1));
                    }
                }
                return new RecordRead(writer, nodes);
            }
        });
    }

    /**
     * {@code SET SESSION wsrep_sync_wait = 1}, so a Galera node applies everything committed cluster-wide before it
     * answers; a server built without wsrep has no such variable (error 1193) and answers from its own state anyway.
     */
    private static void causalReads(Statement s) throws SQLException {
        try {
            s.execute("SET SESSION wsrep_sync_wait = 1");
        } catch (SQLException e) {
            if (e.getErrorCode() != ER_UNKNOWN_SYSTEM_VARIABLE) {
                throw e;
            }
        }
    }

    /** Reads the writer row's columns ({@link #WRITER_COLUMNS}) starting at column {@code first} of the current row. */
    private static StoredWriter storedWriter(ResultSet rs, int first) throws SQLException {
        String to = rs.getString(first + 4);
        java.math.BigDecimal until = rs.getBigDecimal(first + 5);
        boolean handover = to != null && until != null;
        return new StoredWriter(rs.getString(first), rs.getLong(first + 1), rs.getString(first + 2),
                rs.getString(first + 3), handover ? to : null,
                handover ? Instant.ofEpochMilli(until.movePointRight(3).longValue()) : null);
    }

    /**
     * One promotion of a primary/replica cluster as the {@code promotion} table holds it: under {@code epoch},
     * {@code node} became the primary holding {@code position} (a GTID position as MariaDB prints it).
     */
    public record PromotionRow(long epoch, String node, String position, String promotedBy) {
    }

    /**
     * Baton's books as one node holds them: the writer row, the nodes in maintenance and the latest promotion.
     *
     * @param writer      empty if no writer is stored
     * @param promotion   the promotion with the highest epoch, empty if none
     */
    public record Books(Optional<StoredWriter> writer, Set<String> maintenance, Optional<PromotionRow> promotion) {
        public Books {
            maintenance = Set.copyOf(maintenance);
        }
    }

    /**
     * Reads the books of the node {@code c} is connected to, in one round trip and without causal reads (a replica's
     * books are whatever replication brought it). For a caller that owns the connection, such as a health check; the
     * {@link SQLException} is the server's, so the caller can tell missing tables (1049, 1146) from other failures.
     */
    public Books readBooks(Connection c) throws SQLException {
        String db = "`" + schema + "`";
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT w." + WRITER_COLUMNS.replace(", ", ", w.")
                + ", (SELECT GROUP_CONCAT(node ORDER BY node SEPARATOR '\\n') FROM " + db + ".`maintenance`),"
                + " p.epoch, p.node, p.position, p.promoted_by FROM (SELECT 1) AS one"
                + " LEFT JOIN " + table() + " AS w ON w.id = 1"
                + " LEFT JOIN (SELECT epoch, node, position, promoted_by FROM " + db + ".`promotion` ORDER BY epoch DESC"
                + " LIMIT 1) AS p ON TRUE")) {
            rs.next();
            Optional<StoredWriter> writer = rs.getString(1) == null ? Optional.empty() : Optional.of(storedWriter(rs, 1));
            String maintained = rs.getString(7);
            Set<String> maintenance = maintained == null ? Set.of() : new TreeSet<>(List.of(maintained.split("\n")));
            Optional<PromotionRow> promotion = rs.getString(9) == null ? Optional.empty()
                    : Optional.of(new PromotionRow(rs.getLong(8), rs.getString(9), rs.getString(10), rs.getString(11)));
            return new Books(writer, maintenance, promotion);
        }
    }

    /** True if {@code e} says the books' schema or one of their tables does not exist on that node. */
    public static boolean missingBooks(SQLException e) {
        return e.getErrorCode() == ER_NO_SUCH_TABLE || e.getErrorCode() == ER_BAD_DB_ERROR;
    }

    /** A deadline as stored: seconds since the epoch, to the millisecond, free of any time zone. */
    private static java.math.BigDecimal seconds(Instant at) {
        return at == null ? null : java.math.BigDecimal.valueOf(at.toEpochMilli(), 3);
    }

    @Override
    public boolean compareAndSet(Node via, long expectedEpoch, StoredWriter next) throws RecordStoreException {
        checkEpochGrows(expectedEpoch, next);
        try {
            return on(via, WRITE_TIMEOUT, "changing " + schema + ".writer", c -> swap(c, expectedEpoch, next));
        } catch (RecordStoreException e) {
            if (e.getCause() instanceof SQLException s && s.getErrorCode() == ER_LOCK_DEADLOCK) {
                return false; // Galera certification failure: another instance's change won
            }
            throw e;
        }
    }

    /**
     * The outcome of {@link #compareAndSet(Node, long, StoredWriter, PromotionRow)}.
     *
     * @param applied       true if this call made the change
     * @param gtidBinlogPos the node's {@code @@gtid_binlog_pos} read right after the commit (or the rollback)
     */
    public record Swap(boolean applied, String gtidBinlogPos) {
    }

    /**
     * {@link #compareAndSet(Node, long, StoredWriter)} on a primary of a primary/replica cluster, with the promotion
     * (if not null) inserted in the same transaction, on one connection; then reads the primary's binlog position,
     * which a replica must reach to hold the change. Creates the tables if they are missing and tries once more.
     *
     * @throws RecordStoreException when the answer is unknown: the change may or may not have been applied
     */
    public Swap compareAndSet(Node via, long expectedEpoch, StoredWriter next, PromotionRow promotion)
            throws RecordStoreException {
        checkEpochGrows(expectedEpoch, next);
        if (promotion != null && promotion.epoch() != next.epoch()) {
            throw new IllegalArgumentException("promotion epoch " + promotion.epoch() + " is not the record's " + next.epoch());
        }
        Work<Swap> work = c -> {
            boolean applied;
            c.setAutoCommit(false);
            try {
                applied = swap(c, expectedEpoch, next);
                if (applied && promotion != null) {
                    try (PreparedStatement p = c.prepareStatement("REPLACE INTO `" + schema + "`.`promotion` "
                            + "(epoch, node, position, promoted_by) VALUES (?, ?, ?, ?)")) {
                        p.setLong(1, promotion.epoch());
                        p.setString(2, promotion.node());
                        p.setString(3, promotion.position());
                        p.setString(4, truncate(promotion.promotedBy(), 128));
                        p.executeUpdate();
                    }
                }
                if (applied) {
                    c.commit();
                } else {
                    c.rollback();
                }
            } catch (SQLException e) {
                c.rollback();
                throw e;
            }
            c.setAutoCommit(true);
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@global.gtid_binlog_pos")) {
                rs.next();
                return new Swap(applied, rs.getString(1));
            }
        };
        String what = "changing " + schema + ".writer" + (promotion == null ? "" : " and recording the promotion of "
                + promotion.node());
        try {
            return on(via, WRITE_TIMEOUT, what, work);
        } catch (RecordStoreException e) {
            if (!e.missing()) {
                throw e;
            }
            ensure(via);
            return on(via, WRITE_TIMEOUT, what, work);
        }
    }

    private static void checkEpochGrows(long expectedEpoch, StoredWriter next) {
        if (next.epoch() <= expectedEpoch) {
            throw new IllegalArgumentException("epoch must grow: " + expectedEpoch + " -> " + next.epoch());
        }
    }

    private static String truncate(String text, int max) {
        return text.length() > max ? text.substring(0, max) : text;
    }

    /** The compare-and-set itself, on the caller's connection and in its transaction. */
    private boolean swap(Connection c, long expectedEpoch, StoredWriter next) throws SQLException {
        String why = truncate(next.reason(), 500);
        String by = truncate(next.changedBy(), 128);
        if (expectedEpoch == 0) {
            try (PreparedStatement p = c.prepareStatement("INSERT IGNORE INTO " + table()
                    + " (id, writer, epoch, changed_by, reason) VALUES (1, ?, ?, ?, ?)")) {
                p.setString(1, next.writer());
                p.setLong(2, next.epoch());
                p.setString(3, by);
                p.setString(4, why);
                return p.executeUpdate() == 1;
            }
        }
        try (PreparedStatement p = c.prepareStatement("UPDATE " + table() + " SET writer = ?, epoch = ?, "
                + "changed_at = CURRENT_TIMESTAMP(3), changed_by = ?, reason = ?, handover_to = ?, handover_until = ? "
                + "WHERE id = 1 AND epoch = ?")) {
            p.setString(1, next.writer());
            p.setLong(2, next.epoch());
            p.setString(3, by);
            p.setString(4, why);
            p.setString(5, next.handoverTo());
            p.setBigDecimal(6, seconds(next.handoverUntil()));
            p.setLong(7, expectedEpoch);
            return p.executeUpdate() == 1;
        }
    }

    @Override
    public void setMaintenance(Node via, String node, boolean on, String requestedBy) throws RecordStoreException {
        on(via, WRITE_TIMEOUT, "changing " + schema + ".maintenance", c -> {
            String sql = on ? "INSERT IGNORE INTO `" + schema + "`.`maintenance` (node, requested_by) VALUES (?, ?)"
                    : "DELETE FROM `" + schema + "`.`maintenance` WHERE node = ?";
            try (PreparedStatement p = c.prepareStatement(sql)) {
                p.setString(1, node);
                if (on) {
                    p.setString(2, requestedBy.length() > 128 ? requestedBy.substring(0, 128) : requestedBy);
                }
                p.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public void heartbeat(Node via, String instance) throws RecordStoreException {
        on(via, WRITE_TIMEOUT, "marking " + instance + " alive in " + schema + ".instance", c -> {
            try (PreparedStatement p = c.prepareStatement("INSERT INTO `" + schema + "`.`instance` (name) VALUES (?) "
                    + "ON DUPLICATE KEY UPDATE last_seen = CURRENT_TIMESTAMP(3)")) {
                p.setString(1, instance);
                p.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public void forget(Node via, String instance) throws RecordStoreException {
        on(via, readTimeout, "removing " + instance + " from " + schema + ".instance", c -> {
            try (PreparedStatement p = c.prepareStatement("DELETE FROM `" + schema + "`.`instance` WHERE name = ?")) {
                p.setString(1, instance);
                p.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public List<String> liveInstances(Node via, int aliveSeconds) throws RecordStoreException {
        return on(via, readTimeout, "reading " + schema + ".instance", c -> {
            List<String> names = new ArrayList<>();
            try (PreparedStatement p = c.prepareStatement("SELECT name FROM `" + schema + "`.`instance` "
                    + "WHERE last_seen > NOW(3) - INTERVAL ? SECOND ORDER BY name")) {
                p.setInt(1, aliveSeconds);
                try (ResultSet rs = p.executeQuery()) {
                    while (rs.next()) {
                        names.add(rs.getString(1));
                    }
                }
            }
            return names;
        });
    }

    @Override
    public void reportDrain(Node via, DrainReport r) throws RecordStoreException {
        on(via, WRITE_TIMEOUT, "recording a drain report in " + schema + ".drain_report", c -> {
            try (PreparedStatement p = c.prepareStatement("REPLACE INTO `" + schema + "`.`drain_report` "
                    + "(epoch, instance, idle, after_transaction, in_transaction, moving) VALUES (?, ?, ?, ?, ?, ?)")) {
                p.setLong(1, r.epoch());
                p.setString(2, r.instance());
                p.setInt(3, r.idle());
                p.setInt(4, r.afterTransaction());
                p.setInt(5, r.inTransaction());
                p.setInt(6, r.moving());
                p.executeUpdate();
            }
            try (PreparedStatement p = c.prepareStatement("DELETE FROM `" + schema + "`.`drain_report` WHERE epoch < ?")) {
                p.setLong(1, r.epoch() - 100); // keep the books of the last hundred epochs
                p.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public List<DrainReport> drainReports(Node via, long epoch) throws RecordStoreException {
        return on(via, readTimeout, "reading " + schema + ".drain_report", c -> {
            List<DrainReport> out = new ArrayList<>();
            try (Statement s = c.createStatement()) {
                causalReads(s);
            }
            try (PreparedStatement p = c.prepareStatement("SELECT instance, idle, after_transaction, in_transaction, moving FROM `"
                    + schema + "`.`drain_report` WHERE epoch = ? ORDER BY instance")) {
                p.setLong(1, epoch);
                try (ResultSet rs = p.executeQuery()) {
                    while (rs.next()) {
                        out.add(new DrainReport(rs.getString(1), epoch, rs.getInt(2), rs.getInt(3), rs.getInt(4), rs.getInt(5)));
                    }
                }
            }
            return out;
        });
    }
}
