package dev.baton.routing.galera;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The writer every Baton instance follows, stored in the cluster itself: one row of a small InnoDB table holding
 * the writer's name and an epoch. It changes only by compare-and-set on the epoch, so when two instances propose
 * at once, InnoDB's row lock (same node) or Galera's certification (different nodes) lets exactly one win.
 */
public final class WriterRecord {

    /**
     * The row as read.
     *
     * @param handoverTo          the node a planned switchover hands the writer to, or null
     * @param handoverRemainingMs how long the hand-over's drain still runs, by the database's clock at the read
     *                            (negative once its deadline has passed)
     */
    public record Stored(String writer, long epoch, String changedBy, String reason, String handoverTo,
                         long handoverRemainingMs) {
        public Stored(String writer, long epoch, String changedBy, String reason) {
            this(writer, epoch, changedBy, reason, null, 0);
        }
    }

    /** A hand-over to write with a record: its target and how long its drain runs from the write. */
    public record PendingHandover(String to, long drainMs) {
    }

    /** How long an instance counts as alive after its last heartbeat in the cluster. */
    static final int INSTANCE_ALIVE_SECONDS = 30;

    private final String schema;

    WriterRecord(String schema) {
        if (!schema.matches("[A-Za-z0-9_]{1,64}")) {
            throw new IllegalArgumentException("schema name '" + schema + "' may only use letters, digits and '_'");
        }
        this.schema = schema;
    }

    private String table() {
        return "`" + schema + "`.`writer`";
    }

