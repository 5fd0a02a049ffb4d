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
            boolean missing = e.getErrorCode() == ER_NO_SUCH_TABLE || e.getErrorCode() == ER_BAD_DB_ERROR;
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
                s.execute("CREATE TABLE IF NOT EXISTS `" + schema + "`.`instance` (name VARCHAR(128) PRIMARY KEY, "
                        + "last_seen TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB");
            }
            return null;
        });
    }

    @Override
    public RecordRead read(Node via) throws RecordStoreException {
        return on(via, readTimeout, "reading " + schema + ".writer", c -> {
            try (Statement s = c.createStatement()) {
                s.execute("SET SESSION wsrep_sync_wait = 1");
                Optional<StoredWriter> writer;
                try (ResultSet rs = s.executeQuery("SELECT writer, epoch, changed_by, reason, handover_to, handover_until FROM "
                        + table() + " WHERE id = 1")) {
                    writer = rs.next() ? Optional.of(stored(rs)) : Optional.empty();
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

    private static StoredWriter stored(ResultSet rs) throws SQLException {
        String to = rs.getString(5);
        java.math.BigDecimal until = rs.getBigDecimal(6);
        boolean handover = to != null && until != null;
        return new StoredWriter(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4), handover ? to : null,
                handover ? Instant.ofEpochMilli(until.movePointRight(3).longValue()) : null);
    }

    /** A deadline as stored: seconds since the epoch, to the millisecond, free of any time zone. */
    private static java.math.BigDecimal seconds(Instant at) {
        return at == null ? null : java.math.BigDecimal.valueOf(at.toEpochMilli(), 3);
    }

    @Override
    public boolean compareAndSet(Node via, long expectedEpoch, StoredWriter next) throws RecordStoreException {
        if (next.epoch() <= expectedEpoch) {
            throw new IllegalArgumentException("epoch must grow: " + expectedEpoch + " -> " + next.epoch());
        }
        String why = next.reason().length() > 500 ? next.reason().substring(0, 500) : next.reason();
        String by = next.changedBy().length() > 128 ? next.changedBy().substring(0, 128) : next.changedBy();
        try {
            return on(via, WRITE_TIMEOUT, "changing " + schema + ".writer", c -> {
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
            });
        } catch (RecordStoreException e) {
            if (e.getCause() instanceof SQLException s && s.getErrorCode() == ER_LOCK_DEADLOCK) {
                return false; // Galera certification failure: another instance's change won
            }
            throw e;
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
                    + "(epoch, instance, idle, after_transaction, in_transaction) VALUES (?, ?, ?, ?, ?)")) {
                p.setLong(1, r.epoch());
                p.setString(2, r.instance());
                p.setInt(3, r.idle());
                p.setInt(4, r.afterTransaction());
                p.setInt(5, r.inTransaction());
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
                s.execute("SET SESSION wsrep_sync_wait = 1");
            }
            try (PreparedStatement p = c.prepareStatement("SELECT instance, idle, after_transaction, in_transaction FROM `"
                    + schema + "`.`drain_report` WHERE epoch = ? ORDER BY instance")) {
                p.setLong(1, epoch);
                try (ResultSet rs = p.executeQuery()) {
                    while (rs.next()) {
                        out.add(new DrainReport(rs.getString(1), epoch, rs.getInt(2), rs.getInt(3), rs.getInt(4)));
                    }
                }
            }
            return out;
        });
    }
}