    void ensureTable(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE IF NOT EXISTS `" + schema + "`");
            s.execute("CREATE TABLE IF NOT EXISTS " + table() + " (id TINYINT PRIMARY KEY, writer VARCHAR(64) NOT NULL, "
                    + "epoch BIGINT NOT NULL, changed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), "
                    + "changed_by VARCHAR(128) NOT NULL, reason VARCHAR(512) NOT NULL) ENGINE=InnoDB");
            s.execute("CREATE TABLE IF NOT EXISTS `" + schema + "`.`maintenance` (node VARCHAR(64) PRIMARY KEY, "
                    + "since TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), requested_by VARCHAR(128) NOT NULL) ENGINE=InnoDB");
            // A planned switchover's hand-over travels with the record, so every instance drains by the same deadline.
            s.execute("ALTER TABLE " + table() + " ADD COLUMN IF NOT EXISTS handover_to VARCHAR(64) NULL DEFAULT NULL, "
                    + "ADD COLUMN IF NOT EXISTS handover_until TIMESTAMP(3) NULL DEFAULT NULL");
            s.execute("CREATE TABLE IF NOT EXISTS `" + schema + "`.`drain_report` (epoch BIGINT NOT NULL, "
                    + "instance VARCHAR(128) NOT NULL, idle INT NOT NULL, after_transaction INT NOT NULL, "
                    + "in_transaction INT NOT NULL, reported_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), "
                    + "PRIMARY KEY (epoch, instance)) ENGINE=InnoDB");
            s.execute("CREATE TABLE IF NOT EXISTS `" + schema + "`.`instance` (name VARCHAR(128) PRIMARY KEY, "
                    + "last_seen TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB");
        }
    }

    /** The nodes operators put in maintenance: never elected, by any instance. */
    java.util.Set<String> maintenance(Connection c) throws SQLException {
        java.util.Set<String> nodes = new java.util.TreeSet<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT node FROM `" + schema + "`.`maintenance`")) {
            while (rs.next()) {
                nodes.add(rs.getString(1));
            }
        }
        return nodes;
    }

    void setMaintenance(Connection c, String node, boolean on, String requestedBy) throws SQLException {
        if (on) {
            try (PreparedStatement p = c.prepareStatement("INSERT IGNORE INTO `" + schema + "`.`maintenance` (node, requested_by) VALUES (?, ?)")) {
                p.setString(1, node);
                p.setString(2, requestedBy.length() > 128 ? requestedBy.substring(0, 128) : requestedBy);
                p.executeUpdate();
            }
        } else {
            try (PreparedStatement p = c.prepareStatement("DELETE FROM `" + schema + "`.`maintenance` WHERE node = ?")) {
                p.setString(1, node);
                p.executeUpdate();
            }
        }
    }

    /** The stored writer, read causally (after every write the node has seen committed), or null if none yet. */
    Stored read(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("SET SESSION wsrep_sync_wait = 1");
            try (ResultSet rs = s.executeQuery("SELECT writer, epoch, changed_by, reason, handover_to, "
                    + "TIMESTAMPDIFF(MICROSECOND, NOW(3), handover_until) DIV 1000 FROM " + table() + " WHERE id = 1")) {
                return rs.next() ? new Stored(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                        rs.getString(5), rs.getLong(6)) : null;
            }
        }
    }

    /**
     * Sets the writer if the stored epoch is still {@code expectedEpoch} (0: no row yet).
     *
     * @return true if this call made the change; false if another instance changed it first
     */
    boolean compareAndSet(Connection c, long expectedEpoch, String writer, String changedBy, String reason) throws SQLException {
        return compareAndSet(c, expectedEpoch, writer, changedBy, reason, null);
    }

    /**
     * Sets the writer, and the hand-over it carries ({@code handover} null: none, which ends any hand-over), if the
     * stored epoch is still {@code expectedEpoch} (0: no row yet).
     *
     * @return true if this call made the change; false if another instance changed it first
     */
    boolean compareAndSet(Connection c, long expectedEpoch, String writer, String changedBy, String reason,
                          PendingHandover handover) throws SQLException {
        String why = reason.length() > 500 ? reason.substring(0, 500) : reason;
        try {
            if (expectedEpoch == 0) {
                try (PreparedStatement p = c.prepareStatement("INSERT IGNORE INTO " + table()
                        + " (id, writer, epoch, changed_by, reason) VALUES (1, ?, 1, ?, ?)")) {
                    p.setString(1, writer);
                    p.setString(2, changedBy);
                    p.setString(3, why);
                    return p.executeUpdate() == 1;
                }
            }
            try (PreparedStatement p = c.prepareStatement("UPDATE " + table() + " SET writer = ?, epoch = epoch + 1, "
                    + "changed_at = CURRENT_TIMESTAMP(3), changed_by = ?, reason = ?, handover_to = ?, "
                    + "handover_until = IF(? IS NULL, NULL, TIMESTAMPADD(MICROSECOND, ? * 1000, NOW(3))) "
                    + "WHERE id = 1 AND epoch = ?")) {
                p.setString(1, writer);
                p.setString(2, changedBy);
                p.setString(3, why);
                p.setString(4, handover == null ? null : handover.to());
                p.setString(5, handover == null ? null : handover.to());
                p.setLong(6, handover == null ? 0 : handover.drainMs());
                p.setLong(7, expectedEpoch);
                return p.executeUpdate() == 1;
            }
        } catch (SQLException e) {
            if (e.getErrorCode() == 1213) {
                return false; // Galera certification failure: another instance's change won
            }
            throw e;
        }
    }

    /** Records what this instance did with its sessions during the drain of the hand-over under {@code epoch}. */
    void reportDrain(Connection c, dev.baton.routing.DrainReport r) throws SQLException {
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
            p.setLong(1, r.epoch() - 100); // keep the last hundred hand-overs' books
            p.executeUpdate();
        }
    }

    /** Every instance's report for the hand-over under {@code epoch}, read causally. */
    java.util.List<dev.baton.routing.DrainReport> drainReports(Connection c, long epoch) throws SQLException {
        java.util.List<dev.baton.routing.DrainReport> out = new java.util.ArrayList<>();
        try (Statement s = c.createStatement()) {
            s.execute("SET SESSION wsrep_sync_wait = 1");
        }
        try (PreparedStatement p = c.prepareStatement("SELECT instance, idle, after_transaction, in_transaction FROM `"
                + schema + "`.`drain_report` WHERE epoch = ? ORDER BY instance")) {
            p.setLong(1, epoch);
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    out.add(new dev.baton.routing.DrainReport(rs.getString(1), epoch, rs.getInt(2), rs.getInt(3), rs.getInt(4)));
                }
            }
        }
        return out;
    }

    /** Marks {@code instance} alive now, so a switchover knows whose drain report to wait for. */
    void heartbeat(Connection c, String instance) throws SQLException {
        try (PreparedStatement p = c.prepareStatement("INSERT INTO `" + schema + "`.`instance` (name) VALUES (?) "
                + "ON DUPLICATE KEY UPDATE last_seen = CURRENT_TIMESTAMP(3)")) {
            p.setString(1, instance);
            p.executeUpdate();
        }
    }

    /** Instances whose last heartbeat is recent enough to count them as running. */
    java.util.List<String> liveInstances(Connection c) throws SQLException {
        java.util.List<String> out = new java.util.ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT name FROM `" + schema
                + "`.`instance` WHERE last_seen > NOW(3) - INTERVAL " + INSTANCE_ALIVE_SECONDS + " SECOND ORDER BY name")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
